"""Task routes with valid tokens: every route answers, data stays with its owner."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from urllib.parse import quote

import pytest
from backend_support import Api, assert_error
from conftest import AppFactory
from faker import Faker
from fastapi import FastAPI
from todo_api.auth import Identity
from todo_api.deps import get_identity

pytestmark = pytest.mark.anyio

Bearer = Callable[..., dict[str, str]]


async def create(
    api: Api, owner: str, headers: dict[str, str], **body: object
) -> dict[str, object]:
    response = await api.http.post(f"/api/{owner}/tasks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    task: dict[str, object] = response.json()
    return task


async def test_every_route_succeeds_with_a_valid_token(
    api: Api, bearer: Bearer, user_id: str, fake: Faker
) -> None:
    auth = bearer(user_id)
    base = f"/api/{user_id}/tasks"
    title = fake.sentence(nb_words=4)

    created = await api.http.post(base, json={"title": title}, headers=auth)
    assert created.status_code == 201
    task = created.json()
    assert task["title"] == title
    assert task["description"] == ""
    assert task["completed"] is False
    assert task["user_id"] == user_id
    uuid.UUID(task["id"])
    assert created.headers["location"] == f"{base}/{task['id']}"

    listed = await api.http.get(base, headers=auth)
    assert listed.status_code == 200
    assert listed.json() == {"items": [task], "total": 1, "limit": 50, "offset": 0}

    read = await api.http.get(f"{base}/{task['id']}", headers=auth)
    assert read.status_code == 200
    assert read.json() == task

    replaced = await api.http.put(
        f"{base}/{task['id']}",
        json={"title": "replaced", "description": "all of it", "completed": True},
        headers=auth,
    )
    assert replaced.status_code == 200
    assert replaced.json()["title"] == "replaced"
    assert replaced.json()["completed"] is True
    assert replaced.json()["created_at"] == task["created_at"]
    assert replaced.json()["updated_at"] >= task["updated_at"]

    patched = await api.http.patch(
        f"{base}/{task['id']}", json={"description": "only this"}, headers=auth
    )
    assert patched.status_code == 200
    assert patched.json()["title"] == "replaced"
    assert patched.json()["description"] == "only this"

    toggled = await api.http.patch(f"{base}/{task['id']}/complete", headers=auth)
    assert toggled.status_code == 200
    assert toggled.json()["completed"] is False
    toggled = await api.http.patch(f"{base}/{task['id']}/complete", headers=auth)
    assert toggled.json()["completed"] is True

    deleted = await api.http.delete(f"{base}/{task['id']}", headers=auth)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(await api.http.get(f"{base}/{task['id']}", headers=auth), 404, "not_found")

    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    assert (await api.http.get("/readyz")).json() == {"status": "ready"}


async def test_list_filters_pages_and_counts(
    api: Api, bearer: Bearer, user_id: str, fake: Faker
) -> None:
    auth = bearer(user_id)
    base = f"/api/{user_id}/tasks"
    for index in range(5):
        await create(api, user_id, auth, title=fake.word(), completed=index % 2 == 0)

    done = (await api.http.get(base, params={"completed": "true"}, headers=auth)).json()
    assert done["total"] == 3
    assert all(item["completed"] for item in done["items"])
    open_ = (await api.http.get(base, params={"completed": "false"}, headers=auth)).json()
    assert open_["total"] == 2
    assert not any(item["completed"] for item in open_["items"])

    first = (await api.http.get(base, params={"limit": 2}, headers=auth)).json()
    rest = (await api.http.get(base, params={"limit": 2, "offset": 2}, headers=auth)).json()
    tail = (await api.http.get(base, params={"limit": 2, "offset": 4}, headers=auth)).json()
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    assert (rest["offset"], len(rest["items"]), len(tail["items"])) == (2, 2, 1)
    ids = [item["id"] for page in (first, rest, tail) for item in page["items"]]
    assert len(set(ids)) == 5
    created_at = [item["created_at"] for page in (first, rest, tail) for item in page["items"]]
    assert created_at == sorted(created_at, reverse=True)

    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"completed": "maybe"}):
        error = assert_error(await api.http.get(base, params=bad, headers=auth), 422)
        assert set(error["fields"]) == set(bad)


async def test_other_users_task_under_own_path_is_not_found(
    api: Api, bearer: Bearer, user_id: str, other_user_id: str, fake: Faker
) -> None:
    theirs = await create(api, other_user_id, bearer(other_user_id), title=fake.sentence())
    mine = bearer(user_id)
    path = f"/api/{user_id}/tasks/{theirs['id']}"
    attempts = [
        api.http.get(path, headers=mine),
        api.http.put(path, json={"title": "stolen"}, headers=mine),
        api.http.patch(path, json={"completed": True}, headers=mine),
        api.http.patch(f"{path}/complete", headers=mine),
        api.http.delete(path, headers=mine),
    ]
    for attempt in attempts:
        assert_error(await attempt, 404, "not_found")
    own_list = (await api.http.get(f"/api/{user_id}/tasks", headers=mine)).json()
    assert own_list["total"] == 0

    unchanged = await api.http.get(
        f"/api/{other_user_id}/tasks/{theirs['id']}", headers=bearer(other_user_id)
    )
    assert unchanged.json() == theirs


@pytest.mark.parametrize("task_id", ["not-a-uuid", "1", "5f0c4a9e-3d1b-4c8e-9a4f-2b7d6e1c0a93"])
async def test_unknown_task_id_is_not_found(
    api: Api, bearer: Bearer, user_id: str, task_id: str
) -> None:
    path = f"/api/{user_id}/tasks/{task_id}"
    assert_error(await api.http.get(path, headers=bearer(user_id)), 404, "not_found")
    assert_error(await api.http.delete(path, headers=bearer(user_id)), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": 5}, "title"),
        ({"title": "ok", "description": "x" * 2001}, "description"),
        ({"title": "nul\u0000byte"}, "title"),
        ({"title": "ok", "completed": "sometimes"}, "completed"),
        ({"title": "ok", "user_id": "someone-else"}, "user_id"),
    ],
)
async def test_invalid_body_is_422_with_field_errors(
    api: Api, bearer: Bearer, user_id: str, body: dict[str, object], field: str
) -> None:
    response = await api.http.post(f"/api/{user_id}/tasks", json=body, headers=bearer(user_id))
    error = assert_error(response, 422, "validation_error")
    assert field in error["fields"]


async def test_patch_rejects_null_and_keeps_omitted_fields(
    api: Api, bearer: Bearer, user_id: str
) -> None:
    auth = bearer(user_id)
    task = await create(api, user_id, auth, title="keep", description="me")
    path = f"/api/{user_id}/tasks/{task['id']}"
    error = assert_error(await api.http.patch(path, json={"title": None}, headers=auth), 422)
    assert "title" in error["fields"]
    same = await api.http.patch(path, json={}, headers=auth)
    assert same.status_code == 200
    assert same.json() == task


async def test_limits_are_inclusive(api: Api, bearer: Bearer, user_id: str) -> None:
    auth = bearer(user_id)
    task = await create(api, user_id, auth, title="t" * 200, description="d" * 2000)
    assert len(str(task["title"])) == 200
    page = await api.http.get(f"/api/{user_id}/tasks", params={"limit": 200}, headers=auth)
    assert page.json()["limit"] == 200


async def test_patch_field_errors_name_the_field(api: Api, bearer: Bearer, user_id: str) -> None:
    auth = bearer(user_id)
    task = await create(api, user_id, auth, title="t")
    path = f"/api/{user_id}/tasks/{task['id']}"
    error = assert_error(await api.http.patch(path, json={"title": ""}, headers=auth), 422)
    assert set(error["fields"]) == {"title"}


async def test_undecodable_body_is_422(api: Api, bearer: Bearer, user_id: str) -> None:
    headers = {**bearer(user_id), "Content-Type": "application/json"}
    response = await api.http.post(
        f"/api/{user_id}/tasks", content=b"\xff\xfe\x00", headers=headers
    )
    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"body"}


async def test_dependency_overrides_reach_the_task_routes(
    make_api: AppFactory, user_id: str
) -> None:
    # Benchmarks and tests swap the auth dependency through app.dependency_overrides.
    def setup(app: FastAPI) -> None:
        async def fixed_identity() -> Identity:
            return Identity(sub=user_id, expires_at=time.time() + 60, claims={})

        app.dependency_overrides[get_identity] = fixed_identity

    async with make_api(setup) as api:
        listed = await api.http.get(f"/api/{user_id}/tasks")  # no token at all
    assert listed.status_code == 200
    assert listed.json()["total"] == 0


# ("/" is left out: the path is decoded before routing, so it would split the segment.)
@pytest.mark.parametrize("sub", ["用户-ü", "a b?c#d%e", "\u2028line"])
async def test_location_is_ascii_for_any_subject(api: Api, bearer: Bearer, sub: str) -> None:
    """Location came from the raw subject: outside Latin-1 a 500 after the commit, so a
    client retry created the task twice."""
    auth = bearer(sub)
    base = f"/api/{quote(sub, safe='')}/tasks"
    created = await api.http.post(base, json={"title": "one"}, headers=auth)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location.isascii()
    assert location == f"{base}/{created.json()['id']}"
    read = await api.http.get(location, headers=auth)
    assert read.status_code == 200
    assert read.json() == created.json()
    assert (await api.http.get(base, headers=auth)).json()["total"] == 1
