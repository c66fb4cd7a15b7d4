"""JWKS strategy: the backend's key cache vs. fetching the JWKS on every request.

The common mistake in peer projects is a verifier that builds a fresh
``PyJWKClient(url, cache_keys=False)`` per request, so every request downloads the key set.
Both variants run the same app and route (`GET /api/{uid}/tasks`, one SQLite file) with
the JWKS served over HTTP by the mock issuer; only the auth dependency differs. Rounds
rotate the order of the variants. Prints throughput per variant, the ratios, JWKS
downloads per request, and how many requests each variant still serves while the JWKS
endpoint is failing. The fetch-per-request verifier below is the baseline, not a pattern.

    .venv/bin/python bench/jwks_strategy.py [--rounds 5] [--requests 100]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import jwt
from fastapi import FastAPI, Request
from todo_api.app import create_app
from todo_api.auth import Identity
from todo_api.deps import get_identity
from todo_api.errors import ApiError
from todo_api.settings import Settings

from bench.auth_overhead import running, with_real_auth_override
from harness.issuer import Issuer, IssuerServer

ORIGIN = "http://localhost:3000"
USER = "bench-user"
OURS_SAME = "cache, same token"
OURS_NEW = "cache, new tokens"
NAIVE = "fetch per request, new tokens"
SHORT = {OURS_NEW: "cache", NAIVE: "fetch per request"}
OUTAGE_REQUESTS = 50


def fetch_per_request(app: FastAPI, jwks_url: str) -> FastAPI:
    """Override the auth dependency with the fetch-per-request verifier."""

    def naive_identity(request: Request) -> Identity:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        # The mistake under test: a new client and no key cache, so every call downloads.
        client = jwt.PyJWKClient(jwks_url, cache_keys=False, cache_jwk_set=False)
        try:
            key = client.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise ApiError(503, "jwks_unavailable", "keys unavailable") from None
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=ORIGIN,
            issuer=ORIGIN,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        return Identity(sub=claims["sub"], expires_at=float(claims["exp"]), claims=claims)

    app.dependency_overrides[get_identity] = naive_identity
    return app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def timed(client: httpx.AsyncClient, headers: Iterator[dict[str, str]], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        response = await client.get(f"/api/{USER}/tasks", headers=next(headers))
        if response.status_code != 200:
            raise SystemExit(f"unexpected {response.status_code}: {response.text}")
    return time.perf_counter() - started


async def served(client: httpx.AsyncClient, headers: Iterator[dict[str, str]]) -> int:
    ok = 0
    for _ in range(OUTAGE_REQUESTS):
        response = await client.get(f"/api/{USER}/tasks", headers=next(headers))
        ok += response.status_code == 200
    return ok


def repeat(value: dict[str, str]) -> Iterator[dict[str, str]]:
    while True:
        yield value


async def measure(rounds: int, per_round: int) -> None:
    issuer = Issuer(ORIGIN)

    def fresh_tokens() -> Iterator[dict[str, str]]:
        # A distinct token per request (jti), so no verified-token cache can answer.
        n = 0
        while True:
            n += 1
            yield bearer(issuer.mint(USER, ttl=3600, claims={"jti": str(n)}))

    with IssuerServer(issuer) as jwks, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            jwks_url=jwks.jwks_url,
            jwt_issuer=ORIGIN,
            jwt_audience=ORIGIN,
        )
        later = settings.model_copy(update={"migrate_on_start": False})
        token = bearer(issuer.mint(USER, ttl=3600))
        ours_app = with_real_auth_override(create_app(settings))
        naive_app = fetch_per_request(create_app(later), jwks.jwks_url)
        async with running(ours_app) as ours, running(naive_app) as naive:
            for n in range(10):
                await ours.post(f"/api/{USER}/tasks", json={"title": f"t{n}"}, headers=token)
            new_for_ours, new_for_naive = fresh_tokens(), fresh_tokens()
            variants: dict[str, Callable[[int], Awaitable[float]]] = {
                OURS_SAME: lambda c: timed(ours, repeat(token), c),
                OURS_NEW: lambda c: timed(ours, new_for_ours, c),
                NAIVE: lambda c: timed(naive, new_for_naive, c),
            }
            for run in variants.values():  # warm-up: pools, first JWKS fetch, caches
                await run(per_round // 5)
            elapsed = dict.fromkeys(variants, 0.0)
            hits = dict.fromkeys(variants, 0)
            names = list(variants)
            for round_no in range(rounds):
                shift = round_no % len(names)
                for name in names[shift:] + names[:shift]:
                    before = jwks.jwks_hits
                    elapsed[name] += await variants[name](per_round)
                    hits[name] += jwks.jwks_hits - before
            # The key server fails: who still serves requests (fresh tokens, known kid)?
            jwks.fail(600)
            try:
                down = {
                    OURS_NEW: await served(ours, new_for_ours),
                    NAIVE: await served(naive, new_for_naive),
                }
            finally:
                jwks.recover()

    total = rounds * per_round
    rate = {name: total / seconds for name, seconds in elapsed.items()}
    for name, value in rate.items():
        print(f"{name:<44} {value:8.1f} req/s")
    for name in (OURS_SAME, OURS_NEW):
        label = f"ratio {name} / fetch per request"
        print(f"{label:<44} {rate[name] / rate[NAIVE]:8.2f}")
    for name in (OURS_NEW, NAIVE):
        print(f"{f'JWKS downloads/request, {SHORT[name]}':<44} {hits[name] / total:8.3f}")
    for name, ok in down.items():
        print(f"{f'served with JWKS failing, {SHORT[name]}':<44} {ok:4d}/{OUTAGE_REQUESTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=100, help="requests per variant per round")
    args = parser.parse_args()
    asyncio.run(measure(args.rounds, args.requests))


if __name__ == "__main__":
    main()
