"""The nudge to the worker's SQS queue (`app/aws/sqs.py`), against a respx SQS: one request signed for the
queue's region, and coalesced so a busy container sends about one a second."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from app.aws.sigv4 import Credentials
from app.aws.sqs import SqsNudge, region_of

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/hunch-dev-WorkerQueue"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sqs() -> respx.MockRouter:
    with respx.mock(assert_all_called=False) as router:
        router.post("https://sqs.eu-west-1.amazonaws.com/").respond(200, json={"MessageId": "m"})
        yield router


def _delays(router: respx.MockRouter) -> list[int]:
    return [json.loads(call.request.content)["DelaySeconds"] for call in router.calls]


async def test_a_nudge_is_one_signed_send_message(sqs: respx.MockRouter) -> None:
    nudge = SqsNudge(QUEUE, lambda: Credentials("AKID", "secret", "token"))
    await nudge()
    [call] = sqs.calls
    request = call.request
    assert request.headers["X-Amz-Target"] == "AmazonSQS.SendMessage"
    assert request.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert "/eu-west-1/sqs/aws4_request" in request.headers["Authorization"]
    assert request.headers["x-amz-security-token"] == "token"
    assert json.loads(request.content) == {"QueueUrl": QUEUE, "MessageBody": "events", "DelaySeconds": 0}
    await nudge.aclose()


async def test_nudges_are_coalesced_yet_every_commit_is_followed_by_one(sqs: respx.MockRouter) -> None:
    clock = Clock()
    nudge = SqsNudge(QUEUE, lambda: Credentials("AKID", "secret"), clock=clock)
    await nudge()  # sent at once
    for _ in range(10):  # ten commits within the next half second: one delayed nudge covers them all
        clock.now += 0.05
        await nudge()
    assert _delays(sqs) == [0, 1]
    clock.now += 1.0  # the delayed one has arrived; a second since the last send: at once again
    await nudge()
    assert _delays(sqs) == [0, 1, 0]
    await nudge.aclose()


async def test_a_failed_nudge_raises_and_the_next_commit_tries_again(sqs: respx.MockRouter) -> None:
    sqs.routes[0].mock(side_effect=[httpx.Response(500, text="InternalError"), httpx.Response(200, json={})])
    nudge = SqsNudge(QUEUE, lambda: Credentials("AKID", "secret"), clock=Clock())
    with pytest.raises(RuntimeError, match="500"):
        await nudge()
    await nudge()
    assert len(sqs.calls) == 2
    await nudge.aclose()


async def test_without_credentials_nothing_is_sent(sqs: respx.MockRouter) -> None:
    nudge = SqsNudge(QUEUE, lambda: None)
    await nudge()
    assert not sqs.calls
    await nudge.aclose()


def test_the_region_comes_from_the_queue_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert region_of(QUEUE) == "eu-west-1"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert region_of("http://localhost:9324/000000000000/local") == "ap-south-1"
