"""The short load run of `make test`: many users, mixed CRUD, ledger == database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from harness.stack import Stack

from .support import Load, checked_report, describe, failures, make_users, new_run_id

USERS = 50
SECONDS = 8.0


@pytest.mark.load
def test_concurrent_users_lose_no_write(stack: Stack, report: Callable[[list[str]], None]) -> None:
    run_id = new_run_id()
    load = Load(stack.backend_url, make_users(stack.issuer, USERS, run_id), run_id)

    asyncio.run(load.run_for(SECONDS))

    lines = checked_report(load, stack.database_url, f"load ({stack.mode})")
    report(lines)
    assert not failures(load.samples), describe(failures(load.samples))
    assert {s.user for s in load.samples} == set(range(USERS)), "every user made requests"
