"""Process-wide cache of the issuer's public keys, looked up by `kid`.

Rules (docs/backend.md, "JWKS cache"):
- fetched at first use; every later fetch is either a refresh of a set older than
  `max_age` (or than the issuer's Cache-Control max-age, when shorter) or a refetch for
  an unknown kid, and request-driven fetch attempts happen at most once per `cooldown`,
  so random kids cannot cause a fetch storm;
- concurrent misses share one in-flight fetch (single flight);
- a failed fetch keeps the keys already known (stale-while-error);
- a kid is known to be missing once a fetch that started after it was first asked for
  succeeded without it, or once a key set no longer publishes it (negative cache, bounded,
  until a key set publishes it); a kid no such fetch has looked for is "not known yet"
  (`JwksUnavailable`, temporary), never missing: a rotation must not sign anyone out;
- the document is read with a byte budget on the wire, uncompressed, and only public
  signing keys of an allowed algorithm and adequate size are used.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.exceptions import PyJWKError

logger = logging.getLogger("todo_api.jwks")

MAX_JWKS_BYTES = 256 * 1024
MAX_NEGATIVE_ENTRIES = 4096
MAX_KID_LENGTH = 256
MIN_RSA_BITS = 2048
# JWK members that only a private or symmetric key has (RFC 7518 sections 6.2.2, 6.3.2, 6.4).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class JwksUnavailable(Exception):
    """The kid is not cached and no key set that could name it can be had right now."""

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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self._algorithms = frozenset(algorithms)
        self._cooldown = cooldown
        self._max_age = max_age
        self._timeout = timeout
        self._clock = clock
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fingerprint: dict[str, str] = {}
        self._missing: set[str] = set()
        # Kids the last document published but that may not be used (see `_parse`).
        self._unusable: frozenset[str] = frozenset()
        self._loaded_at: float | None = None
        # The issuer's Cache-Control max-age for the set in hand, never above `max_age`.
        self._fresh_for = max_age
        self._attempted_at: float | None = None
        self._last_ok = False
        # Fetches are numbered as they start; `_ok_serial` is the last one that succeeded.
        self._started = 0
        self._ok_serial = 0
        self._inflight: asyncio.Task[None] | None = None
        self.version = 0
        """Bumped whenever the set of keys changes; lets callers drop derived caches."""
        self.fetch_count = 0

    async def get(self, kid: str) -> jwt.PyJWK | None:
        """The key for `kid`, None if the issuer does not publish it.

        Raises JwksUnavailable when the kid is not cached and no fetch that started after
        this call has succeeded: the key set cannot be fetched, or the cool-down forbids
        a fetch and the kid may be a key published since the last one (a rotation).
        """
        asked_after = self._started
        if self._is_stale() and self._may_attempt():
            fetch = self._start_fetch()
            cached = self._keys.get(kid)
            if cached is not None:
                return cached  # serve the known key while the refresh runs
            await asyncio.shield(fetch)
        elif self._unknown(kid) and self._may_attempt():
            # shield: a client that disconnects must not cancel a fetch others wait on.
            await asyncio.shield(self._start_fetch())
        key = self._keys.get(kid)
        if key is not None:
            return key
        if self._last_ok and (kid in self._missing or kid in self._unusable):
            return None
        if self._last_ok and self._ok_serial > asked_after:
            self._remember_missing(kid)
            return None
        raise JwksUnavailable(self._retry_after())

    def peek(self, kid: str) -> jwt.PyJWK | None:
        """The cached key for `kid` without fetching; starts a due refresh in the background.

        For callers that already hold a result derived from a key (the verified-token
        cache): they must stop using it once the key is gone, and only a refresh tells.
        """
        if self._is_stale() and self._may_attempt():
            self._start_fetch()
        return self._keys.get(kid)

    @property
    def refreshing(self) -> bool:
        return self._inflight is not None

    async def aclose(self) -> None:
        if self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _unknown(self, kid: str) -> bool:
        return kid not in self._keys and kid not in self._missing and kid not in self._unusable

    def _is_stale(self) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= self._fresh_for

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
            self._started += 1
            self._inflight = asyncio.create_task(self._fetch(self._started))
            self._inflight.add_done_callback(self._clear_inflight)
        return self._inflight

    def _clear_inflight(self, task: asyncio.Task[None]) -> None:
        if self._inflight is task:
            self._inflight = None

    async def _fetch(self, serial: int) -> None:
        self.fetch_count += 1
        try:
            document, fresh_for = await self._download()
            keys, fingerprint, unusable = self._parse(document)
        except Exception as exc:  # any failure means "unavailable"; keep what we have
            self._last_ok = False
            logger.warning(
                "JWKS fetch failed; keeping %d cached key(s)",
                len(self._keys),
                extra={"jwks_url": self.url, "error": type(exc).__name__, "detail": str(exc)},
            )
            return
        self._last_ok = True
        self._ok_serial = serial
        self._loaded_at = self._clock()
        self._fresh_for = self._max_age if fresh_for is None else min(self._max_age, fresh_for)
        # Every successful fetch is a whole key set: kids it publishes are no longer missing,
        # and kids it no longer publishes (a removed or revoked key) now are.
        for kid in self._keys.keys() - keys.keys():
            self._remember_missing(kid)
        self._missing -= keys.keys()
        self._unusable = unusable
        if fingerprint != self._fingerprint:
            self._keys, self._fingerprint = keys, fingerprint
            self.version += 1
            logger.info(
                "JWKS loaded",
                extra={"jwks_url": self.url, "kids": sorted(keys), "version": self.version},
            )

    async def _download(self) -> tuple[Any, float | None]:
        """The document and the issuer's max-age for it (None: it did not say)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout, follow_redirects=False, transport=self._transport
            )
        # identity: the size budget must hold for what is held in memory, and a compressed
        # body is only known to fit once it has been inflated.
        headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
        # The overall deadline also bounds a server that trickles bytes forever.
        async with (
            asyncio.timeout(self._timeout),
            self._client.stream("GET", self.url, headers=headers) as response,
        ):
            if response.status_code != 200:
                raise ValueError(f"JWKS answered HTTP {response.status_code}")
            body = await _read_bounded(response, MAX_JWKS_BYTES)
            fresh_for = _max_age(response.headers.get("cache-control", ""))
        try:
            return json.loads(body), fresh_for
        except (ValueError, RecursionError):
            raise ValueError("JWKS is not JSON") from None

    def _parse(self, document: Any) -> tuple[dict[str, jwt.PyJWK], dict[str, str], frozenset[str]]:
        """Usable keys by kid, their fingerprints, and the kids published but not usable."""
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("JWKS has no 'keys' list")
        keys: dict[str, jwt.PyJWK] = {}
        fingerprint: dict[str, str] = {}
        unusable: set[str] = set()
        seen: set[str] = set()
        for entry in document["keys"]:
            if not isinstance(entry, dict):
                continue
            kid = entry.get("kid")
            if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH or kid in seen:
                continue  # a repeated kid is ambiguous: the first entry decides
            seen.add(kid)
            refusal, key = _judge(entry, self._algorithms)
            if key is None:
                if refusal is not None:
                    logger.warning("JWKS entry skipped: %s", refusal, extra={"kid": kid})
                unusable.add(kid)
                continue
            keys[kid] = key
            fingerprint[kid] = json.dumps(entry, sort_keys=True)
        return keys, fingerprint, frozenset(unusable)


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The body as sent, refused as soon as it is known to exceed `limit` bytes."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ValueError(f"JWKS sent with Content-Encoding {encoding!r}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ValueError("JWKS document too large")
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > limit:
            raise ValueError("JWKS document too large")
    return bytes(body)


