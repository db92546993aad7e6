"""Interaction handlers, one module per command group, registered on one router."""

from __future__ import annotations

from app.discord.router import Router


def build_router() -> Router:
    from handlers import admin, market, trading, wallet

    router = Router()
    for module in (market, trading, wallet, admin):
        module.register(router)
    return router
