"""The token-binding settings (`DPOP_*`), mixed into `Settings`."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from todo_api.auth.dpop import KEY_TYPES
from todo_api.setting_values import algorithm_list, split_csv

DpopModeName = Literal["off", "optional", "required"]


class DpopSettings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    dpop_mode: DpopModeName = "optional"
    # Asymmetric only; EC and OKP keys are small and cheap to verify.
    dpop_algorithms: Annotated[list[str], NoDecode] = ["ES256", "ES384", "ES512", "EdDSA"]
    dpop_proof_max_age_seconds: int = Field(default=60, ge=1, le=600)
    dpop_replay_cache_size: int = Field(default=100_000, ge=1)
    # `database`: proof ids spent in any worker or replica are refused in all of them (one
    # insert per accepted proof); `memory`: per process, for a single-process backend.
    dpop_replay_store: Literal["database", "memory"] = "database"
    dpop_public_api_url: str | None = None
    # Server nonces (RFC 9449 section 8): proofs must carry a nonce from `DPoP-Nonce`.
    dpop_nonce: bool = False
    dpop_nonce_lifetime_seconds: int = Field(default=300, ge=10, le=3600)
    # Shared by every process of one deployment; random per process when unset.
    dpop_nonce_secret: SecretStr | None = None

    @field_validator("dpop_mode", "dpop_replay_store", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("dpop_algorithms", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return split_csv(value)

    @field_validator("dpop_algorithms")
    @classmethod
    def _asymmetric(cls, value: list[str]) -> list[str]:
        return algorithm_list(value, KEY_TYPES)

    @field_validator("dpop_public_api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parsed = urlsplit(value.strip())
        if parsed.scheme not in {"http", "https"} or not parsed.hostname:
            raise ValueError("must be an http(s) URL")
        if parsed.query or parsed.fragment:
            raise ValueError("must not have a query or fragment")
        return value.strip().rstrip("/")
