"""Configuration from the environment (and a `.env` file when present), validated once at start-up.

Each variable is read by its name, in any case (keyword arguments too); the environment wins over `.env`, and
keyword arguments over both; `.env` may be a named pipe. That is what pydantic-settings did here; plain pydantic
does it without importing pydantic-settings, which took 25 ms of every Lambda cold start (python3.12, the
artifact, the 2-core development machine).
"""

from __future__ import annotations

import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./hunch.sqlite3"
ENV_FILE = ".env"  # in the working directory


class Environment(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class PoolMode(StrEnum):
    POOL = "pool"
    NULLPOOL = "nullpool"  # behind PgBouncer / RDS Proxy in transaction mode


# Per-environment defaults, applied only where the variable was not set explicitly.
_ENV_DEFAULTS: dict[Environment, dict[str, Any]] = {
    Environment.DEV: {"log_level": "DEBUG"},
    Environment.STAGING: {"log_level": "INFO"},
    Environment.PROD: {"log_level": "INFO"},
}


def normalise_database_url(url: str) -> str:
    """`postgres://` and `postgresql://` both mean asyncpg; SQLite means aiosqlite."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_default=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**(_environment() | _by_name(values)))

    hunch_env: Environment = Field(default=Environment.DEV, validation_alias="HUNCH_ENV")
    discord_public_key: str = Field(default="", validation_alias="DISCORD_PUBLIC_KEY")
    discord_application_id: str = Field(default="", validation_alias="DISCORD_APPLICATION_ID")
    discord_bot_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_BOT_TOKEN")
    database_url: str = Field(default=DEFAULT_SQLITE_URL, validation_alias="DATABASE_URL")
    database_pool_mode: PoolMode = Field(default=PoolMode.POOL, validation_alias="DATABASE_POOL_MODE")
    database_pool_size: Annotated[int, Field(ge=1, le=100)] = Field(default=5, validation_alias="DATABASE_POOL_SIZE")
    redis_url: SecretStr | None = Field(default=None, validation_alias="REDIS_URL")
    signature_max_age_seconds: Annotated[int, Field(ge=0)] = Field(
        default=300, validation_alias="SIGNATURE_MAX_AGE_SECONDS"
    )
    log_level: str = Field(default="", validation_alias="LOG_LEVEL")
    interaction_retention_hours: Annotated[float, Field(ge=1)] = Field(
        default=24.0, validation_alias="INTERACTION_RETENTION_HOURS"
    )
    discord_api_base_url: str = Field(default="https://discord.com/api/v10", validation_alias="DISCORD_API_BASE_URL")
    live_update_interval_seconds: Annotated[float, Field(ge=0)] = Field(
        default=3.0, validation_alias="LIVE_UPDATE_INTERVAL_SECONDS"
    )
    deferred_settlement_holders: Annotated[int, Field(ge=0)] = Field(
        default=5000, validation_alias="DEFERRED_SETTLEMENT_HOLDERS"
    )
    slow_query_seconds: Annotated[float, Field(ge=0)] = Field(default=0.5, validation_alias="SLOW_QUERY_SECONDS")
    worker_in_process: bool = Field(default=True, validation_alias="WORKER_IN_PROCESS")
    worker_poll_seconds: Annotated[float, Field(gt=0)] = Field(default=5.0, validation_alias="WORKER_POLL_SECONDS")
    worker_max_attempts: Annotated[int, Field(ge=1)] = Field(default=8, validation_alias="WORKER_MAX_ATTEMPTS")
    worker_queue_url: str = Field(default="", validation_alias="WORKER_QUEUE_URL")
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = Field(default=0, validation_alias="METRICS_PORT")
    trade_rate_limit: Annotated[int, Field(ge=1)] = Field(default=10, validation_alias="TRADE_RATE_LIMIT")
    trade_rate_window_seconds: Annotated[float, Field(gt=0)] = Field(
        default=10.0, validation_alias="TRADE_RATE_WINDOW_SECONDS"
    )
    guild_trade_rate_limit: Annotated[int, Field(ge=1)] = Field(default=200, validation_alias="GUILD_TRADE_RATE_LIMIT")
    guild_trade_rate_window_seconds: Annotated[float, Field(gt=0)] = Field(
        default=10.0, validation_alias="GUILD_TRADE_RATE_WINDOW_SECONDS"
    )
    market_create_rate_limit: Annotated[int, Field(ge=1)] = Field(
        default=3, validation_alias="MARKET_CREATE_RATE_LIMIT"
    )
    market_create_rate_window_seconds: Annotated[float, Field(gt=0)] = Field(
        default=60.0, validation_alias="MARKET_CREATE_RATE_WINDOW_SECONDS"
    )

    @field_validator("discord_public_key")
    @classmethod
    def _hex_key(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                raw = bytes.fromhex(value)
            except ValueError:
                raise ValueError("must be a hex string (the app's public key from the developer portal)") from None
            if len(raw) != 32:
                raise ValueError("must be 64 hex characters (a 32-byte Ed25519 public key)")
        return value.lower()

    @field_validator("discord_application_id")
    @classmethod
    def _snowflake(cls, value: str) -> str:
        value = value.strip()
        if value and not value.isdigit():
            raise ValueError("must be the numeric application id")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip() or DEFAULT_SQLITE_URL
        value = normalise_database_url(value)
        if not (value.startswith("postgresql+asyncpg://") or value.startswith("sqlite+aiosqlite://")):
            raise ValueError("must be a postgres:// / postgresql:// URL or a sqlite:// path")
        return value

    @field_validator("discord_api_base_url")
    @classmethod
    def _api_base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL, like https://discord.com/api/v10")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value and value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value

    @model_validator(mode="after")
    def _environment_defaults(self) -> Settings:
        for name, value in _ENV_DEFAULTS[self.hunch_env].items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """Each variable's name in lower case: its name as `Settings` declares it (the field's alias, else the field)."""
    names = [f.validation_alias if isinstance(f.validation_alias, str) else n for n, f in Settings.model_fields.items()]
    return {name.lower(): name for name in names}


def _by_name(values: dict[str, Any]) -> dict[str, Any]:
    names = _names()
    return {names.get(key.lower(), key): value for key, value in values.items()}


def _environment() -> dict[str, str]:
    """The variables `Settings` reads, by their names: from `.env` when there is one, then the environment."""
    names = _names()
    found: dict[str, str] = {}
    env_file = Path(ENV_FILE)
    if env_file.is_file() or env_file.is_fifo():  # a pipe: a secrets manager's `.env`
        from dotenv import dotenv_values

        for key, value in dotenv_values(env_file, encoding="utf-8").items():
            if value is not None and key.lower() in names:
                found[names[key.lower()]] = value
    for key, value in os.environ.items():
        if key.lower() in names:
            found[names[key.lower()]] = value
    return found


class ConfigurationError(Exception):
    """Raised with a message that names every bad variable."""


def load_settings(**overrides: Any) -> Settings:
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = err["loc"][0] if err["loc"] else "?"
            problems.append(f"{str(loc).upper()}: {err['msg']}")
        raise ConfigurationError("Invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
