"""PostgreSQL stopped under load: 503s (never a 500, never a hang) and a red /readyz, then
recovery without a backend restart, and no acknowledged write lost.

The outage lasts OUTAGE_SECONDS of load. "Never a hang" is checked without timing any
single request: no request reaches the client's timeout (the backend's own bound for a
database failure: connect timeout + pool timeout, 5 s + 5 s), and every user keeps being
answered while the database is down instead of being stuck in one request.
"""

from __future__ import annotations

import asyncio
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
    summarize,
    until_status,
)

USERS = 20
PACE = 0.02
OUTAGE_SECONDS = 6.0
CLIENT_TIMEOUT = 10.0
# The recovery bound: /readyz green this soon after PostgreSQL accepts connections.
RECOVERY_SECONDS = 5.0


@pytest.mark.faults
def test_database_outage(own_stack: Stack, report: Callable[[list[str]], None]) -> None:
    stack = own_stack
    run_id = new_run_id()
    users = make_users(stack.issuer, USERS, run_id)
    load = Load(stack.backend_url, users, run_id, pace=PACE, timeout=CLIENT_TIMEOUT)
    marks: dict[str, float] = {}
    readyz: dict[str, httpx.Response] = {}

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=stack.backend_url, timeout=10.0) as probe:
            await observe(load, time.monotonic(), ok=True)
            await asyncio.to_thread(stack.stop, "postgres")
            marks["down"] = time.monotonic()
            readyz["down"] = await until_status(probe, "/readyz", 503, within=15.0)
            await observe(load, marks["down"])
            # The outage itself: a fixed span of traffic, not a wait for a condition.
            await asyncio.sleep(max(0.0, marks["down"] + OUTAGE_SECONDS - time.monotonic()))
            marks["restart"] = time.monotonic()
            await asyncio.to_thread(stack.start, "postgres")
            marks["accepting"] = time.monotonic()
            await until_status(probe, "/readyz", 200, within=RECOVERY_SECONDS)
            marks["ready"] = time.monotonic()
            await observe(load, marks["ready"], ok=True)

    asyncio.run(drive(load, scenario))

    assert readyz["down"].json()["error"]["code"] == "database_unavailable"
    during = [s for s in load.samples if s.started >= marks["down"] and s.ended <= marks["restart"]]
    assert during, "no request was made while PostgreSQL was down"
    not_503 = [
        s
        for s in during
        if (s.outcome, s.code) != ("503", "database_unavailable") or not s.retry_after
    ]
    assert not not_503, f"during the outage, not a 503 with Retry-After: {describe(not_503)}"
    # Never a 500 or a hang (a client timeout) at any point, not even at the transitions.
    wrong = [s for s in failures(load.samples) if s.outcome != "503"]
    assert not wrong, describe(wrong)
    stuck = {u.index for u in users} - {s.user for s in during}
    assert not stuck, f"users without any answer while the database was down: {sorted(stuck)}"
    after = failures(s for s in load.samples if s.started >= marks["ready"])
    assert not after, f"failures after /readyz was green again: {describe(after)}"
    # The backend that served before the outage is still the one running: nothing restarted it.
    assert stack.running()["backend"], "the backend process stopped during the outage"

    lines = checked_report(load, stack.database_url, f"db outage ({stack.mode})")
    slowest = max(s.latency for s in during)
    recovery = marks["ready"] - marks["accepting"]
    outage = summarize(during, marks["restart"] - marks["down"])
    p50, _, p99 = outage.latencies_ms
    report(
        [
            *lines,
            figure("db outage 503 answers while down", f"{len(during)}"),
            figure("db outage 503 latency p50", f"{p50:.0f} ms"),
            figure("db outage 503 latency p99", f"{p99:.0f} ms"),
            figure("db outage slowest 503", f"{slowest * 1000:.0f} ms"),
            figure("db outage ready after PG accepts", f"{recovery:.2f} s"),
        ]
    )
