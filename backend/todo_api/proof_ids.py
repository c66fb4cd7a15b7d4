"""Spent DPoP proof ids in the database: one record for every backend process.

The verifier's in-memory cache stops a replay to the process that accepted the proof; a
replay to another worker (or replica) is stopped here. One statement per accepted proof:
an insert that does nothing when the id is already there, so of concurrent replays, in
one process or many, exactly one inserts.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from todo_api.db import Database
from todo_api.models import DpopProofId

proof_id: sa.Table = DpopProofId.__table__  # type: ignore[attr-defined]
# Expired ids are deleted by whichever request comes first after this many seconds.
PURGE_INTERVAL_SECONDS = 30.0


def _insert(dialect: str) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING key`, in the database's dialect."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(proof_id).on_conflict_do_nothing(index_elements=["key"]).returning(proof_id.c.key)


PURGE = sa.delete(proof_id).where(proof_id.c.expires_at < sa.bindparam("now"))


class DatabaseProofIds:
    """`SpentProofIds` on the service's database (table `dpop_proof_id`)."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self._database = database
        self._insert = _insert(database.dialect_name)
        self._clock = clock
        self._next_purge = 0.0

    async def use(self, key: str, expires_at: float) -> bool:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        now = self._clock()
        inserted = await self._database.rows(
            self._insert, {"key": digest, "expires_at": expires_at}
        )
        if now >= self._next_purge:
            self._next_purge = now + PURGE_INTERVAL_SECONDS
            await self._database.rows(PURGE, {"now": now})
        return bool(inserted)
