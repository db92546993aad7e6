"""What the worker's board remembers about channels that refuse the chart's upload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.outgoing import CHART_REFUSED_HOLD, ChartsRefused


def test_a_refused_channel_is_remembered_for_a_while_and_the_memory_is_bounded() -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    refused = ChartsRefused(lambda: now[0], limit=3)
    for channel in (1, 2, 3):
        refused.add(channel)
    assert all(channel in refused for channel in (1, 2, 3)) and 4 not in refused

    refused.add(4)  # full: the oldest is forgotten (its next redraw tries the chart once more)
    assert [channel in refused for channel in (1, 2, 3, 4)] == [False, True, True, True]

    now[0] += CHART_REFUSED_HOLD - timedelta(seconds=1)
    assert 4 in refused
    now[0] += timedelta(seconds=1)
    assert 4 not in refused and 2 not in refused
