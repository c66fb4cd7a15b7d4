"""Running the load generator (``harness.load``) while a scenario breaks and repairs services."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

import httpx

from harness.load import (
    Load,
    LoadUser,
    Sample,
    figure,
    make_users,
    new_run_id,
    report_lines,
    summarize,
    verify,
)

__all__ = [
    "Load",
    "LoadUser",
    "Sample",
    "figure",
    "make_users",
    "new_run_id",
    "report_lines",
    "summarize",
    "verify",
]

# A fault is observed when this many requests were answered inside its window.
OBSERVED = 30


async def until(condition: Callable[[], bool], *, within: float, what: str) -> float:
    """Poll ``condition`` (no fixed sleeps); return the time it became true."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic()


async def until_status(
    client: httpx.AsyncClient,
    path: str,
    status: int,
    *,
    within: float,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Poll ``GET path`` until it answers ``status``; connection errors count as "not yet"."""
    deadline = time.monotonic() + within
    last = "no answer"
    while True:
        try:
            response = await client.get(path, headers=headers)
        except httpx.TransportError as exc:
            last = type(exc).__name__
        else:
            if response.status_code == status:
                return response
            last = f"{response.status_code} {response.text[:200]}"
        if time.monotonic() > deadline:
            raise AssertionError(f"GET {path}: no {status} within {within:.0f}s (last: {last})")
        await asyncio.sleep(0.05)


def answered_since(load: Load, since: float, *, ok: bool | None = None) -> int:
    return sum(1 for s in load.samples if s.started >= since and (ok is None or s.ok == ok))


async def observe(
    load: Load, since: float, *, ok: bool | None = None, within: float = 30.0
) -> float:
    """Wait until the load has produced ``OBSERVED`` samples (of the given kind) since ``since``."""
    kind = {None: "", True: "successful ", False: "failed "}[ok]
    return await until(
        lambda: answered_since(load, since, ok=ok) >= OBSERVED,
        within=within,
        what=f"{OBSERVED} {kind}requests under load",
    )


async def drive(load: Load, scenario: Callable[[], Awaitable[None]]) -> None:
    """Run the load for exactly as long as the scenario takes."""
    stop = asyncio.Event()
    runner = asyncio.create_task(load.run(stop))
    try:
        await scenario()
    finally:
        stop.set()
        await runner


def failures(samples: Iterable[Sample]) -> list[Sample]:
    return [s for s in samples if not s.ok]


def describe(samples: Iterable[Sample], limit: int = 10) -> str:
    rows = [f"{s.op} {s.outcome} {s.code or ''}".strip() for s in samples]
    return f"{len(rows)}: {rows[:limit]}"


def checked_report(load: Load, database_url: str, prefix: str) -> list[str]:
    """Assert the database equals the ledger (and reads agreed with it); the figures."""
    verdict = verify(database_url, load.users, load.run_id)
    assert not load.mismatches, load.mismatches[:10]
    assert not verdict.problems, verdict.problems[:10]
    assert not verdict.cross_user, verdict.cross_user[:10]
    acknowledged = sum(u.acknowledged_writes for u in load.users)
    assert acknowledged > 0, "the load wrote nothing"
    span = max(s.ended for s in load.samples) - min(s.started for s in load.samples)
    return report_lines(load, summarize(load.samples, span), verdict, prefix)
