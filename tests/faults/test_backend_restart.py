"""The backend restarted under load: clients see connection errors only while it is down,
never an HTTP error, and nothing acknowledged is lost."""

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
)

USERS = 20
PACE = 0.02
# What a client can see while no process listens or a connection is cut.
CONNECTION_ERRORS = {
    cls.__name__
    for cls in (
        httpx.ConnectError,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
        httpx.CloseError,
    )
}


@pytest.mark.faults
def test_backend_restart(own_stack: Stack, report: Callable[[list[str]], None]) -> None:
    stack = own_stack
    run_id = new_run_id()
    load = Load(stack.backend_url, make_users(stack.issuer, USERS, run_id), run_id, pace=PACE)
    marks: dict[str, float] = {}

    async def scenario() -> None:
        await observe(load, time.monotonic(), ok=True)
        marks["stopping"] = time.monotonic()
        await asyncio.to_thread(stack.stop, "backend")
        marks["stopped"] = time.monotonic()
        await asyncio.to_thread(stack.start, "backend")
        marks["started"] = time.monotonic()
        await observe(load, marks["started"], ok=True)

    asyncio.run(drive(load, scenario))

    failed = failures(load.samples)
    not_connection = [s for s in failed if s.outcome not in CONNECTION_ERRORS]
    assert not not_connection, f"answers other than success: {describe(not_connection)}"
    outside = [s for s in failed if s.ended < marks["stopping"] or s.started > marks["started"]]
    assert not outside, f"connection errors outside the restart: {describe(outside)}"
    while_down = [s for s in load.samples if marks["stopped"] <= s.started <= marks["started"]]
    assert failures(while_down), "the restart was not observed by the load"

    lines = checked_report(load, stack.database_url, f"backend restart ({stack.mode})")
    report(
        [
            *lines,
            figure("backend restart down for", f"{marks['started'] - marks['stopping']:.1f} s"),
        ]
    )
