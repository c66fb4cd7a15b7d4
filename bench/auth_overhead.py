"""Cost of token verification on `GET /api/{uid}/tasks`, measured side by side in one run.

Instances of the same app on one SQLite file: one verifies every bearer token against a
JWKS served over HTTP by the mock issuer; another has the auth dependency overridden
(`app.dependency_overrides`). Any override entry makes FastAPI rebuild every dependency
of a route per request, so the verifying app carries an override entry too (the real
dependency mapped to itself): both then take the same path and differ only in
verification. The production app (no override entry) is shown for reference. Token
binding: the verifying app (DPOP_MODE=optional) also serves a DPoP-bound token with a fresh
proof per request (proofs are made before each timed batch, so the client's signing is not
counted), compared with the same token flow as Bearer. Rounds rotate the order of the
variants to spread noise evenly. Prints throughput per variant, the ratios and how often
the JWKS was fetched. Targets: verified/overridden >= 0.90, DPoP/Bearer >= 0.85, one fetch.
Nothing is gated.

    .venv/bin/python bench/auth_overhead.py [--rounds 10] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from todo_api.app import create_app
from todo_api.auth import Identity
from todo_api.deps import get_identity
from todo_api.settings import Settings

from harness.dpop import DpopKey, bound_claims, dpop_headers
from harness.issuer import Issuer, IssuerServer

ORIGIN = "http://localhost:3000"
USER = "bench-user"
SEEDED_TASKS = 20
VERIFIED = "verified, same token"
VERIFIED_FRESH = "verified, new token each request"
OVERRIDDEN = "auth overridden"
DPOP = "DPoP: bound token, fresh proof each request"
PRODUCTION = "verified, production app (no override entry)"


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        yield client


def with_real_auth_override(app: FastAPI) -> FastAPI:
    app.dependency_overrides[get_identity] = get_identity
    return app


def without_auth(app: FastAPI) -> FastAPI:
    identity = Identity(sub=USER, expires_at=time.time() + 86_400, claims={})

    async def fixed_identity() -> Identity:
        return identity

    app.dependency_overrides[get_identity] = fixed_identity
    return app


async def timed(client: httpx.AsyncClient, headers: Iterator[dict[str, str]], count: int) -> float:
    path = f"/api/{USER}/tasks"
    started = time.perf_counter()
    for _ in range(count):
        response = await client.get(path, headers=next(headers))
        if response.status_code != 200:
            raise SystemExit(f"unexpected {response.status_code}: {response.text}")
    return time.perf_counter() - started


def repeat(value: dict[str, str]) -> Iterator[dict[str, str]]:
    while True:
        yield value


async def measure(rounds: int, per_round: int) -> None:
    issuer = Issuer(ORIGIN)
    with IssuerServer(issuer) as jwks, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            jwks_url=jwks.jwks_url,
            jwt_issuer=ORIGIN,
            jwt_audience=ORIGIN,
        )
        later = settings.model_copy(update={"migrate_on_start": False})
        token = {"Authorization": f"Bearer {issuer.mint(USER, ttl=3600)}"}
        # A distinct token per request: the verified-token cache never hits (worst case).
        fresh = iter(
            [
                {"Authorization": f"Bearer {issuer.mint(USER, ttl=3600, claims={'jti': str(n)})}"}
                for n in range((rounds + 1) * per_round)
            ]
        )
        key = DpopKey.generate()
        bound = issuer.mint(USER, ttl=3600, claims=bound_claims(key.jkt))
        url = f"http://bench/api/{USER}/tasks"

        async def with_proofs(client: httpx.AsyncClient, count: int) -> float:
            # Proofs are single-use and short-lived: made (untimed) just before each batch.
            proofs = [dpop_headers(key, bound, "GET", url) for _ in range(count)]
            return await timed(client, iter(proofs), count)

        verified_app = with_real_auth_override(create_app(settings))
        bypass_app = without_auth(create_app(later))
        production_app = create_app(later)
        async with (
            running(verified_app) as verified,
            running(bypass_app) as bypass,
            running(production_app) as production,
        ):
            for n in range(SEEDED_TASKS):
                await verified.post(f"/api/{USER}/tasks", json={"title": f"t{n}"}, headers=token)
            variants: dict[str, Callable[[int], Awaitable[float]]] = {
                VERIFIED: lambda c: timed(verified, repeat(token), c),
                VERIFIED_FRESH: lambda c: timed(verified, fresh, c),
                OVERRIDDEN: lambda c: timed(bypass, repeat(token), c),
                DPOP: lambda c: with_proofs(verified, c),
                PRODUCTION: lambda c: timed(production, repeat(token), c),
            }
            for run in variants.values():  # warm-up: pools, first JWKS fetch, caches
                await run(per_round // 5)
            elapsed = dict.fromkeys(variants, 0.0)
            names = list(variants)
            for round_no in range(rounds):
                shift = round_no % len(names)
                for name in names[shift:] + names[:shift]:
                    elapsed[name] += await variants[name](per_round)
        fetches = verified_app.state.jwks.fetch_count

    rate = {name: rounds * per_round / seconds for name, seconds in elapsed.items()}
    for name, value in rate.items():
        print(f"{name:<44} {value:8.1f} req/s")
    same, new = rate[VERIFIED] / rate[OVERRIDDEN], rate[VERIFIED_FRESH] / rate[OVERRIDDEN]
    print(f"{'ratio verified/overridden, same token':<44} {same:8.3f}  (target >= 0.90)")
    print(f"{'ratio verified/overridden, new tokens':<44} {new:8.3f}")
    dpop = rate[DPOP] / rate[VERIFIED]
    print(f"{'ratio DPoP/Bearer (same token, own proofs)':<44} {dpop:8.3f}  (target >= 0.85)")
    print(f"{'JWKS fetches by the verifying app':<44} {fetches:8d}  (target 1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200, help="requests per variant per round")
    args = parser.parse_args()
    asyncio.run(measure(args.rounds, args.requests))


if __name__ == "__main__":
    main()
