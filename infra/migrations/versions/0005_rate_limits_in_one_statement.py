"""rate limits in one statement

A hit on Postgres was a transaction of up to ten round trips holding an advisory lock on the key (the
server's key, shared by every trade in the server) across all of them. Now it is one call of
`hunch_rate_limit_hit`, in autocommit: the function locks each key's counter row (`rate_limit_keys`, the
number of rows the key has in `rate_limit_hits`) for the length of the statement only, drops the key's
expired hits, and records the hit on every key or on none. `hunch_rate_limit_purge` clears expired rows of
keys nobody is hitting, skipping any key a hit holds.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

HIT = """
CREATE OR REPLACE FUNCTION hunch_rate_limit_hit(p_keys text[], p_windows bigint[], p_limits int[], p_at bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n int;
    dropped int;
    counts int[] := '{}';
    changed boolean[] := '{}';
    free_at bigint;
    retry_at bigint := NULL;
BEGIN
    -- The caller passes the keys sorted: every hit locks them in one order, so two hits cannot deadlock.
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        LOOP  -- a key's first hit creates its row (a purge may remove an idle one meanwhile: try again)
            SELECT k.live INTO n FROM rate_limit_keys k WHERE k.key = p_keys[i] FOR UPDATE;
            EXIT WHEN FOUND;
            INSERT INTO rate_limit_keys (key, live) VALUES (p_keys[i], 0) ON CONFLICT (key) DO NOTHING;
        END LOOP;
        WITH gone AS (
            DELETE FROM rate_limit_hits WHERE key = p_keys[i] AND hit_at_ms <= p_at - p_windows[i] RETURNING 1
        )
        SELECT count(*) INTO dropped FROM gone;
        n := n - dropped;
        counts := counts || n;
        changed := changed || (dropped > 0);
        IF n >= p_limits[i] THEN
            -- Room again when the hit `limit` places from the newest leaves the window.
            SELECT hit_at_ms + p_windows[i] INTO free_at FROM rate_limit_hits
            WHERE key = p_keys[i] ORDER BY hit_at_ms OFFSET n - p_limits[i] LIMIT 1;
            retry_at := greatest(retry_at, free_at);
        END IF;
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        IF retry_at IS NULL THEN
            INSERT INTO rate_limit_hits (key, hit_at_ms, expires_at_ms) VALUES (p_keys[i], p_at, p_at + p_windows[i]);
            UPDATE rate_limit_keys SET live = counts[i] + 1 WHERE key = p_keys[i];
        ELSIF changed[i] THEN
            UPDATE rate_limit_keys SET live = counts[i] WHERE key = p_keys[i];
        END IF;
    END LOOP;
    RETURN retry_at;
END $$;
"""

PURGE = """
CREATE OR REPLACE FUNCTION hunch_rate_limit_purge(p_now bigint, p_batch int)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    k text;
    dropped int;
    total int := 0;
BEGIN
    FOR k IN SELECT DISTINCT h.key FROM (
        SELECT key FROM rate_limit_hits WHERE expires_at_ms <= p_now ORDER BY expires_at_ms LIMIT p_batch
    ) h LOOP
        -- A key a hit holds is skipped (that hit drops its expired rows itself): the purge never waits.
        PERFORM 1 FROM rate_limit_keys WHERE key = k FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            CONTINUE;
        END IF;
        WITH gone AS (DELETE FROM rate_limit_hits WHERE key = k AND expires_at_ms <= p_now RETURNING 1)
        SELECT count(*) INTO dropped FROM gone;
        UPDATE rate_limit_keys SET live = live - dropped WHERE key = k;
        DELETE FROM rate_limit_keys WHERE key = k AND live <= 0;
        total := total + dropped;
    END LOOP;
    RETURN total;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "rate_limit_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("live", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("INSERT INTO rate_limit_keys (key, live) SELECT key, count(*) FROM rate_limit_hits GROUP BY key")
        op.execute(HIT)
        op.execute(PURGE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hunch_rate_limit_purge(bigint, int)")
        op.execute("DROP FUNCTION IF EXISTS hunch_rate_limit_hit(text[], bigint[], int[], bigint)")
    op.drop_table("rate_limit_keys")
