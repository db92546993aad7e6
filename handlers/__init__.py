"""Interaction handlers, one module per command group, registered on one router."""

from __future__ import annotations

from app.discord.router import Router
from handlers import admin, autocomplete, market, records, trading, wallet


def build_router() -> Router:
    router = Router()
    for module in (market, trading, wallet, records, admin, autocomplete):
        module.register(router)
    return router
