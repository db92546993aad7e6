"""Signature Version 4 (`app/aws/sigv4.py`) against the examples AWS publishes."""

from __future__ import annotations

from datetime import UTC, datetime

from app.aws.sigv4 import Credentials, sign

EXAMPLE = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
WHEN = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)


def _signature(headers: dict[str, str]) -> str:
    return headers["Authorization"].rsplit("Signature=", 1)[1]


def test_the_iam_example_from_the_signing_guide() -> None:
    headers = sign(
        "GET",
        "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        b"",
        credentials=EXAMPLE,
        region="us-east-1",
        service="iam",
        now=WHEN,
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )
    assert headers["x-amz-date"] == "20150830T123600Z"


def test_the_test_suites_vanilla_requests() -> None:
    def vanilla(url: str) -> str:
        return _signature(
            sign("GET", url, {}, b"", credentials=EXAMPLE, region="us-east-1", service="service", now=WHEN)
        )

    assert (
        vanilla("https://example.amazonaws.com/") == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )
    # get-vanilla-query-order-key-case: parameters are signed sorted, whatever order they came in
    assert (
        vanilla("https://example.amazonaws.com/?Param2=value2&Param1=value1")
        == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
    )


def test_a_session_token_is_sent_and_signed_and_the_secret_never_leaves() -> None:
    temporary = Credentials("ASIAEXAMPLE", "secret-key-never-sent", "session-token-value")
    headers = sign(
        "POST",
        "https://sqs.eu-west-1.amazonaws.com/",
        {"X-Amz-Target": "AmazonSQS.SendMessage"},
        b"{}",
        credentials=temporary,
        region="eu-west-1",
        service="sqs",
        now=WHEN,
    )
    assert headers["x-amz-security-token"] == "session-token-value"
    assert "x-amz-security-token" in headers["Authorization"].split("SignedHeaders=")[1]
    assert "secret-key-never-sent" not in repr(headers) and "secret-key-never-sent" not in repr(temporary)
