"""`python -m app …`: one entry point for serving, running the worker, migrating, checking the books,
registering commands and working with the event log."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Sequence

from app.settings import ConfigurationError, Settings, get_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Hunch: prediction markets for Discord.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP server (uvicorn)")
    serve.add_argument(
        "--host", default=os.environ.get("HOST", "127.0.0.1"), help="interface to bind (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="port (default 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help=(
            "worker processes (default: WEB_CONCURRENCY, else 1 on SQLite, min(4, CPUs / 2) with Postgres on this"
            " machine, min(4, CPUs) with Postgres elsewhere)"
        ),
    )
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="do not run the event worker in the server's processes (run `python -m app worker` elsewhere)",
    )

    worker = commands.add_parser("worker", help="deliver the event log: live messages, notifications, deferred work")
    worker.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    _metrics_port_option(worker)

    events = commands.add_parser("events", help="the event log: lag, dead events, re-driving, replaying")
    event_commands = events.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    listing = event_commands.add_parser("list", help="the backlog and the newest events")
    dead = event_commands.add_parser("dead", help="the dead events, with their last error")
    for parser_ in (listing, dead):
        parser_.add_argument("--limit", type=int, default=20, help="how many events (default 20)")
        parser_.add_argument("--json", action="store_true", help="one JSON object per line")
    retry = event_commands.add_parser("retry", help="put dead events back in line")
    retry.add_argument("event_ids", nargs="*", metavar="EVENT_ID", help="the dead events to retry")
    retry.add_argument("--all", action="store_true", help="retry every dead event")
    replay = event_commands.add_parser(
        "replay", help="rebuild projections: run the log again through the consumers that allow it"
    )
    replay.add_argument("--market", type=int, default=None, metavar="MARKET_ID", help="only this market's stream")
    replay.add_argument(
        "--consumer", action="append", default=None, metavar="NAME", help="only this consumer (repeatable)"
    )

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema (alembic)")
    migrate.add_argument("--revision", default="head", help="target revision (default head)")

    commands.add_parser("verify-ledger", help="check every ledger invariant; exit 1 naming each violation")

    register = commands.add_parser("register-commands", help="publish the slash commands to Discord")
    register.add_argument("--guild", default=None, help="register in one guild (instant) instead of globally")
    register.add_argument("--dry-run", action="store_true", help="print the definitions as JSON and call nothing")

    scheduler = commands.add_parser(
        "scheduler", help="close expired markets, refund stale ones and purge old records, in a loop (containers)"
    )
    scheduler.add_argument("--interval", type=float, default=60.0, help="seconds between passes (default 60)")
    scheduler.add_argument("--once", action="store_true", help="run one pass and exit")
    _metrics_port_option(scheduler)
    return parser


def _metrics_port_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve this process's Prometheus metrics on PORT, bound to HOST (default: METRICS_PORT; 0: none)",
    )


def serve_workers(settings: Settings, requested: int | None) -> int:
    if requested:
        return requested
    if os.environ.get("WEB_CONCURRENCY", "").isdigit():
        return max(1, int(os.environ["WEB_CONCURRENCY"]))
    if settings.is_sqlite:
        return 1  # one writer at a time anyway
    cpus = os.cpu_count() or 1
    if database_is_local(settings.database_url):
        # Postgres needs CPUs of its own. And each process batches a market's trades on its own, so more
        # processes than that make smaller batches that wait on each other's lock: on 2 CPUs, one process
        # served 690-741 bets/s at 1.1 ms of CPU a bet where two served 503-551 at 1.9-2.1 ms.
        return max(1, min(4, cpus // 2))
    return max(1, min(4, cpus))


def database_is_local(url: str) -> bool:
    """Whether the database URL names this machine (a loopback address, or a Unix socket)."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    socket = parse_qs(parts.query).get("host", [""])[0]
    return host in ("", "localhost", "::1") or host.startswith("127.") or socket.startswith("/")


