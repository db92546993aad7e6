"""The one codec for the state Hunch keeps in components' `custom_id`s.

A custom id is an action and its market (and outcome): `buy:12:0`, `sell:12`, `refresh:12`. Messages
already posted in Discord carry these, so the format is a contract: change it only by adding actions.
The router routes on the action; the handlers read the numbers through `decode`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.domain.errors import ValidationError

SEPARATOR = ":"
_MAX_DIGITS = 9


class Action(StrEnum):
    BUY = "buy"  # a market message's Buy button: opens the amount modal
    BUY_MODAL = "buymodal"  # that modal, submitted
    SELL = "sell"  # a market message's Sell button: lists the member's shares
    SELL_PICK = "sellpick"  # one outcome's button in that list: opens the shares modal
    SELL_MODAL = "sellmodal"  # that modal, submitted
    REFRESH = "refresh"  # redraw the market message


_NEEDS_OUTCOME = frozenset({Action.BUY, Action.BUY_MODAL, Action.SELL_PICK, Action.SELL_MODAL})


@dataclass(frozen=True, slots=True)
class CustomId:
    action: Action
    market: int
    outcome: int | None = None

    def encode(self) -> str:
        parts = [self.action.value, str(self.market)]
        if self.outcome is not None:
            parts.append(str(self.outcome))
        return SEPARATOR.join(parts)


def encode(action: Action, market: int, outcome: int | None = None) -> str:
    return CustomId(action, market, outcome).encode()


def action_of(custom_id: str) -> str:
    """The action part, which the router routes on (unknown actions are routed nowhere)."""
    return custom_id.split(SEPARATOR, 1)[0]


def decode(custom_id: str, stale: str = "That button is out of date.") -> CustomId:
    """The custom id's parts; `ValidationError(stale)` when it is not one Hunch makes (an old message)."""
    parts = custom_id.split(SEPARATOR)
    try:
        action = Action(parts[0])
    except ValueError:
        raise ValidationError(stale) from None
    expected = 3 if action in _NEEDS_OUTCOME else 2
    numbers = parts[1:]
    if len(numbers) != expected - 1 or not all(_is_number(part) for part in numbers):
        raise ValidationError(stale)
    return CustomId(action, int(numbers[0]), int(numbers[1]) if expected == 3 else None)


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS
