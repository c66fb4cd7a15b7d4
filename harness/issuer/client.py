"""``IssuerClient``: the control interface over HTTP, for an issuer in another process or
container (what the suites and the CLI use against a running stack)."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
from typing_extensions import Unpack

from harness.errors import IssuerError
from harness.issuer.control import FailMode, IssuerStats, MintOptions, mint_request


class IssuerClient:
    """Implements ``IssuerControl`` against the admin API at ``url``."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    @property
    def jwks_url(self) -> str:
        """Where verifiers fetch the keys (counted in ``jwks_hits``)."""
        return f"{self.url}/jwks"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> IssuerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise IssuerError(f"the issuer at {self.url} does not answer: {exc}") from None
        if response.status_code >= 400:
            detail = response.text
            with contextlib.suppress(ValueError):
                detail = str(response.json().get("error", detail))
            raise IssuerError(f"issuer {method} {path}: {response.status_code} {detail}")
        return response.json()

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
            return self._http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False
