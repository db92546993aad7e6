"""The slow-query monitor on the real Postgres: each statement timed, a slow one counted every time and logged
once per shape, with its duration and without the values bound to it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import bindparam, text

from app import telemetry
from app.bootstrap import prometheus_metrics
from app.observability.prometheus import PrometheusRecorder
from app.persistence.database import Database
from app.persistence.statements import shape
from tests.conftest import PG_URL, make_settings, requires_postgres


@pytest.fixture
def recorder() -> Iterator[PrometheusRecorder]:
    yield prometheus_metrics()
    telemetry.install()


def samples(recorder: PrometheusRecorder) -> dict[str, float]:
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(recorder.render().decode()):
        for sample in family.samples:
            found[sample.name] = sample.value
    return found


def test_a_shape_folds_placeholder_lists_and_whitespace() -> None:
    folded = shape("SELECT a\n  FROM t WHERE id IN ($1, $2, $3) AND b = $4")
    assert folded == "SELECT a FROM t WHERE id IN (…) AND b = $4"
    assert shape("SELECT a FROM t WHERE id IN (?, ?)") == shape("SELECT a FROM t WHERE id IN (?, ?, ?, ?)")


@requires_postgres
async def test_slow_statements_are_logged_once_per_shape_without_their_values(
    recorder: PrometheusRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(make_settings(PG_URL, "", SLOW_QUERY_SECONDS=0.05))
    secret = 987654321
    try:
        with caplog.at_level(logging.WARNING, logger="hunch.db.slow"):
            async with database.engine.connect() as conn:
                for ids in ([1, secret], [1, secret, 3]):
                    statement = text("SELECT pg_sleep(0.06) FROM (SELECT 1 AS id) t WHERE id IN :ids")
                    statement = statement.bindparams(bindparam("ids", expanding=True))
                    await conn.execute(statement, {"ids": ids})
                await conn.execute(text("SELECT pg_sleep(0.06), CAST(:n AS bigint)"), {"n": secret})
                for _ in range(5):
                    await conn.execute(text("SELECT 1"))
    finally:
        await database.dispose()
    logged = [r for r in caplog.records if r.name == "hunch.db.slow"]
    assert len(logged) == 2, [r.fields for r in logged]  # type: ignore[attr-defined]
    for record in logged:
        fields = record.fields  # type: ignore[attr-defined]
        assert fields["duration_ms"] >= 50 and fields["threshold_ms"] == 50
        assert "pg_sleep" in fields["statement"]
        assert str(secret) not in json.dumps(fields)
    assert "IN (…)" in logged[0].fields["statement"]  # type: ignore[attr-defined]
    measured = samples(recorder)
    assert measured["hunch_db_slow_statements_total"] == 3
    assert measured["hunch_db_statement_duration_seconds_count"] >= 8


async def test_the_threshold_zero_logs_nothing(recorder: PrometheusRecorder, tmp_path, caplog) -> None:
    database = Database(make_settings(f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3", "", SLOW_QUERY_SECONDS=0))
    try:
        with caplog.at_level(logging.WARNING, logger="hunch.db.slow"):
            async with database.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await database.dispose()
    assert not [r for r in caplog.records if r.name == "hunch.db.slow"]
    measured = samples(recorder)
    assert measured["hunch_db_slow_statements_total"] == 0
    assert measured["hunch_db_statement_duration_seconds_count"] >= 1


@requires_postgres
async def test_the_pool_gauges_follow_checkouts_and_checkins(recorder: PrometheusRecorder) -> None:
    database = Database(make_settings(PG_URL, ""))

    def pool() -> tuple[float, float]:
        text_ = recorder.render().decode()
        found = {
            s.labels["state"]: s.value
            for f in text_string_to_metric_families(text_)
            for s in f.samples
            if s.name == "hunch_db_pool_connections"
        }
        return found["in_use"], found["idle"]

    try:
        async with database.engine.connect() as one, database.engine.connect() as two:
            await one.execute(text("SELECT 1"))
            await two.execute(text("SELECT 1"))
            assert pool() == (2, 0)
        assert pool() == (0, 2)
    finally:
        await database.dispose()
