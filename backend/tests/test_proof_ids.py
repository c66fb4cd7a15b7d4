"""The database record of spent DPoP proof ids (`todo_api.proof_ids`), on each database."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import pytest
import sqlalchemy as sa
from backend_support import Api, FakeClock
from todo_api.db import Database
from todo_api.proof_ids import PURGE_INTERVAL_SECONDS, DatabaseProofIds, proof_id

FAR = 4e9  # an expiry no test reaches


def database_of(api: Api) -> Database:
    database: Database = api.app.state.database
    return database


def key() -> str:
    return f"jkt.{uuid.uuid4()}"


@pytest.mark.anyio
async def test_an_id_is_accepted_once(api: Api) -> None:
    ids = DatabaseProofIds(database_of(api))
    first, second = key(), key()
    assert await ids.use(first, FAR)
    assert not await ids.use(first, FAR)
    assert await ids.use(second, FAR)
    # Another process: a second record on the same database.
    assert not await DatabaseProofIds(database_of(api)).use(first, FAR)


@pytest.mark.anyio
async def test_concurrent_uses_let_exactly_one_through(api: Api) -> None:
    records = [DatabaseProofIds(database_of(api)) for _ in range(4)]
    raced = key()
    outcomes = await asyncio.gather(*(records[n % 4].use(raced, FAR) for n in range(16)))
    assert sorted(outcomes) == [False] * 15 + [True]


@pytest.mark.anyio
async def test_expired_ids_are_purged(api: Api) -> None:
    clock = FakeClock()
    ids = DatabaseProofIds(database_of(api), clock=clock)
    old, new = key(), key()
    assert await ids.use(old, clock() + 5)
    clock.advance(PURGE_INTERVAL_SECONDS + 10)
    assert await ids.use(new, clock() + 60)
    digests = {hashlib.sha256(k.encode()).hexdigest(): k for k in (old, new)}
    rows = await database_of(api).rows(sa.select(proof_id.c.key), {})
    left = [digests[row["key"]] for row in rows if row["key"] in digests]
    assert left == [new]
