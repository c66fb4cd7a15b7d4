"""``IssuerService``: the control interface in-process -- an ``Issuer`` plus what its HTTP
endpoints share (the JWKS hit counter, the failure switch, the upstream key set)."""

from __future__ import annotations

import threading
import time
from typing import Any

from typing_extensions import Unpack

from harness.issuer.control import FAIL_MODES, FailMode, IssuerStats, MintOptions
from harness.issuer.keys import Issuer


class IssuerService:
    """Implements ``IssuerControl`` for an ``Issuer`` in this process. Thread-safe."""

    def __init__(self, issuer: Issuer, upstream_jwks: str | None = None) -> None:
        self.issuer = issuer
        # Another JWKS whose keys the endpoints serve too (e.g. Better Auth's).
        self.upstream_jwks = upstream_jwks
        self._lock = threading.Lock()
        self._hits = 0
        self._fail_mode: FailMode | None = None
        self._fail_until = 0.0

    # -- IssuerControl ------------------------------------------------------------

    def mint(self, sub: str | None, **options: Unpack[MintOptions]) -> str:
        return self.issuer.mint(sub, **options)

    def jwks(self) -> dict[str, Any]:
        return dict(self.issuer.jwks())

    def rotate(self, *, keep_old: bool = True) -> str:
        return self.issuer.rotate(keep_old=keep_old)

    def drop(self, kid: str) -> None:
        self.issuer.drop(kid)

    def fail(self, seconds: float, mode: FailMode = "error") -> None:
        if mode not in FAIL_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAIL_MODES)}")
        with self._lock:
            self._fail_mode = mode
            self._fail_until = time.monotonic() + seconds

    def recover(self) -> None:
        with self._lock:
            self._fail_mode = None
            self._fail_until = 0.0

    def reset(self) -> None:
        with self._lock:
            self._hits = 0
            self._fail_mode = None
            self._fail_until = 0.0

    def stats(self) -> IssuerStats:
        mode, remaining = self.failing()
        with self._lock:
            hits = self._hits
        return IssuerStats(
            jwks_hits=hits,
            kids=self.issuer.kids,
            current_kid=self.issuer.kid,
            failing=mode,
            failing_for=round(remaining, 3),
            issuer=self.issuer.issuer,
            audience=self.issuer.audience,
            upstream_jwks=self.upstream_jwks,
        )

    @property
    def kid(self) -> str:
        return self.issuer.kid

    @property
    def jwks_hits(self) -> int:
        with self._lock:
            return self._hits

    # -- what the JWKS endpoints use ------------------------------------------------

    def count_hit(self) -> None:
        with self._lock:
            self._hits += 1

    def failing(self) -> tuple[FailMode | None, float]:
        """The injected failure now in force, and how long it lasts still."""
        with self._lock:
            remaining = self._fail_until - time.monotonic()
            if self._fail_mode is None or remaining <= 0:
                return None, 0.0
            return self._fail_mode, remaining
