"""PostgreSQL stopped under load: fast 503s and a red /readyz, then recovery without a
backend restart, and no acknowledged write lost."""

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
    make_users,
    new_run_id,
    observe,
    until_status,
)

USERS = 20
PACE = 0.02
# The recovery bound: /readyz green this soon after PostgreSQL accepts connections.
RECOVERY_SECONDS = 5.0


@pytest.mark.faults
def test_database_outage(stack: Stack, report: Callable[[list[str]], None]) -> None:
    run_id = new_run_id()
    load = Load(stack.backend_url, make_users(stack.issuer, USERS, run_id), run_id, pace=PACE)
    marks: dict[str, float] = {}
    readyz: dict[str, httpx.Response] = {}
    backend_pid = stack.resources.get("services", {}).get("backend", {}).get("pid")

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=stack.backend_url, timeout=10.0) as probe:
            await observe(load, time.monotonic(), ok=True)
            await asyncio.to_thread(stack.stop, "postgres")
            marks["down"] = time.monotonic()
            readyz["down"] = await until_status(probe, "/readyz", 503, within=15.0)
            await observe(load, marks["down"])
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
    after = failures(s for s in load.samples if s.started >= marks["ready"])
    assert not after, f"failures after /readyz was green again: {describe(after)}"
    if backend_pid is not None:  # local provider: the very same backend process served
        assert stack.resources["services"]["backend"]["pid"] == backend_pid

    lines = checked_report(load, stack.database_url, f"db outage ({stack.mode})")
    slowest = max(s.latency for s in during)
    report(
        [
            *lines,
            f"{'db outage 503 responses':<36} {len(during)}",
            f"{'db outage slowest 503':<36} {slowest * 1000:.0f} ms",
            f"{'db outage ready after PG accepts':<36} {marks['ready'] - marks['accepting']:.2f} s",
        ]
    )
