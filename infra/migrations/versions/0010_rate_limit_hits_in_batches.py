"""rate-limit hits in batches

A process now sends the hits that arrive while one is in flight as one call of `hunch_rate_limit_hit_batch`:
one statement, one commit and one pooled connection for the lot, instead of one each. Measured before, with
limits in Postgres and 32 requests in flight, each hit held a connection of its own: the pools overflowed
and opened (and closed) about 500 connections a run, and every hit took the server's key for a commit of
its own. The function takes every key of the batch first, in one order (byte order, as the caller sorts), so
batches cannot deadlock; then it applies the hits in arrival order, each exactly as a lone hit would be
(`hunch_rate_limit_hit`, migration 0005), and returns each hit's answer.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

HIT_BATCH = """
CREATE OR REPLACE FUNCTION hunch_rate_limit_hit_batch(
    p_hits int[], p_keys text[], p_windows bigint[], p_limits int[], p_at bigint[]
) RETURNS bigint[] LANGUAGE plpgsql AS $$
-- Check i (key, window, limit) belongs to hit p_hits[i]; a hit's checks are contiguous, sorted by key, and
-- share that hit's instant p_at[i]. The answer has one element per hit: NULL (allowed) or when to retry.
DECLARE
    k text;
    first int := 1;
    answers bigint[] := '{}';
    n int := coalesce(array_length(p_hits, 1), 0);
BEGIN
    FOR k IN SELECT DISTINCT u COLLATE "C" FROM unnest(p_keys) AS u ORDER BY 1 LOOP
        LOOP  -- as in hunch_rate_limit_hit: a key's first hit creates its row
            PERFORM 1 FROM rate_limit_keys WHERE key = k FOR UPDATE;
            EXIT WHEN FOUND;
            INSERT INTO rate_limit_keys (key, live) VALUES (k, 0) ON CONFLICT (key) DO NOTHING;
        END LOOP;
    END LOOP;
    FOR i IN 1 .. n LOOP
        IF i = n OR p_hits[i + 1] <> p_hits[i] THEN  -- the last check of its hit: apply the hit
            answers := answers || hunch_rate_limit_hit(
                p_keys[first:i], p_windows[first:i], p_limits[first:i], p_at[first]
            );
            first := i + 1;
        END IF;
    END LOOP;
    RETURN answers;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(HIT_BATCH)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hunch_rate_limit_hit_batch(int[], text[], bigint[], int[], bigint[])")
