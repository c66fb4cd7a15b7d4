"""The issuer (JWKS) down under load: tokens with known kids keep working, a kid the
backend has not cached gets 503 with Retry-After, and everything recovers by itself.

The outage lasts OUTAGE_SECONDS (a few seconds, not the issue's 30): what matters is that
it spans several of the fork's 1 s JWKS cool-downs, so the backend retries the fetch and
fails again more than once while it is down.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable

import httpx
import pytest

from harness.stack import Stack

from .support import (
    Load,
    checked_report,
    describe,
    drive,
    failures,
    figure,
    make_users,
    new_run_id,
    observe,
    until_status,
)

USERS = 20
PACE = 0.02
COOLDOWN = 1.0
OUTAGE_SECONDS = 6.0


@pytest.mark.faults
def test_issuer_outage(fork: Callable[[float], Stack], report: Callable[[list[str]], None]) -> None:
    forked = fork(COOLDOWN)
    run_id = new_run_id()
    users = make_users(forked.issuer, USERS, run_id)
    load = Load(forked.backend_url, users, run_id, pace=PACE)
    probe_user = users[0]
    marks: dict[str, float] = {}
    seen: dict[str, httpx.Response] = {}

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=forked.backend_url, timeout=10.0) as probe:
            await observe(load, time.monotonic(), ok=True)  # the backend has cached kid 1
            new_kid = await asyncio.to_thread(forked.issuer.rotate)
            uncached = await asyncio.to_thread(forked.issuer.mint, probe_user.user_id, kid=new_kid)
            unknown = await asyncio.to_thread(
                forked.issuer.mint,
                probe_user.user_id,
                headers={"kid": secrets.token_urlsafe(12)},
            )
            await asyncio.to_thread(forked.stop, "issuer")
            marks["down"] = time.monotonic()
            seen["uncached"] = await until_status(
                probe, probe_user.path, 503, within=15.0, headers=bearer(uncached)
            )
            seen["unknown"] = await until_status(
                probe, probe_user.path, 503, within=15.0, headers=bearer(unknown)
            )
            seen["known"] = await probe.get(probe_user.path, headers=probe_user.headers)
            # The outage itself: a fixed span of traffic, not a wait for a condition.
            await asyncio.sleep(max(0.0, marks["down"] + OUTAGE_SECONDS - time.monotonic()))
            await observe(load, marks["down"], ok=True)
            await asyncio.to_thread(forked.start, "issuer")
            marks["up"] = time.monotonic()
            seen["recovered"] = await until_status(
                probe, probe_user.path, 200, within=15.0, headers=bearer(uncached)
            )
            marks["recovered"] = time.monotonic()
            seen["unknown after"] = await until_status(
                probe, probe_user.path, 401, within=15.0, headers=bearer(unknown)
            )

    asyncio.run(drive(load, scenario))

    for name in ("uncached", "unknown"):
        body, headers = seen[name].json(), seen[name].headers
        assert body["error"]["code"] == "jwks_unavailable", body
        assert int(headers["retry-after"]) >= 1, headers
    assert seen["known"].status_code == 200, seen["known"].text
    failed = failures(load.samples)
    assert not failed, f"requests with cached kids failed: {describe(failed)}"
    during = [s for s in load.samples if marks["down"] <= s.started <= marks["up"]]
    assert len(during) > 0

    recovery = marks["recovered"] - marks["up"]
    lines = checked_report(load, forked.database_url, f"issuer outage ({forked.mode})")
    report(
        [
            *lines,
            figure("issuer outage length", f"{marks['up'] - marks['down']:.1f} s"),
            figure("issuer outage requests while down", f"{len(during)}"),
            figure("issuer outage new kid accepted after", f"{recovery:.2f} s"),
        ]
    )
