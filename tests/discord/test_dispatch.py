"""The error boundary (`app/discord/dispatch.py`): every interaction is answered, and a failure nobody
foresaw says only what is known."""

from __future__ import annotations

import logging

import pytest

from app.discord.dispatch import Dispatcher
from app.discord.errors import MalformedInteraction
from app.discord.router import Context, Router
from app.domain.actor import Actor
from app.domain.errors import InsufficientBalance
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from models.discord.interactions import Interaction
from models.discord.messages import InteractionResponse
from tests.support.fakes import FakeThrottle, FakeTransactions

GUILD = "900000000000000001"


def _interaction(name: str, kind: int = 2, data: object = None) -> Interaction:
    return Interaction.model_validate(
        {
            "id": "1300000000000000001",
            "type": kind,
            "guild_id": GUILD,
            "data": {"name": name, "type": 1, "options": []} if data is None else data,
            "member": {"permissions": "0", "roles": [], "user": {"id": "11", "username": "alice"}},
        }
    )


def _dispatcher() -> Dispatcher:
    router = Router()

    async def gift_then_fail(ctx: Context) -> InteractionResponse:
        await ctx.use_cases.give(Actor(int(GUILD), 11, interaction_id=5), 12, 10)
        raise RuntimeError("a bug after the gift")

    async def fail(ctx: Context) -> InteractionResponse:
        raise RuntimeError("a bug before anything")

    async def refuse(ctx: Context) -> InteractionResponse:
        raise InsufficientBalance("You only have 3 points.")

    router.command("gift")(gift_then_fail)
    router.command("fail")(fail)
    router.command("refuse")(refuse)
    transactions = FakeTransactions()
    return Dispatcher(router, UseCases(transactions, TradingDesk(transactions), FakeThrottle()))


async def test_a_failure_before_any_change_says_nothing_was_changed(caplog: pytest.LogCaptureFixture) -> None:
    reply = await _dispatcher()(_interaction("fail"))
    content = reply["data"]["content"]  # type: ignore[typeddict-item]
    assert content.startswith("Something went wrong on our side. Nothing was changed. (error id `")
    error_id = content.split("`")[1]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records if r.levelno == logging.ERROR)


async def test_a_failure_after_a_change_does_not_claim_nothing_changed() -> None:
    reply = await _dispatcher()(_interaction("gift"))
    content = reply["data"]["content"]  # type: ignore[typeddict-item]
    assert "after your request went through" in content and "Nothing was changed" not in content


async def test_domain_errors_and_unknown_commands_get_their_own_words() -> None:
    dispatcher = _dispatcher()
    refused = await dispatcher(_interaction("refuse"))
    assert refused["data"]["content"] == "You only have 3 points."  # type: ignore[typeddict-item]
    unknown = await dispatcher(_interaction("nope"))
    assert "don't know that command" in unknown["data"]["content"]  # type: ignore[typeddict-item]


async def test_autocomplete_errors_offer_no_choices() -> None:
    data = {"name": "fail", "type": 1, "options": [{"name": "market", "type": 3, "value": "", "focused": True}]}
    reply = await _dispatcher()(_interaction("fail", kind=4, data=data))
    assert reply == {"type": 8, "data": {"choices": []}}


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (2, {"name": "fail", "type": "1", "options": {}}),
        (2, {"type": 1}),
        (3, {"component_type": 2}),
        (5, {"custom_id": 7, "components": []}),
        (
            2,
            {
                "name": "a",
                "options": [
                    {
                        "name": "b",
                        "type": 1,
                        "options": [{"name": "c", "type": 1, "options": [{"name": "d", "type": 1, "options": []}]}],
                    }
                ],
            },
        ),
    ],
    ids=["options-not-a-list", "no-name", "component-without-custom-id", "custom-id-not-text", "nested-too-deep"],
)
async def test_data_of_a_shape_discord_cannot_send_is_malformed(kind: int, data: object) -> None:
    with pytest.raises(MalformedInteraction):
        await _dispatcher()(_interaction("x", kind=kind, data=data))
