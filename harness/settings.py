"""The harness's settings, read from the environment in one place.

A frozen dataclass rather than pydantic-settings: the CLI imports this on every command
and must start in a few tens of milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.config import ModeChoice
from harness.errors import UsageError
from harness.paths import REPO_ROOT


@dataclass(frozen=True)
class HarnessSettings:
    """``HARNESS_*`` variables; see docs/harness.md ("Settings")."""

    # Keys, logs and the saved stack.
    home: Path
    # A developer's stack's secrets and demo account (created from .env.example if missing).
    env_file: Path
    # Provider when none is named (`harness up`, `--stack-mode` absent): auto, local, ...
    mode: ModeChoice
    # A Chromium for the browser suite, tried before Playwright's own and system ones.
    chromium: str | None
    # PostgreSQL server binaries for throw-away clusters (initdb, pg_ctl).
    pg_bin: Path | None
    # CA certificates passed into image builds, first the configured ones:
    # HARNESS_CA_CERTS (files or directories), then NODE_EXTRA_CA_CERTS and SSL_CERT_FILE.
    ca_certs: tuple[Path, ...]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HarnessSettings:
        env = os.environ if env is None else env
        raw_mode = env.get("HARNESS_MODE", "").strip() or ModeChoice.AUTO.value
        try:
            mode = ModeChoice(raw_mode)
        except ValueError:
            choices = ", ".join(choice.value for choice in ModeChoice)
            raise UsageError(f"HARNESS_MODE={raw_mode!r}: use one of {choices}") from None
        pg_bin = env.get("HARNESS_PG_BIN", "").strip()
        return cls(
            home=Path(env.get("HARNESS_HOME", "").strip() or ".harness").resolve(),
            env_file=Path(env.get("HARNESS_ENV_FILE", "").strip() or REPO_ROOT / ".env"),
            mode=mode,
            chromium=env.get("HARNESS_CHROMIUM", "").strip() or None,
            pg_bin=Path(pg_bin) if pg_bin else None,
            ca_certs=(
                *(Path(e) for e in env.get("HARNESS_CA_CERTS", "").split(os.pathsep) if e),
                *(Path(env[n]) for n in ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE") if env.get(n)),
            ),
        )


def settings() -> HarnessSettings:
    """This process's settings, read now (tests and callers may change the environment)."""
    return HarnessSettings.from_env()


def state_dir() -> Path:
    """Where keys, logs and the saved stack live (``HARNESS_HOME``, default ``./.harness``)."""
    return settings().home
