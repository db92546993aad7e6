"""Configuration: secrets never shown, clear errors naming the bad variable, database URL forms and defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import ConfigurationError, load_settings

BOT_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMA.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789AB"


def test_secrets_never_appear_in_settings_repr() -> None:
    settings = load_settings(DISCORD_BOT_TOKEN=BOT_TOKEN)
    assert BOT_TOKEN not in repr(settings) and BOT_TOKEN not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DISCORD_PUBLIC_KEY", "not-hex"),
        ("DISCORD_PUBLIC_KEY", "ab" * 31),
        ("DISCORD_APPLICATION_ID", "app-one"),
        ("DATABASE_URL", "mysql://x"),
        ("SIGNATURE_MAX_AGE_SECONDS", "-1"),
        ("LOG_LEVEL", "LOUD"),
        ("HUNCH_ENV", "qa"),
    ],
)
def test_bad_configuration_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**{variable: value})
    assert variable in str(caught.value)


def test_database_url_forms() -> None:
    assert load_settings(DATABASE_URL="postgres://u@h/db").database_url == "postgresql+asyncpg://u@h/db"
    assert load_settings(DATABASE_URL="postgresql://u@h/db").database_url == "postgresql+asyncpg://u@h/db"
    assert load_settings(DATABASE_URL="").database_url.startswith("sqlite+aiosqlite:///")


def test_environment_defaults_apply_only_when_unset() -> None:
    assert load_settings(HUNCH_ENV="prod").log_level == "INFO"
    assert load_settings(HUNCH_ENV="dev").log_level == "DEBUG"
    assert load_settings(HUNCH_ENV="prod", LOG_LEVEL="debug").log_level == "DEBUG"


def test_variables_come_from_dotenv_then_the_environment_then_the_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "# the operator's file\nLOG_LEVEL=error\nSLOW_QUERY_SECONDS=2.5\nexport METRICS_PORT=9100\nUNKNOWN=1\n"
    )
    for name in ("LOG_LEVEL", "SLOW_QUERY_SECONDS", "METRICS_PORT", "TRADE_RATE_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("slow_query_seconds", "1.5")  # any case: the environment wins over .env
    monkeypatch.setenv("TRADE_RATE_LIMIT", "7")

    settings = load_settings(TRADE_RATE_LIMIT="9")  # an argument wins over both

    assert settings.log_level == "ERROR"
    assert settings.slow_query_seconds == 1.5
    assert settings.metrics_port == 9100
    assert settings.trade_rate_limit == 9


def test_a_bad_value_in_dotenv_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_POOL_SIZE", raising=False)
    (tmp_path / ".env").write_text("DATABASE_POOL_SIZE=0\n")
    with pytest.raises(ConfigurationError, match="DATABASE_POOL_SIZE"):
        load_settings()


def test_keyword_arguments_are_names_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "warning")
    assert load_settings(log_level="error").log_level == "ERROR"  # the argument, not the environment
    assert load_settings(hunch_env="prod").hunch_env.value == "prod"


def test_dotenv_may_be_a_named_pipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A secrets manager can hand the file over as a pipe (1Password's environments do)."""
    import os
    import threading

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLOW_QUERY_SECONDS", raising=False)
    os.mkfifo(tmp_path / ".env")

    def write() -> None:
        with open(tmp_path / ".env", "w") as pipe:
            pipe.write("SLOW_QUERY_SECONDS=4\n")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    assert load_settings().slow_query_seconds == 4.0
    writer.join(timeout=5)
