"""``IssuerClient``: the control interface over HTTP, for an issuer in another process or
container (what the suites and the CLI use against a running stack).

The standard library's HTTP client rather than httpx: `harness mint-token` must start in
a few hundred milliseconds, and importing httpx alone costs about 0.3 s.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from typing import Any

from typing_extensions import Unpack

from harness.errors import IssuerError
from harness.issuer.control import FailMode, IssuerStats, MintOptions, mint_request


class IssuerClient:
    """Implements ``IssuerControl`` against the admin API at ``url``. Thread-safe."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    @property
    def jwks_url(self) -> str:
        """Where verifiers fetch the keys (counted in ``jwks_hits``)."""
        return f"{self.url}/jwks"

    def close(self) -> None:
        """Nothing to release (no connection is kept); for ``with`` and symmetry."""

    def __enter__(self) -> IssuerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the issuer's own http(s) URL
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            with contextlib.suppress(ValueError, AttributeError):
                detail = str(json.loads(detail).get("error", detail))
            raise IssuerError(f"issuer {method} {path}: {exc.code} {detail}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise IssuerError(f"the issuer at {self.url} does not answer: {reason}") from None

    # -- IssuerControl ------------------------------------------------------------

    def mint(self, sub: str | None, **options: Unpack[MintOptions]) -> str:
        token: str = self._call("POST", "/admin/mint", mint_request(sub, options))["token"]
        return token

    def jwks(self) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", "/admin/jwks")
        return data

    def rotate(self, *, keep_old: bool = True) -> str:
        return str(self._call("POST", "/admin/rotate", {"keep_old": keep_old})["kid"])

    def drop(self, kid: str) -> None:
        self._call("POST", "/admin/drop", {"kid": kid})

    def fail(self, seconds: float, mode: FailMode = "error") -> None:
        self._call("POST", "/admin/fail", {"seconds": seconds, "mode": mode})

    def recover(self) -> None:
        self._call("POST", "/admin/recover")

    def reset(self) -> None:
        self._call("POST", "/admin/reset")

    def stats(self) -> IssuerStats:
        return IssuerStats.from_json(self._call("GET", "/admin/stats"))

    @property
    def kid(self) -> str:
        return self.stats().current_kid

    @property
    def jwks_hits(self) -> int:
        return self.stats().jwks_hits

    def healthy(self) -> bool:
        try:
            self._call("GET", "/healthz")
        except IssuerError:
            return False
        return True
