"""Configuration: secrets never shown, clear errors naming the bad variable, database URL forms and defaults."""

from __future__ import annotations

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
