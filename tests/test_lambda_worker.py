"""The worker as its own Lambda function (`app.lambda_handler.worker`): an SQS batch of nudges, or the
scheduled sweep, delivers what the log holds, on the same app the interactions function runs."""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path
from typing import Any

import pytest
import respx

from app.domain.actor import Actor
from app.services.markets import CreateMarket
from tests.test_endpoint import _Context

SQS_BATCH = {
    "Records": [
        {
            "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
            "body": "events",
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
            "messageAttributes": {},
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:hunch-dev-WorkerQueue",
            "awsRegion": "us-east-1",
        }
    ]
}
SCHEDULED = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


@pytest.fixture
def lambda_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    import app.lambda_handler as module
    from app.persistence.migrations import upgrade
    from app.settings import get_settings

    monkeypatch.setenv("DISCORD_PUBLIC_KEY", "ab" * 32)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/lambda.sqlite3")
    monkeypatch.setenv("WORKER_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/hunch-dev-WorkerQueue")
    get_settings.cache_clear()
    upgrade(get_settings(), "head")
    try:
        yield importlib.reload(module)
    finally:
        get_settings.cache_clear()


def test_commits_nudge_the_queue_and_the_worker_delivers_the_log(
    lambda_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret")
    hunch = lambda_module.app.state.endpoint.backend
    loop = asyncio.get_event_loop()
    with respx.mock(assert_all_mocked=True) as aws:
        sent = aws.post("https://sqs.us-east-1.amazonaws.com/").respond(200, json={"MessageId": "m"})
        for n in range(3):  # the interactions function's commits
            actor = Actor(900000000000000001, 11, interaction_id=1_700_000_000_000_000_000 + n)
            loop.run_until_complete(hunch.use_cases.create_market(actor, CreateMarket(f"Q{n}?", ["A", "B"])))
        delays = [json.loads(call.request.content)["DelaySeconds"] for call in sent.calls]
        assert delays == [0, 1]  # one at once, one delayed that covers the commits after it

        assert lambda_module.worker(SQS_BATCH, _Context()) == {"delivered": 3}
        assert lambda_module.worker(SCHEDULED, _Context()) == {"delivered": 0}
        assert len(sent.calls) == 2  # running the worker sent no nudge of its own
