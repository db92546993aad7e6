"""The reads members make use indexes that fit them (`app/persistence/reads.py`): checked with EXPLAIN on
Postgres, over the very statements the use cases send, so no request scans a whole server's history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.domain.market import MarketStatus
from app.domain.records import RankBy
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions, UnitOfWork
from app.services import queries, records, seasons

GUILD = 900000000000000777
BUSY = 10**15 + 7

SEED = [
    f"""INSERT INTO guilds (id, starting_balance, daily_bonus, default_liquidity, default_duration_seconds, max_stake,
          currency_name, next_market_number, created_at)
        VALUES ({GUILD}, 1000, 100, 1000, 604800, 100000, 'points', 401, now())""",
    f"INSERT INTO accounts (guild_id, kind, balance, created_at) VALUES ({GUILD}, 'house', 0, now())",
    f"""INSERT INTO accounts (guild_id, kind, user_id, balance, created_at)
        SELECT {GUILD}, 'member', {10**15} + i, (i * 7919) % 100000, now() FROM generate_series(1, 3000) i""",
    f"""INSERT INTO markets (guild_id, number, question, description, outcomes, shares, liquidity, status,
          creator_id, volume, trade_count, closes_at, created_at)
        SELECT {GUILD}, i, 'Will it rain on day ' || i || '?', '', '["Yes", "No"]'::json, '[0, 0]'::json, 1000,
          CASE WHEN i > 360 THEN 'open' WHEN i > 320 THEN 'closed' ELSE 'resolved' END,
          {10**15} + i, 0, 0, now(), now() FROM generate_series(1, 400) i""",
    f"""INSERT INTO accounts (guild_id, kind, market_id, balance, created_at)
        SELECT {GUILD}, 'market', id, 1000, now() FROM markets""",
    "UPDATE markets SET pool_account_id = a.id FROM accounts a WHERE a.market_id = markets.id",
    """INSERT INTO positions (market_id, account_id, outcome, shares, paid_in, taken_out)
        SELECT m.id, a.id, 0, 1000000, 10, 0 FROM accounts a JOIN markets m ON m.number % 50 = a.id % 50
        WHERE a.kind = 'member'""",
    f"""INSERT INTO member_records (account_id, guild_id, user_id, resolved, won, staked, profit, brier_total, scored,
          qualified_brier)
        SELECT id, {GUILD}, user_id, 1 + id % 9, id % 5, 1000, (id * 7919) % 20000 - 10000, (1 + id % 9) * 300000,
          1 + id % 9, CASE WHEN 1 + id % 9 >= 5 THEN 300000 + id % 1000 END
        FROM accounts WHERE kind = 'member'""",
    f"""INSERT INTO market_results (market_id, account_id, guild_id, user_id, paid_in, taken_out, payout, brier)
        SELECT p.market_id, p.account_id, {GUILD}, a.user_id, p.paid_in, 0, 15, 250000 FROM positions p
        JOIN accounts a ON a.id = p.account_id JOIN markets m ON m.id = p.market_id WHERE m.status = 'resolved'""",
    f"""INSERT INTO seasons (guild_id, number, name, name_key, started_at, ended_at)
        SELECT {GUILD}, i, 'Season ' || i, 'season ' || i, now(), CASE WHEN i < 40 THEN now() END
        FROM generate_series(1, 40) i""",
    f"""INSERT INTO season_standings (season_id, position, user_id, balance)
        SELECT s.id, a.id, a.user_id, a.balance FROM seasons s CROSS JOIN accounts a
        WHERE s.guild_id = {GUILD} AND s.ended_at IS NOT NULL AND a.kind = 'member'""",
    "ANALYZE",
]

READS: dict[str, Callable[[UnitOfWork], Awaitable[Any]]] = {
    "leaderboard": lambda uow: queries.leaderboard(uow, GUILD, 10),
    "portfolio": lambda uow: queries.portfolio(uow, GUILD, BUSY),
    "balance": lambda uow: queries.balance(uow, GUILD, BUSY),
    "market list": lambda uow: queries.list_markets(uow, GUILD, MarketStatus.OPEN),
    "market list all": lambda uow: queries.list_markets(uow, GUILD, None),
    "market show": lambda uow: queries.show_market(uow, GUILD, 390),
    "market search": lambda uow: queries.search_markets(uow, GUILD, "rain 39", 25, (MarketStatus.OPEN,)),
    "market search by number": lambda uow: queries.search_markets(uow, GUILD, "#390", 25, (MarketStatus.OPEN,)),
    "stats": lambda uow: records.stats(uow, GUILD, BUSY),
    "leaderboard by profit": lambda uow: records.ranked_by(uow, GUILD, RankBy.PROFIT, 10),
    "leaderboard by accuracy": lambda uow: records.ranked_by(uow, GUILD, RankBy.ACCURACY, 10),
    "season standings": lambda uow: seasons.season_standings(uow, GUILD, "Season 7", 10),
}
BIG_TABLES = (
    "accounts",
    "markets",
    "positions",
    "trades",
    "transfers",
    "market_results",
    "member_records",
    "season_standings",
)


async def _plans(database: Database, read: Callable[[UnitOfWork], Awaitable[Any]]) -> list[str]:
    sent: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await Transactions(database).run(read)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)

    async def explain(uow: UnitOfWork) -> list[str]:
        await uow.conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plans = []
        for statement, parameters in sent:
            rows = await uow.conn.exec_driver_sql("EXPLAIN " + statement, parameters)
            plans.append("\n".join(row[0] for row in rows))
        return plans

    return await Transactions(database).run(explain)


@pytest.fixture
async def seeded(pg_database: Database) -> Database:
    async def seed(uow: UnitOfWork) -> None:
        for statement in SEED:
            await uow.conn.execute(sa.text(statement))
        await uow.commit()

    await Transactions(pg_database).run(seed)
    return pg_database


@pytest.mark.parametrize("read", sorted(READS))
async def test_no_read_scans_a_whole_table(seeded: Database, read: str) -> None:
    plans = await _plans(seeded, READS[read])
    assert plans, "the read sent no query"
    for plan in plans:
        for table in BIG_TABLES:
            assert f"Seq Scan on {table}" not in plan, plan


async def test_the_leaderboard_reads_its_top_rows_off_the_index_in_order(seeded: Database) -> None:
    [_settings, board] = await _plans(seeded, READS["leaderboard"])
    assert "ix_accounts_leaderboard" in board and "Sort" not in board, board
    assert board.lstrip().startswith("Limit"), board


@pytest.mark.parametrize(
    ("read", "index"),
    [("leaderboard by profit", "ix_member_records_profit"), ("leaderboard by accuracy", "ix_member_records_accuracy")],
)
async def test_the_leaderboards_by_record_read_their_top_rows_off_an_index_in_order(
    seeded: Database, read: str, index: str
) -> None:
    [_settings, board] = await _plans(seeded, READS[read])
    assert index in board and "Sort" not in board, board
    assert board.lstrip().startswith("Limit"), board


async def test_the_check_sees_a_query_no_index_serves(seeded: Database) -> None:
    async def unindexed(uow: UnitOfWork) -> Any:
        return (await uow.conn.execute(sa.text("SELECT count(*) FROM trades WHERE points = 7"))).all()

    [plan] = await _plans(seeded, unindexed)
    assert "Seq Scan on trades" in plan
