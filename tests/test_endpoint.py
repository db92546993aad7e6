"""`POST /interactions` from the outside: signatures, sizes, malformed bodies, PING, and Lambda."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from app.settings import Settings
from app.web import create_app
from tests.support.signing import Signer

PING = b'{"type":1}'


@pytest.fixture
def settings(signer: Signer, tmp_path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        DISCORD_PUBLIC_KEY=signer.public_key_hex,
        DATABASE_URL=f"sqlite:///{tmp_path}/unused.sqlite3",
        LOG_LEVEL="WARNING",
    )


@pytest.fixture
async def client(settings: Settings):
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://hunch.test") as c:
        yield c


async def post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/interactions", content=body, headers=headers)


async def test_signed_ping_gets_pong_as_json(client, signer: Signer) -> None:
    response = await post(client, PING, signer.headers(PING))
    assert response.status_code == 200
    assert response.json() == {"type": 1}
    assert response.headers["content-type"] == "application/json"


def _bad_headers(signer: Signer) -> list[tuple[str, dict[str, str]]]:
    good = signer.headers(PING)
    sig, ts = good["X-Signature-Ed25519"], good["X-Signature-Timestamp"]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    old = str(int(time.time()) - 301)
    return [
        ("no headers", {}),
        ("empty signature", {"X-Signature-Ed25519": "", "X-Signature-Timestamp": ts}),
        ("empty timestamp", {"X-Signature-Ed25519": sig, "X-Signature-Timestamp": ""}),
        ("missing timestamp", {"X-Signature-Ed25519": sig}),
        ("missing signature", {"X-Signature-Timestamp": ts}),
        ("non-hex signature", {"X-Signature-Ed25519": "zz" * 64, "X-Signature-Timestamp": ts}),
        ("short signature", {"X-Signature-Ed25519": sig[:-2], "X-Signature-Timestamp": ts}),
        ("long signature", {"X-Signature-Ed25519": sig + "00", "X-Signature-Timestamp": ts}),
        ("wrong signature", {"X-Signature-Ed25519": flipped, "X-Signature-Timestamp": ts}),
        ("timestamp not a number", {"X-Signature-Ed25519": sig, "X-Signature-Timestamp": "soon"}),
        ("negative timestamp", {"X-Signature-Ed25519": sig, "X-Signature-Timestamp": "-5"}),
        ("stale timestamp", signer.headers(PING, old)),
        ("other timestamp than signed", {"X-Signature-Ed25519": sig, "X-Signature-Timestamp": str(int(ts) + 1)}),
    ]


@pytest.mark.parametrize("case", range(13))
async def test_every_bad_signature_is_401(client, signer: Signer, case: int) -> None:
    name, headers = _bad_headers(signer)[case]
    response = await post(client, PING, headers)
    assert response.status_code == 401, name


async def test_body_changed_after_signing_is_401(client, signer: Signer) -> None:
    headers = signer.headers(PING)
    response = await post(client, b'{"type": 1}', headers)
    assert response.status_code == 401


async def test_oversized_body_is_413_without_verifying(client, signer: Signer) -> None:
    body = b'{"type":1,"pad":"' + b"x" * (1024 * 1024) + b'"}'
    response = await post(client, body, signer.headers(body))
    assert response.status_code == 413


async def test_oversized_stream_without_content_length_is_413(settings: Settings, signer: Signer) -> None:
    app = create_app(settings)
    chunk = b"x" * 65536

    async def stream():
        for _ in range(20):
            yield chunk

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hunch.test") as c:
        response = await c.post("/interactions", content=stream(), headers=signer.headers(b""))
    assert response.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1,2]",
        b'"ping"',
        b"{}",
        b'{"type":99}',
        b'{"type":"1"}',
        b'{"type":true}',
        b"\xff\xfe",
        b'{"type":2}',
        b'{"type":2,"id":5}',
    ],
)
async def test_signed_but_malformed_is_400(client, signer: Signer, body: bytes) -> None:
    response = await post(client, body, signer.headers(body))
    assert response.status_code == 400


async def test_freshness_check_can_be_turned_off(signer: Signer, tmp_path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        DISCORD_PUBLIC_KEY=signer.public_key_hex,
        DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3",
        SIGNATURE_MAX_AGE_SECONDS=0,
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://hunch.test") as c:
        response = await post(c, PING, signer.headers(PING, "1000000000"))
    assert response.status_code == 200


async def test_health_endpoints(client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")  # the database answers, but was never migrated
    assert ready.status_code == 503 and ready.json()["status"] == "fail"
    assert ready.headers["content-type"] == "application/health+json"
    assert ready.json()["checks"]["database:responseTime"][0]["status"] == "pass"
    assert ready.json()["checks"]["migrations:revision"][0]["status"] == "fail"


async def test_readyz_reports_an_unreachable_database(signer: Signer) -> None:
    settings = Settings(  # type: ignore[call-arg]
        DISCORD_PUBLIC_KEY=signer.public_key_hex, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://hunch.test") as c:
        started = time.perf_counter()
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "fail"
    database = response.json()["checks"]["database:responseTime"][0]
    assert database["status"] == "fail" and database["componentType"] == "datastore"
    assert "nobody" not in response.text  # the URL (it could hold a password) is never shown
    assert time.perf_counter() - started < 3


# -- Lambda: the same app through Mangum with API Gateway HTTP API (payload 2.0) events ---------------------


def http_api_event(
    body: bytes, headers: dict[str, str], *, base64_body: bool, path: str = "/interactions"
) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {k.lower(): v for k, v in headers.items()} | {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "Discord",
            },
            "requestId": "req",
            "routeKey": f"POST {path}",
            "stage": "$default",
            "time": "29/Nov/2026:00:00:00 +0000",
            "timeEpoch": 1795000000000,
        },
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }


class _Context:
    aws_request_id = "test"
    function_name = "hunch"
    memory_limit_in_mb = 512

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 3000


@pytest.mark.parametrize("base64_body", [False, True])
def test_lambda_handler_answers_signed_ping(signer: Signer, monkeypatch, base64_body: bool, tmp_path) -> None:
    import importlib

    import app.lambda_handler as lambda_module
    from app.settings import get_settings

    monkeypatch.setenv("DISCORD_PUBLIC_KEY", signer.public_key_hex)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/lambda.sqlite3")
    get_settings.cache_clear()
    try:
        module = importlib.reload(lambda_module)
        ok = module.handler(http_api_event(PING, signer.headers(PING), base64_body=base64_body), _Context())
        assert ok["statusCode"] == 200
        assert json.loads(ok["body"]) == {"type": 1}
        assert ok["headers"]["content-type"] == "application/json"
        bad = signer.headers(PING) | {"X-Signature-Ed25519": "00" * 64}
        refused = module.handler(http_api_event(PING, bad, base64_body=base64_body), _Context())
        assert refused["statusCode"] == 401
    finally:
        get_settings.cache_clear()


def test_a_reply_with_a_file_leaves_lambda_as_base64_multipart(
    signer: Signer, monkeypatch, sqlite_template, tmp_path
) -> None:
    import importlib
    import shutil

    import app.lambda_handler as lambda_module
    from app.settings import get_settings
    from tests.support.discord_payloads import User, slash_command
    from tests.support.forms import read_form

    shutil.copy(sqlite_template, tmp_path / "lambda.sqlite3")
    monkeypatch.setenv("DISCORD_PUBLIC_KEY", signer.public_key_hex)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/lambda.sqlite3")
    get_settings.cache_clear()
    alice = User("410212090289192960", "alice", "Alice")
    try:
        module = importlib.reload(lambda_module)

        def invoke(path: str, **options: Any) -> dict[str, Any]:
            body = signer.body(slash_command(alice, path, options))
            answer: dict[str, Any] = module.handler(
                http_api_event(body, signer.headers(body), base64_body=False), _Context()
            )
            assert answer["statusCode"] == 200, answer
            return answer

        assert not invoke("market create", question="Will it snow?")["isBase64Encoded"]  # JSON, as text
        charted = invoke("market chart", market="1")
        content_type = charted["headers"]["content-type"]
        assert content_type.startswith("multipart/form-data; boundary=") and charted["isBase64Encoded"]
        payload, files = read_form(content_type, base64.b64decode(charted["body"]))
        assert payload is not None and payload["data"]["embeds"][0]["image"]["url"] == "attachment://chart.png"
        filename, kind, png = files["files[0]"]
        assert (filename, kind, png[:8]) == ("chart.png", "image/png", b"\x89PNG\r\n\x1a\n")
    finally:
        get_settings.cache_clear()


def _first_ping_in_a_fresh_process(signer: Signer, tmp_path: Any, *, on_import: str, after: str) -> Any:
    """Import `app.lambda_handler` in a new interpreter, evaluate `on_import`, answer one signed PING through the
    handler, evaluate `after`: both values, as JSON."""
    import subprocess
    import sys

    script = "\n".join(
        [
            "import gc, json, sys",
            "from nacl.signing import SigningKey",
            "from tests.support.signing import Signer",
            "from tests.test_endpoint import http_api_event, _Context",
            "import app.lambda_handler as lh",
            f"on_import = {on_import}",
            "signer = Signer(SigningKey(bytes(range(32))))",
            "event = http_api_event(b'{\"type\":1}', signer.headers(b'{\"type\":1}'), base64_body=False)",
            "answer = lh.handler(event, _Context())",
            "assert answer['statusCode'] == 200, answer",
            f"print(json.dumps({{'on_import': on_import, 'after': {after}}}))",
        ]
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DISCORD_PUBLIC_KEY": signer.public_key_hex,
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
        "PYTHONPATH": ".",
    }
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_ping_path_imports_no_orm_or_driver(signer: Signer, tmp_path) -> None:
    roots = ("sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite", "alembic", "redis")
    heavy = f"sorted(m for m in sys.modules if m.split('.')[0] in {roots!r})"
    assert _first_ping_in_a_fresh_process(signer, tmp_path, on_import="None", after=heavy)["after"] == []


def test_the_collector_is_off_for_the_cold_start_only(signer: Signer, tmp_path) -> None:
    """Off from the handler's import to the end of its first invocation; then what the cold start built is frozen
    and the collector runs again."""
    seen = _first_ping_in_a_fresh_process(
        signer, tmp_path, on_import="gc.isenabled()", after="[gc.isenabled(), gc.get_freeze_count()]"
    )
    assert seen["on_import"] is False
    enabled, frozen = seen["after"]
    assert enabled is True
    assert frozen > 10_000  # the modules, classes and functions of the cold start


# -- the one error boundary: a shape Discord cannot send is a 400, never a 5xx ------------------------------------

_MEMBER = {"permissions": "0", "roles": [], "user": {"id": "11", "username": "alice"}}


def _signed(kind: int, data: Any, **extra: Any) -> bytes:
    body = {"id": "1300000000000000099", "type": kind, "guild_id": "900000000000000001", "member": _MEMBER}
    body.update({"data": data, **extra})
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    "body",
    [
        _signed(2, {"name": "balance", "type": "1", "options": []}),
        _signed(2, {"name": "balance", "type": 1, "options": {"user": "1"}}),
        _signed(3, {"component_type": 2}),
        _signed(5, {"custom_id": ["buymodal"], "components": []}),
        _signed(2, {"name": "balance", "type": 1}, guild_id=900000000000000001),
        _signed(2, {"name": "balance", "type": 1}, member={"user": {"id": "not-a-snowflake"}}),
        _signed(2, "not an object"),
    ],
    ids=[
        "data-type-a-string",
        "options-not-a-list",
        "component-without-custom-id",
        "custom-id-a-list",
        "guild-id-a-number",
        "user-id-not-a-snowflake",
        "data-a-string",
    ],
)
async def test_a_signed_payload_of_a_shape_discord_cannot_send_is_a_400_logged_without_a_traceback(
    client, signer: Signer, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    response = await post(client, body, signer.headers(body))
    assert response.status_code == 400
    assert set(response.json()) == {"error"} and len(response.json()["error"]) < 100
    warnings = [r for r in caplog.records if r.getMessage() == "malformed interaction"]
    assert warnings and all(r.levelname == "WARNING" and not r.exc_info for r in warnings)
    assert getattr(warnings[-1], "fields", {}).get("interaction_id") == "1300000000000000099"


async def test_an_option_of_the_wrong_type_gets_the_usual_ephemeral_error(client, signer: Signer) -> None:
    body = _signed(2, {"name": "give", "type": 1, "options": [{"name": "user", "type": 6, "value": {"id": 1}}]})
    response = await post(client, body, signer.headers(body))
    assert response.status_code == 200
    reply = response.json()
    assert reply["type"] == 4 and reply["data"]["flags"] == 64 and "Pick a member" in reply["data"]["content"]


async def test_a_backend_that_cannot_even_start_still_answers(settings: Settings, signer: Signer) -> None:
    from app.endpoint import build_app

    def broken() -> Any:
        raise RuntimeError("the backend could not be wired")

    transport = httpx.ASGITransport(app=build_app(settings, broken))
    body = _signed(2, {"name": "balance", "type": 1, "options": []})
    async with httpx.AsyncClient(transport=transport, base_url="http://hunch.test") as c:
        response = await post(c, body, signer.headers(body))
    assert response.status_code == 200
    assert response.json()["data"]["content"].startswith("Something went wrong on our side. Nothing was changed.")


async def test_an_unreachable_database_is_said_to_have_changed_nothing(signer: Signer) -> None:
    settings = Settings(  # type: ignore[call-arg]
        DISCORD_PUBLIC_KEY=signer.public_key_hex, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    body = _signed(2, {"name": "balance", "type": 1, "options": []})
    async with httpx.AsyncClient(transport=transport, base_url="http://hunch.test") as c:
        response = await post(c, body, signer.headers(body))
    assert response.status_code == 200
    assert (
        response.json()["data"]["content"]
        == "We lost contact with the database, so nothing was changed. Please try again."
    )
