"""How to start a stack: the provider, the trust, and the knobs test stacks turn."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    """Where a stack's services run (one provider each, see ``harness.providers``)."""

    LOCAL = "local"
    CONTAINERS = "containers"
    COMPOSE = "compose"


class ModeChoice(StrEnum):
    """What a user may ask for: a mode, or ``auto`` (the first provider this machine has)."""

    AUTO = "auto"
    LOCAL = "local"
    CONTAINERS = "containers"
    COMPOSE = "compose"


class DpopMode(StrEnum):
    """Token binding (DPoP, docs/security.md), the same for the backend and the frontend."""

    OFF = "off"
    OPTIONAL = "optional"
    REQUIRED = "required"


class Trust(StrEnum):
    """Which keys the backend accepts.

    ``better-auth``: Better Auth's JWKS only (the real flow). ``both``: the mock issuer's
    JWKS, which also serves Better Auth's keys, so minted and real tokens are accepted.
    """

    BOTH = "both"
    BETTER_AUTH = "better-auth"


@dataclass(frozen=True)
class StackConfig:
    """How to start a stack. Ports of 0 mean "pick free ones"."""

    name: str = "harness"
    trust: Trust = Trust.BOTH
    # A developer's stack (`harness up`, `make up`): secrets from `.env` (created when
    # missing) and the demo account seeded. Test stacks use per-run secrets, no demo account.
    development: bool = False
    # `next dev` and `uvicorn --reload` on the sources under `source_root` (default: this
    # checkout) instead of the production build (`make dev`).
    hot_reload: bool = False
    source_root: str | None = None
    frontend_port: int = 0
    backend_port: int = 0
    issuer_port: int = 0
    postgres_port: int = 0
    jwt_expiration: str = "15m"
    # Better Auth's key rotation: (JWKS_ROTATION_INTERVAL, JWKS_GRACE_PERIOD).
    jwks_rotation: tuple[str, str] = ("30d", "1d")
    jwks_cooldown_seconds: float = 30.0
    auth_rate_limit: bool = True
    dpop_mode: DpopMode = DpopMode.OPTIONAL
    # The backend's worker processes (WEB_CONCURRENCY); None: the CPU count (`harness up`).
    # One for test stacks: what a suite counts per process (JWKS fetches, recovery once
    # /readyz is green) is then the whole backend's.
    backend_workers: int | None = 1
