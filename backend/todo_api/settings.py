"""Configuration from environment variables only (names are a fixed interface)."""

from __future__ import annotations

import ipaddress
import sys
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from todo_api.dpop_settings import DpopSettings
from todo_api.setting_values import algorithm_list, split_csv

# Asymmetric algorithms only: a symmetric one would let anyone holding the
# public JWKS mint tokens (the classic RS256 -> HS256 confusion).
SUPPORTED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class DatabaseSettings(BaseSettings):
    """The part of the configuration that migrations need (no auth settings)."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    database_url: str = "sqlite:///./todo.db"
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    db_pool_size: int = Field(default=10, ge=1, le=200)

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        # Accept the libpq spellings too, but always drive PostgreSQL with psycopg 3.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                value = "postgresql+psycopg://" + value[len(prefix) :]
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a valid database URL") from None
        if url.drivername not in {"sqlite", "postgresql+psycopg"}:
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://...")
        return value


class Settings(DatabaseSettings, DpopSettings):
    jwks_url: str
    jwt_issuer: str = Field(min_length=1)
    jwt_audience: str = Field(min_length=1)
    jwt_algorithms: Annotated[list[str], NoDecode] = ["RS256"]
    cors_origins: Annotated[list[str], NoDecode] = ["http://localhost:3000"]
    log_level: LogLevel = "INFO"
    jwks_cooldown_seconds: float = Field(default=30.0, gt=0)
    jwks_max_age_seconds: float = Field(default=600.0, gt=0)
    jwks_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=30)
    # Longest token life accepted (exp - iat, and exp - now): Better Auth issues 15 minutes.
    jwt_max_lifetime_seconds: int = Field(default=3600, ge=60, le=86400)
    verified_token_cache_size: int = Field(default=1024, ge=0)
    migrate_on_start: bool = True
    # Read by uvicorn itself (its --forwarded-allow-ips); declared here so a malformed value
    # stops the process and the policy is in one place. Empty: no proxy is trusted.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = []

    @field_validator("jwks_url")
    @classmethod
    def _check_jwks_url(cls, value: str) -> str:
        parsed = urlsplit(value)
        if parsed.scheme not in {"http", "https"} or not parsed.hostname:
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("jwt_algorithms", "cors_origins", "forwarded_allow_ips", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return split_csv(value)

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin == "*":
                # Credentials are allowed, so a wildcard would let every site read the API
                # with its visitors' credentials (Starlette then echoes any Origin).
                raise ValueError("'*' is not allowed (credentials are); list the origins")
            if not _is_origin(origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path)")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return value

    @field_validator("jwt_algorithms")
    @classmethod
    def _check_algorithms(cls, value: list[str]) -> list[str]:
        return algorithm_list(value, SUPPORTED_ALGORITHMS)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def _is_origin(value: str) -> bool:
    """Exactly what browsers send in `Origin`: scheme, host and optional port, nothing else."""
    try:
        parsed = urlsplit(value)
        parsed.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    return (
        parsed.scheme in {"http", "https"}
        and bool(parsed.hostname)
        and not parsed.username
        and not parsed.password
        # Browsers send the host in lower case; another spelling would never match.
        and value == f"{parsed.scheme}://{parsed.netloc.lower()}"
    )


def describe_error(exc: ValidationError | SettingsError) -> str:
    """One line naming each offending environment variable, never its value."""
    if isinstance(exc, SettingsError):
        return str(exc)
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        name = ".".join(str(part) for part in error["loc"]).upper() or "settings"
        parts.append(f"{name}: {error['msg']}")
    return "; ".join(parts)


# uvicorn's own variable: the proxies whose X-Forwarded-For names the client (docs/backend.md).
PROXY_TRUST_VARIABLE = "FORWARDED_ALLOW_IPS"


def load_settings() -> Settings:
    """Settings from the environment, or exit 2 with one line naming what is wrong."""
    try:
        return Settings()  # required values come from the environment
    except (ValidationError, SettingsError) as exc:
        # One line, no traceback: the operator needs the variable's name, not our stack.
        print(f"configuration error: {describe_error(exc)}", file=sys.stderr)
        raise SystemExit(2) from None
