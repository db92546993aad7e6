"""Nudging the worker Lambda through its SQS queue after a commit that wrote events.

A nudge carries nothing: the worker drains the whole log when it runs, and the scheduled sweep finds whatever
a lost nudge would have announced. So nudges are coalesced: one goes at once, and while one was sent within
the last `spacing` seconds the next goes delayed by a second (only if none is already on its way), which
keeps it to about one or two SendMessage calls a second per container, each commit followed by a nudge that
arrives after it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from app.aws.sigv4 import Credentials, sign

logger = logging.getLogger("hunch.worker")
TIMEOUT = 2.0


def credentials_from_environment() -> Credentials | None:
    """What the Lambda runtime puts in the environment for the function's role."""
    access, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not access or not secret:
        return None
    return Credentials(access, secret, os.environ.get("AWS_SESSION_TOKEN") or None)


def region_of(queue_url: str) -> str:
    """`https://sqs.eu-west-1.amazonaws.com/123/q` is in eu-west-1 (else AWS_REGION)."""
    host = urlsplit(queue_url).netloc.split(".")
    if len(host) >= 3 and host[0] == "sqs":
        return host[1]
    return os.environ.get("AWS_REGION", "us-east-1")


class SqsNudge:
    def __init__(
        self,
        queue_url: str,
        credentials: Callable[[], Credentials | None] = credentials_from_environment,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        spacing: float = 1.0,
    ) -> None:
        self.queue_url = queue_url
        self._credentials = credentials
        self._region = region_of(queue_url)
        parts = urlsplit(queue_url)
        self._endpoint = f"{parts.scheme}://{parts.netloc}/"
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT)
        self._clock = clock
        self._spacing = spacing
        self._last_sent = float("-inf")
        self._covered_until = float("-inf")  # a nudge arrives at this time: commits before it are covered

    async def __call__(self) -> None:
        now = self._clock()
        if self._covered_until > now:
            return
        delay = 1 if now - self._last_sent < self._spacing else 0
        await self.send(delay)
        self._last_sent, self._covered_until = now, now + delay

    async def send(self, delay_seconds: int = 0) -> None:
        credentials = self._credentials()
        if credentials is None:
            logger.warning("no AWS credentials in the environment: the worker was not nudged")
            return
        body = json.dumps({"QueueUrl": self.queue_url, "MessageBody": "events", "DelaySeconds": delay_seconds}).encode()
        headers = sign(
            "POST",
            self._endpoint,
            {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"},
            body,
            credentials=credentials,
            region=self._region,
            service="sqs",
            now=datetime.now(UTC),
        )
        response = await self._client.post(self._endpoint, content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"SQS SendMessage answered {response.status_code}: {response.text[:200]}")

    async def aclose(self) -> None:
        await self._client.aclose()
