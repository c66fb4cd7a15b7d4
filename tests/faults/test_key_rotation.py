"""Keys rotated under load: requests with tokens of the old and of the new key all succeed.

The fork's backend uses a 1 s JWKS cool-down. A kid first seen within the cool-down after
the backend's last fetch is answered 503 + Retry-After until the cool-down ends (docs/backend.md,
"JWKS cache"), so the rotation happens more than one cool-down after the backend's first
fetch -- as in production, where the default 30 s cool-down is far shorter than the time
between two rotations -- and no request fails at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

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
    until,
)

USERS = 20
PACE = 0.02
COOLDOWN = 1.0


@pytest.mark.faults
def test_key_rotation(fork: Callable[[float], Stack], report: Callable[[list[str]], None]) -> None:
    forked = fork(COOLDOWN)
    run_id = new_run_id()
    users = make_users(forked.issuer, USERS, run_id)
    load = Load(forked.backend_url, users, run_id, pace=PACE)
    movers = users[: USERS // 2]
    marks: dict[str, float] = {}

    async def scenario() -> None:
        first_ok = await observe(load, time.monotonic(), ok=True)
        await until(
            lambda: time.monotonic() > first_ok + COOLDOWN,
            within=COOLDOWN + 5,
            what="the end of the first cool-down",
        )
        new_kid = await asyncio.to_thread(forked.issuer.rotate, keep_old=True)
        marks["rotated"] = time.monotonic()
        for user in movers:
            token = await asyncio.to_thread(forked.issuer.mint, user.user_id, kid=new_kid)
            user.use_token(token, "k2")
        await until(
            lambda: (
                sum(s.ok and s.key == "k2" for s in load.samples) >= 60
                and sum(
                    s.ok and s.key == "k1" and s.started > marks["rotated"] for s in load.samples
                )
                >= 60
            ),
            within=30.0,
            what="requests with tokens of both keys",
        )

    asyncio.run(drive(load, scenario))

    failed = failures(load.samples)
    assert not failed, f"failed requests across the rotation: {describe(failed)}"
    # One fetch at first use, one for the new kid: concurrent misses shared it.
    hits = forked.issuer.jwks_hits
    assert hits == 2, f"JWKS fetched {hits} times"

    lines = checked_report(load, forked.database_url, f"key rotation ({forked.mode})")
    by_key = {key: sum(s.key == key for s in load.samples) for key in ("k1", "k2")}
    report(
        [
            *lines,
            figure("key rotation requests old key", f"{by_key['k1']}"),
            figure("key rotation requests new key", f"{by_key['k2']}"),
            figure("key rotation JWKS fetches", f"{hits}"),
        ]
    )
