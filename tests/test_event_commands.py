"""`python -m app events …` (`app/event_commands.py`) and `python -m app worker --once`, as an operator runs
them: the backlog and its lag, a dead event with its error, re-driving it, replaying the log."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.bootstrap import Hunch, bootstrap
from app.cli import build_parser
from app.domain.actor import Actor
from app.event_commands import events_command
from app.persistence.database import Database
from app.ratelimit.memory import MemoryRateLimiter
from app.services.markets import CreateMarket
from app.worker import Worker, WorkerSettings
from tests.test_worker import GUILD, Clock, Recorder

REPO = Path(__file__).resolve().parent.parent


def _hunch(database: Database, consumers: list[object], clock: Clock) -> Hunch:
    hunch = bootstrap(database.settings, database=database, rate_limiter=MemoryRateLimiter(), clock=clock)
    hunch._worker = Worker(hunch.transactions, consumers, clock, WorkerSettings(max_attempts=2))  # type: ignore[arg-type]
    return hunch


async def _run(hunch: Hunch, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await events_command(hunch, build_parser().parse_args(["events", *argv]), out)
    return code, out.getvalue()


async def test_an_operator_sees_a_dead_event_with_its_error_and_re_drives_it(database: Database) -> None:
    clock, consumer = Clock(), Recorder({"market.created"})
    consumer.fail["market.created"] = 2
    hunch = _hunch(database, [consumer], clock)
    await hunch.use_cases.create_market(Actor(GUILD, 11, interaction_id=1), CreateMarket("Will it rain?", ["Y", "N"]))

    code, listed = await _run(hunch, "list")
    assert code == 0 and listed.startswith("pending 1, dead 0, lag 0.0s")
    for _ in range(2):
        await hunch.worker.run_once()
        clock.advance(600)

    code, dead = await _run(hunch, "dead", "--json")
    summary, *rows = (json.loads(line) for line in dead.splitlines())
    assert code == 0 and summary["dead"] == 1 and summary["pending"] == 0
    [row] = rows
    assert row["type"] == "market.created" and row["status"] == "dead" and row["attempts"] == 2
    assert row["last_error"] == "RuntimeError: market.created failed"
    assert row["aggregate"].startswith("market:") and row["sequence"] == 1

    code, retried = await _run(hunch, "retry", row["id"], "no-such-event")
    assert code == 0
    assert retried.splitlines() == [
        "1 dead event(s) put back in line",
        "1 of the events named are not dead (or do not exist)",
    ]
    assert await hunch.worker.drain() == 1
    assert [e.type for e in consumer.seen] == ["market.created"]
    code, listed = await _run(hunch, "list")
    assert listed.startswith("pending 0, dead 0,") and " done" in listed


async def test_retry_needs_events_or_all(database: Database) -> None:
    hunch = _hunch(database, [], Clock())
    assert (await _run(hunch, "retry"))[0] == 2
    assert (await _run(hunch, "retry", "abc", "--all"))[0] == 2
    assert await _run(hunch, "retry", "--all") == (0, "0 dead event(s) put back in line\n")


async def test_replay_runs_the_log_again_in_stream_order_through_replayable_consumers(database: Database) -> None:
    clock = Clock()
    projection, mailer = Recorder(), Recorder()
    mailer.name, mailer.replayable = "mailer", False
    hunch = _hunch(database, [projection, mailer], clock)
    for n in range(3):
        await hunch.use_cases.create_market(Actor(GUILD, 11, interaction_id=10 + n), CreateMarket(f"Q{n}?", ["Y", "N"]))
    await hunch.use_cases.buy(Actor(GUILD, 12, interaction_id=20), 2, "Y", 10)
    await hunch.worker.drain()
    delivered = [(e.aggregate_id, e.sequence) for e in projection.seen]
    projection.seen.clear()
    mailer.seen.clear()

    code, out = await _run(hunch, "replay")
    assert (code, out) == (0, "replayed 4 event(s) through recorder\n")
    assert sorted(delivered) == [(e.aggregate_id, e.sequence) for e in projection.seen] and mailer.seen == []

    [market] = [e.aggregate_id for e in projection.seen if e.type == "trade.executed"]
    projection.seen.clear()
    assert await _run(hunch, "replay", "--market", str(market)) == (0, "replayed 2 event(s) through recorder\n")
    assert [e.type for e in projection.seen] == ["market.created", "trade.executed"]

    assert (await _run(hunch, "replay", "--consumer", "mailer"))[0] == 2
    assert (await _run(hunch, "replay", "--consumer", "nobody"))[0] == 2
    assert mailer.seen == []


def test_the_commands_run_from_a_shell_against_the_embedded_database(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hunch.sqlite3'}",
        "DISCORD_PUBLIC_KEY": "0" * 64,
        "DISCORD_APPLICATION_ID": "1100000000000000000",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
    }

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "app", *argv]
        return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)

    assert run("migrate").returncode == 0
    listed = run("events", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"pending": 0, "dead": 0, "lag_seconds": 0.0}
    once = run("worker", "--once")
    assert (once.returncode, once.stdout) == (0, "delivered 0 event(s)\n"), once.stderr
    refused = run("events", "retry")
    assert refused.returncode == 2 and "--all" in refused.stderr


@pytest.mark.parametrize("argv", [["serve", "--no-worker", "--help"], ["worker", "--help"]])
def test_the_worker_switches_are_documented(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    assert exit_.value.code == 0
    assert ("--no-worker" if argv[0] == "serve" else "--once") in capsys.readouterr().out
