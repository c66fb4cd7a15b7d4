"""The JWKS cache and the documents it is served: size on the wire, encodings, unusable keys,
and which fetches may declare a kid missing. Real HTTP from a server that sends anything."""

from __future__ import annotations

import asyncio
import json
import logging
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import jwt
import pytest
from backend_support import DocumentServer, FakeClock, Reply, eventually
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from todo_api.auth import JwksCache, JwksUnavailable
from todo_api.auth.jwks_cache import MAX_JWKS_BYTES

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024
# Generous for a 256 KiB budget plus one network read, far below what inflating would cost.
MEMORY_BOUND = 4 * MIB
COOLDOWN = 30.0


@pytest.fixture
def server() -> Iterator[DocumentServer]:
    with DocumentServer() as running:
        yield running


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def cache(server: DocumentServer, clock: FakeClock) -> AsyncIterator[JwksCache]:
    keys = JwksCache(server.url, algorithms=["RS256"], cooldown=COOLDOWN, timeout=10.0, clock=clock)
    yield keys
    await keys.aclose()


def rsa_jwk(kid: str, bits: int = 2048, **members: Any) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", **members}


def gzip_of_zeros(size: int) -> bytes:
    """A gzip member inflating to `size` zero bytes, built without holding them."""
    packer = zlib.compressobj(wbits=31)
    block = bytes(MIB)
    parts = [packer.compress(block) for _ in range(size // MIB)]
    return b"".join(parts) + packer.flush()


async def peak_memory_of(fetch: Any) -> int:
    tracemalloc.start()
    try:
        await fetch
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def refused(cache: JwksCache, kid: str = "any") -> None:
    with pytest.raises(JwksUnavailable):
        await cache.get(kid)


async def test_compressed_key_set_is_refused_without_being_inflated(
    server: DocumentServer, cache: JwksCache
) -> None:
    bomb = gzip_of_zeros(64 * MIB)
    assert len(bomb) < MAX_JWKS_BYTES  # small on the wire: only inflating makes it large
    server.reply = Reply(
        chunks=[bomb], headers={"Content-Encoding": "gzip", "Content-Length": str(len(bomb))}
    )
    peak = await peak_memory_of(refused(cache))
    assert peak < MEMORY_BOUND, f"{peak / MIB:.1f} MiB held while refusing"
    assert cache.fetch_count == 1


async def test_even_a_small_compressed_key_set_is_refused(
    server: DocumentServer, cache: JwksCache
) -> None:
    body = zlib.compress(json.dumps({"keys": [rsa_jwk("k1")]}).encode(), wbits=31)
    server.reply = Reply(chunks=[body], headers={"Content-Encoding": "gzip"})
    await refused(cache, "k1")


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_oversized_key_set_is_cut_off_at_the_budget(
    server: DocumentServer, cache: JwksCache, declared: bool
) -> None:
    chunk = b" " * (64 * 1024)
    chunks = [chunk] * 256  # 16 MiB of whitespace, the same buffer sent again and again
    headers = {"Content-Length": str(len(chunk) * len(chunks))} if declared else {}
    server.reply = Reply(chunks=chunks, headers=headers)
    peak = await peak_memory_of(refused(cache))
    assert peak < MEMORY_BOUND, f"{peak / MIB:.1f} MiB held while refusing"


async def test_a_key_set_at_the_budget_is_read(server: DocumentServer, cache: JwksCache) -> None:
    document = json.dumps({"keys": [rsa_jwk("k1")]}).encode()
    padded = document[:-1] + b" " * (MAX_JWKS_BYTES - len(document)) + b"}"
    assert len(padded) == MAX_JWKS_BYTES
    server.reply = Reply(chunks=[padded], headers={})
    assert await cache.get("k1") is not None


async def test_only_public_signing_keys_of_adequate_size_are_used(
    server: DocumentServer, cache: JwksCache, caplog: pytest.LogCaptureFixture
) -> None:
    good = rsa_jwk("good")
    private_numbers = {"p": "AQAB", "q": "AQAB", "dp": "AQAB", "dq": "AQAB", "qi": "AQAB"}
    unusable = {
        "rsa-1024": rsa_jwk("rsa-1024", bits=1024),
        "use-enc": rsa_jwk("use-enc", use="enc"),
        "use-not-a-string": rsa_jwk("use-not-a-string", use=["sig"]),
        "key-ops-encrypt": rsa_jwk("key-ops-encrypt", key_ops=["encrypt"]),
        "key-ops-not-a-list": rsa_jwk("key-ops-not-a-list", key_ops="verify"),
        "private-d": rsa_jwk("private-d", d="AQAB"),
        "private-crt-only": {**rsa_jwk("private-crt-only"), **private_numbers},
        "symmetric": {"kty": "oct", "k": "c2VjcmV0", "alg": "RS256", "kid": "symmetric"},
    }
    server.serve({"keys": [good, *unusable.values()]})
    caplog.set_level(logging.WARNING, logger="todo_api.jwks")

    assert isinstance(await cache.get("good"), jwt.PyJWK)
    for kid in unusable:
        assert await cache.get(kid) is None, kid
    skipped = {
        getattr(record, "kid", None)
        for record in caplog.records
        if record.getMessage().startswith("JWKS entry skipped")
    }
    assert skipped == set(unusable)
    assert cache.fetch_count == 1


async def test_signing_keys_with_explicit_use_and_key_ops_are_used(
    server: DocumentServer, cache: JwksCache
) -> None:
    server.serve({"keys": [rsa_jwk("k1", use="sig", key_ops=["verify"])]})
    assert await cache.get("k1") is not None


async def test_kid_asked_for_while_an_older_fetch_runs_is_not_taken_as_missing(
    server: DocumentServer, cache: JwksCache, clock: FakeClock
) -> None:
    """A fetch that began before a kid was first asked for may predate its key (a rotation
    between the request and the response): it cannot prove the kid missing."""
    server.serve({"keys": [rsa_jwk("old")]})
    server.release.clear()
    first = asyncio.create_task(cache.get("unknown"))
    await eventually(lambda: cache.refreshing)
    joined = asyncio.create_task(cache.get("new"))
    await asyncio.sleep(0.05)
    server.release.set()

    assert await first is None  # its own fetch looked for it: missing
    with pytest.raises(JwksUnavailable) as unavailable:
        await joined
    assert unavailable.value.retry_after >= 1
    assert server.hits == 1

    new = rsa_jwk("new")
    server.serve({"keys": [rsa_jwk("old"), new]})
    clock.advance(COOLDOWN)
    assert await cache.get("new") is not None
    assert server.hits == 2


async def test_kid_first_seen_during_the_cooldown_is_unavailable_until_a_fetch_looks(
    server: DocumentServer, cache: JwksCache, clock: FakeClock
) -> None:
    server.serve({"keys": [rsa_jwk("old")]})
    assert await cache.get("old") is not None
    server.serve({"keys": [rsa_jwk("old"), rsa_jwk("new")]})
    clock.advance(COOLDOWN / 3)
    with pytest.raises(JwksUnavailable) as unavailable:
        await cache.get("new")
    assert unavailable.value.retry_after == pytest.approx(COOLDOWN * 2 / 3, abs=1)
    assert server.hits == 1
    clock.advance(COOLDOWN)
    assert await cache.get("new") is not None
    assert server.hits == 2


@pytest.mark.parametrize(
    ("cache_control", "fresh_for"),
    [
        ("public, max-age=5", 5.0),
        ('max-age="5", must-revalidate', 5.0),
        ("max-age=86400", 60.0),  # never longer than JWKS_MAX_AGE_SECONDS
        ("max-age=0", 0.0),
        ("no-store", 60.0),  # for HTTP caches; the key set keeps its own max-age
        ("private", 60.0),
        ("max-age=soon", 60.0),
    ],
)
async def test_issuer_cache_control_can_shorten_the_max_age(
    server: DocumentServer, clock: FakeClock, cache_control: str, fresh_for: float
) -> None:
    """The issuer knows when its set changes (Better Auth: a retired key leaves after the
    grace period); a shorter max-age from it makes removals reach the cache sooner."""
    keys = JwksCache(
        server.url, algorithms=["RS256"], cooldown=1.0, max_age=60.0, timeout=10.0, clock=clock
    )
    try:
        server.serve({"keys": [rsa_jwk("k1")]}, {"Cache-Control": cache_control})
        assert await keys.get("k1") is not None
        due = max(fresh_for, 1.0)  # the cool-down (1 s) paces even max-age=0
        clock.advance(due - 0.5)
        await keys.get("k1")
        assert server.hits == 1
        clock.advance(1.0)
        await keys.get("k1")  # now due: refreshed in the background
        await eventually(lambda: not keys.refreshing)
        assert server.hits == 2
    finally:
        await keys.aclose()
