"""The task store's statements: exact totals kept by the database, atomic toggles, pooled
connections that the server closed, and the counts migration on existing rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from backend_support import Api
from faker import Faker
from todo_api.migrate import alembic_config, upgrade

Bearer = Callable[..., dict[str, str]]


async def totals(api: Api, owner: str, auth: dict[str, str]) -> tuple[int, int, int]:
    """(all, completed, open) as the list pages report them."""
    base = f"/api/{owner}/tasks"
    found = []
    for params in ({}, {"completed": "true"}, {"completed": "false"}):
        page = (await api.http.get(base, params=params, headers=auth)).json()
        found.append(page["total"])
    return found[0], found[1], found[2]


@pytest.mark.anyio
async def test_totals_follow_every_kind_of_write(
    api: Api, bearer: Bearer, user_id: str, other_user_id: str, fake: Faker
) -> None:
    auth = bearer(user_id)
    base = f"/api/{user_id}/tasks"
    ids = []
    for index in range(4):
        body = {"title": fake.sentence(), "completed": index == 0}
        ids.append((await api.http.post(base, json=body, headers=auth)).json()["id"])
    await api.http.post(
        f"/api/{other_user_id}/tasks", json={"title": "theirs"}, headers=bearer(other_user_id)
    )
    assert await totals(api, user_id, auth) == (4, 1, 3)

    await api.http.patch(f"{base}/{ids[1]}/complete", headers=auth)
    assert await totals(api, user_id, auth) == (4, 2, 2)
    await api.http.put(f"{base}/{ids[1]}", json={"title": "reset"}, headers=auth)
    assert await totals(api, user_id, auth) == (4, 1, 3)
    await api.http.patch(f"{base}/{ids[2]}", json={"completed": True}, headers=auth)
    await api.http.patch(f"{base}/{ids[2]}", json={"title": "same state"}, headers=auth)
    assert await totals(api, user_id, auth) == (4, 2, 2)
    await api.http.delete(f"{base}/{ids[0]}", headers=auth)
    assert await totals(api, user_id, auth) == (3, 1, 2)
    for task_id in ids[1:]:
        await api.http.delete(f"{base}/{task_id}", headers=auth)
    assert await totals(api, user_id, auth) == (0, 0, 0)
    assert await totals(api, other_user_id, bearer(other_user_id)) == (1, 0, 1)


@pytest.mark.anyio
async def test_concurrent_toggles_are_never_lost(api: Api, bearer: Bearer, user_id: str) -> None:
    auth = bearer(user_id)
    base = f"/api/{user_id}/tasks"
    task = (await api.http.post(base, json={"title": "flip"}, headers=auth)).json()
    toggles = 9
    answers = await asyncio.gather(
        *(api.http.patch(f"{base}/{task['id']}/complete", headers=auth) for _ in range(toggles))
    )
    assert all(answer.status_code == 200 for answer in answers)
    final = (await api.http.get(f"{base}/{task['id']}", headers=auth)).json()
    assert final["completed"] is (toggles % 2 == 1)
    assert await totals(api, user_id, auth) == (1, 1, 0)


@pytest.mark.anyio
async def test_empty_page_past_the_end_still_has_the_total(
    api: Api, bearer: Bearer, user_id: str
) -> None:
    auth = bearer(user_id)
    base = f"/api/{user_id}/tasks"
    for title in ("a", "b"):
        await api.http.post(base, json={"title": title}, headers=auth)
    page = (await api.http.get(base, params={"offset": 10}, headers=auth)).json()
    assert page == {"items": [], "total": 2, "limit": 50, "offset": 10}


def _plain(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.mark.anyio
async def test_connections_the_server_closed_are_replaced_without_an_error(
    api: Api, bearer: Bearer, user_id: str, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to close connections")
    auth = bearer(user_id)
    path = f"/api/{user_id}/tasks"
    # Several pooled connections, then the server ends every one of them.
    await asyncio.gather(*(api.http.get(path, headers=auth) for _ in range(4)))
    with psycopg.connect(_plain(database_url), autocommit=True) as admin:
        ended = admin.execute(
            # The timeout makes it wait until each backend has exited (PostgreSQL 14+).
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
            "WHERE application_name = 'todo_api' AND pid <> pg_backend_pid()"
        ).fetchone()
    assert ended is not None
    assert ended[0] >= 1
    answers = await asyncio.gather(*(api.http.get(path, headers=auth) for _ in range(4)))
    assert [answer.status_code for answer in answers] == [200] * 4


def test_counts_migration_counts_existing_rows(database_url: str, fake: Faker) -> None:
    """Rows written before revision 0002 are counted by it (and by the triggers after)."""
    if database_url.startswith("postgresql"):
        # Its own database: the shared one is already at head.
        database = f"counts_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_plain(database_url), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        database_url = database_url.rsplit("/", 1)[0] + f"/{database}"
    command.upgrade(alembic_config(database_url), "0001")
    owner = fake.uuid4()
    engine = sa.create_engine(database_url)
    try:
        insert = sa.text(
            "INSERT INTO task (id, user_id, title, description, completed, created_at, "
            "updated_at) VALUES (:id, :owner, 'old', '', :done, :now, :now)"
        )
        with engine.begin() as connection:
            for done in (True, False, False):
                values = {"id": uuid.uuid4().hex, "owner": owner, "done": done}
                connection.execute(insert, {**values, "now": "2025-01-01 00:00:00+00:00"})
        upgrade(database_url)
        with engine.begin() as connection:
            counted = connection.execute(
                sa.text("SELECT tasks, completed FROM task_count WHERE user_id = :owner"),
                {"owner": owner},
            ).one()
            assert tuple(counted) == (3, 1)
            connection.execute(sa.text("DELETE FROM task WHERE user_id = :o"), {"o": owner})
            after = connection.execute(
                sa.text("SELECT tasks, completed FROM task_count WHERE user_id = :owner"),
                {"owner": owner},
            ).one()
            assert tuple(after) == (0, 0)
    finally:
        engine.dispose()
