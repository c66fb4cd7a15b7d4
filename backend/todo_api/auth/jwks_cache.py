"""Process-wide cache of the issuer's public keys, looked up by `kid`.

Rules (docs/backend.md, "JWKS cache"):
- fetched at first use; every later fetch is either a refresh of a set older than
  `max_age` or a refetch for an unknown kid, and request-driven fetch attempts happen
  at most once per `cooldown`, so random kids cannot cause a fetch storm;
- concurrent misses share one in-flight fetch (single flight);
- a failed fetch keeps the keys already known (stale-while-error);
- kids still missing after a fetch are remembered (negative cache) until the key set
  changes or the set is refreshed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Collection
from typing import Any

import httpx
import jwt
from jwt.exceptions import PyJWKError

logger = logging.getLogger("todo_api.jwks")

MAX_JWKS_BYTES = 256 * 1024
MAX_NEGATIVE_ENTRIES = 4096


class JwksUnavailable(Exception):
    """The kid is not cached and the key set cannot be fetched right now."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"JWKS unavailable, retry after {retry_after}s")
        self.retry_after = retry_after


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        algorithms: Collection[str],
        cooldown: float = 30.0,
        max_age: float = 600.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._algorithms = frozenset(algorithms)
        self._cooldown = cooldown
        self._max_age = max_age
        self._timeout = timeout
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fingerprint: dict[str, str] = {}
        self._missing: set[str] = set()
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._last_ok = False
        self._inflight: asyncio.Task[None] | None = None
        self.version = 0
        """Bumped whenever the set of keys changes; lets callers drop derived caches."""
        self.fetch_count = 0

    async def get(self, kid: str) -> jwt.PyJWK | None:
        """The key for `kid`, None if the issuer does not publish it.

        Raises JwksUnavailable when the kid is not cached and no key set can be had.
        """
        fetched = False
        if self._is_stale() and self._may_attempt():
            fetch = self._start_fetch()
            cached = self._keys.get(kid)
            if cached is not None:
                return cached  # serve the known key while the refresh runs
            await asyncio.shield(fetch)
            fetched = True
        elif kid not in self._keys and kid not in self._missing and self._may_attempt():
            # shield: a client that disconnects must not cancel a fetch others wait on.
            await asyncio.shield(self._start_fetch())
            fetched = True
        key = self._keys.get(kid)
        if key is not None:
            return key
        if self._last_ok:
            # Only a kid a fetch has looked for is known to be missing: one first seen during
            # the cool-down (e.g. just after a rotation) must get its refetch once it ends.
            if fetched:
                self._remember_missing(kid)
            return None
        raise JwksUnavailable(self._retry_after())

    @property
    def refreshing(self) -> bool:
        return self._inflight is not None

    async def aclose(self) -> None:
        if self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _is_stale(self) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= self._max_age

    def _may_attempt(self) -> bool:
        if self._inflight is not None:
            return True  # joining a fetch in progress costs the issuer nothing
        return self._attempted_at is None or self._clock() - self._attempted_at >= self._cooldown

    def _retry_after(self) -> int:
        if self._attempted_at is None:
            return 1
        remaining = self._cooldown - (self._clock() - self._attempted_at)
        return max(1, math.ceil(remaining))

    def _remember_missing(self, kid: str) -> None:
        if len(self._missing) >= MAX_NEGATIVE_ENTRIES:
            self._missing.clear()
        self._missing.add(kid)

    def _start_fetch(self) -> asyncio.Task[None]:
        if self._inflight is None:
            self._attempted_at = self._clock()
            self._inflight = asyncio.create_task(self._fetch())
            self._inflight.add_done_callback(self._clear_inflight)
        return self._inflight

    def _clear_inflight(self, task: asyncio.Task[None]) -> None:
        if self._inflight is task:
            self._inflight = None

    async def _fetch(self) -> None:
        self.fetch_count += 1
        try:
            document = await self._download()
            keys, fingerprint = self._parse(document)
        except Exception as exc:  # any failure means "unavailable"; keep what we have
            self._last_ok = False
            logger.warning(
                "JWKS fetch failed; keeping %d cached key(s)",
                len(self._keys),
                extra={"jwks_url": self.url, "error": type(exc).__name__},
            )
            return
        self._last_ok = True
        self._loaded_at = self._clock()
        self._missing.clear()
        if fingerprint != self._fingerprint:
            self._keys, self._fingerprint = keys, fingerprint
            self.version += 1
            logger.info(
                "JWKS loaded",
                extra={"jwks_url": self.url, "kids": sorted(keys), "version": self.version},
            )

    async def _download(self) -> Any:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        # The overall deadline also bounds a server that trickles bytes forever.
        async with asyncio.timeout(self._timeout):
            response = await self._client.get(self.url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise ValueError(f"JWKS answered HTTP {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise ValueError("JWKS document too large")
        try:
            return json.loads(response.content)
        except json.JSONDecodeError:
            raise ValueError("JWKS is not JSON") from None

    def _parse(self, document: Any) -> tuple[dict[str, jwt.PyJWK], dict[str, str]]:
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("JWKS has no 'keys' list")
        keys: dict[str, jwt.PyJWK] = {}
        fingerprint: dict[str, str] = {}
        for entry in document["keys"]:
            if not isinstance(entry, dict):
                continue
            kid = entry.get("kid")
            # Private material or non-signing keys are never used, whatever else they say.
            if not isinstance(kid, str) or not kid or kid in keys or "d" in entry:
                continue
            if entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(entry)
            except (PyJWKError, ValueError, TypeError):
                logger.warning("JWKS entry skipped: unusable key", extra={"kid": kid})
                continue
            if key.algorithm_name not in self._algorithms:
                continue
            keys[kid] = key
            fingerprint[kid] = json.dumps(entry, sort_keys=True)
        return keys, fingerprint