def _metrics_dir() -> None:
    """The server's processes share their metrics through files in `PROMETHEUS_MULTIPROC_DIR` (a temporary
    directory unless one is set), set before any of them imports prometheus-client. The files of an earlier
    run are removed: their counts would be added to this run's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="hunch-metrics-")
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def _own_metrics(settings: Settings, requested_port: int | None) -> None:
    """Export the metrics of a worker or scheduler process on a port of its own. Each keeps them in its own
    registry, never in `PROMETHEUS_MULTIPROC_DIR`: it usually runs in a container of its own (no files shared
    with `serve`), `serve` empties that directory when it starts, and a process scraped both on its own and
    through `serve`'s /metrics would be counted twice. Prometheus scrapes it as a target of its own."""
    port = settings.metrics_port if requested_port is None else requested_port
    if not port:
        return
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # read when prometheus-client is first imported, just below
    from app.bootstrap import prometheus_metrics

    prometheus_metrics().serve(os.environ.get("HOST", "127.0.0.1"), port)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2

    from app.logging import configure_logging

    configure_logging(settings.log_level)

    if args.command == "serve":
        import uvicorn

        if args.no_worker:  # read by every server process as it starts (`app.asgi`)
            os.environ["WORKER_IN_PROCESS"] = "false"
            get_settings.cache_clear()

        workers = serve_workers(settings, args.workers)
        _metrics_dir()
        uvicorn.run(
            "app.asgi:app",
            host=args.host,
            port=args.port,
            workers=workers,
            log_config=None,
            proxy_headers=True,
            access_log=False,
        )
        return 0
    if args.command == "migrate":
        from app.persistence.migrations import upgrade

        upgrade(settings, args.revision)
        print(f"database at revision {args.revision}")
        return 0
    if args.command == "verify-ledger":
        return asyncio.run(_verify(settings))
    if args.command == "register-commands":
        from app.discord.register import register_commands
        from handlers.definitions import command_definitions

        token = settings.discord_bot_token.get_secret_value() if settings.discord_bot_token else None
        return asyncio.run(
            register_commands(
                command_definitions(),
                application_id=settings.discord_application_id,
                bot_token=token,
                guild_id=args.guild,
                dry_run=args.dry_run,
                out=sys.stdout,
                base_url=settings.discord_api_base_url,
            )
        )
    if args.command == "scheduler":
        _own_metrics(settings, args.metrics_port)
        return asyncio.run(_scheduler(settings, args.interval, args.once))
    if args.command == "worker":
        _own_metrics(settings, args.metrics_port)
        return asyncio.run(_worker(settings, args.once))
    if args.command == "events":
        from app.event_commands import run_events_command

        return asyncio.run(run_events_command(settings, args))
    return 2


async def _verify(settings: Settings) -> int:
    from app.bootstrap import bootstrap

    hunch = bootstrap(settings)
    try:
        problems = await hunch.use_cases.verify_ledger()
    finally:
        await hunch.aclose()
    for problem in problems:
        print(f"VIOLATION: {problem}")
    if problems:
        print(f"{len(problems)} violation(s) found")
        return 1
    print("ledger OK: every invariant holds")
    return 0


async def _scheduler(settings: Settings, interval: float, once: bool) -> int:
    from app.bootstrap import bootstrap, housekeeping
    from app.scheduler import run_forever, run_once

    hunch = bootstrap(settings)
    try:
        if once:
            print(await run_once(hunch.use_cases, hunch.clock, housekeeping(hunch)))
        else:
            await run_forever(hunch.use_cases, hunch.clock, housekeeping(hunch), interval)
    finally:
        await hunch.aclose()
    return 0


async def _worker(settings: Settings, once: bool) -> int:
    import signal

    from app.bootstrap import bootstrap

    hunch = bootstrap(settings)
    try:
        if once:
            delivered = await hunch.worker.drain()
            print(f"delivered {delivered} event(s)")
        else:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await hunch.run_worker(stop)
    finally:
        await hunch.aclose()
    return 0
