"""Client for a running mock issuer's HTTP API (in-process, local process or container)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx


class IssuerError(RuntimeError):
    """The issuer refused an admin request; the message carries its answer."""


class IssuerClient:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> IssuerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=body)
        if response.status_code >= 400:
            raise IssuerError(f"issuer {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def mint(
        self,
        sub: str | None,
        *,
        ttl: float = 900,
        claims: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        kid: str | None = None,
        alg: str | None = None,
        nbf: float | None = None,
        iat: float | None = None,
        omit: Iterable[str] = (),
    ) -> str:
        body: dict[str, Any] = {"sub": sub, "ttl": ttl, "omit": list(omit)}
        for name, value in (
            ("claims", claims),
            ("headers", headers),
            ("kid", kid),
            ("alg", alg),
            ("nbf", nbf),
            ("iat", iat),
        ):
            if value is not None:
                body[name] = dict(value) if isinstance(value, Mapping) else value
        token: str = self._call("POST", "/admin/mint", body)["token"]
        return token

    def jwks(self) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", "/jwks")
        return data

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", "/admin/stats")
        return data

    @property
    def jwks_hits(self) -> int:
        return int(self.stats()["jwks_hits"])

    @property
    def kid(self) -> str:
        return str(self.stats()["current_kid"])

    def rotate(self, *, keep_old: bool = True) -> str:
        return str(self._call("POST", "/admin/rotate", {"keep_old": keep_old})["kid"])

    def drop(self, kid: str) -> None:
        self._call("POST", "/admin/drop", {"kid": kid})

    def fail(self, seconds: float, mode: str = "error") -> None:
        self._call("POST", "/admin/fail", {"seconds": seconds, "mode": mode})

    def recover(self) -> None:
        self._call("POST", "/admin/recover")

    def reset(self) -> None:
        self._call("POST", "/admin/reset")

    def healthy(self) -> bool:
        try:
            return self._http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False