def _judge(
    entry: Mapping[str, Any], algorithms: frozenset[str]
) -> tuple[str | None, jwt.PyJWK | None]:
    """The key an entry may verify with, or why not (None: another algorithm, not a fault)."""
    refusal = _unusable(entry)
    if refusal is not None:
        return refusal, None
    key = _load(entry)
    if key is None:
        return "not a valid public key", None
    if key.algorithm_name not in algorithms:
        return None, None
    if _too_weak(key):
        return f"RSA modulus shorter than {MIN_RSA_BITS} bits", None
    return None, key


def _max_age(cache_control: str) -> float | None:
    """Seconds the issuer lets the set be reused (RFC 9111 section 5.2.2). Only an explicit
    max-age counts: no-store/no-cache address HTTP caches, and a key cache that refetched
    on every use would turn each request into a fetch attempt."""
    for directive in cache_control.lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name == "max-age" and value.strip().strip('"').isdigit():
            return float(value.strip().strip('"'))
    return None


def _unusable(entry: Mapping[str, Any]) -> str | None:
    """Why a JWK must not verify signatures, judged from its members alone."""
    if PRIVATE_MEMBERS & entry.keys():
        # A published private or symmetric key is compromised: anyone can sign with it.
        return "private or symmetric key material published"
    if "use" in entry and entry["use"] != "sig":
        return "'use' is not 'sig'"
    if "key_ops" in entry:
        ops = entry["key_ops"]
        if not isinstance(ops, list) or "verify" not in ops:
            return "'key_ops' does not include 'verify'"
    return None


def _load(entry: Mapping[str, Any]) -> jwt.PyJWK | None:
    try:
        return jwt.PyJWK(dict(entry))
    except (PyJWKError, ValueError, TypeError):
        return None


def _too_weak(key: jwt.PyJWK) -> bool:
    material = key.key
    return isinstance(material, rsa.RSAPublicKey) and material.key_size < MIN_RSA_BITS
