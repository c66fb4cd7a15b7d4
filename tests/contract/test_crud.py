"""CRUD contract: round trips, validation errors, paging and filters, headers, body limit."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from harness.pytest_plugin import User

from .support import assert_error

CreateTask = Callable[..., dict[str, Any]]
TASK_FIELDS = {"id", "user_id", "title", "description", "completed", "created_at", "updated_at"}
MAX_BODY = 64 * 1024


def test_create_read_list_round_trip(api: httpx.Client, user: User) -> None:
    response = api.post(
        user.tasks_path,
        json={"title": "  Buy milk  ", "description": "two litres"},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert set(task) == TASK_FIELDS
    assert task["title"] == "Buy milk"  # surrounding whitespace is stripped
    assert task["description"] == "two litres"
    assert task["completed"] is False
    assert task["user_id"] == user.id
    assert response.headers["location"] == f"{user.tasks_path}/{task['id']}"

    read = api.get(response.headers["location"], headers=user.headers)
    assert read.status_code == 200
    assert read.json() == task

    listing = api.get(user.tasks_path, headers=user.headers).json()
    assert listing == {"items": [task], "total": 1, "limit": 50, "offset": 0}


def test_replace_patch_toggle_delete(
    api: httpx.Client, user: User, create_task: CreateTask
) -> None:
    task = create_task(user, title="draft", description="notes", completed=False)
    url = f"{user.tasks_path}/{task['id']}"

    replaced = api.put(url, json={"title": "final", "completed": True}, headers=user.headers)
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    # PUT replaces the whole task: the omitted description falls back to its default.
    assert (body["title"], body["description"], body["completed"]) == ("final", "", True)
    assert body["id"] == task["id"]
    assert body["created_at"] == task["created_at"]
    assert body["updated_at"] >= task["updated_at"]

    patched = api.patch(url, json={"description": "only this"}, headers=user.headers)
    assert patched.status_code == 200
    assert (patched.json()["title"], patched.json()["description"]) == ("final", "only this")
    assert patched.json()["completed"] is True

    unchanged = api.patch(url, json={}, headers=user.headers)
    assert unchanged.status_code == 200
    assert unchanged.json() == patched.json()

    first = api.patch(f"{url}/complete", headers=user.headers)
    second = api.patch(f"{url}/complete", headers=user.headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["completed"], second.json()["completed"]) == (False, True)

    deleted = api.delete(url, headers=user.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(api.get(url, headers=user.headers), 404, "not_found")
    assert_error(api.delete(url, headers=user.headers), 404, "not_found")
    assert_error(api.patch(f"{url}/complete", headers=user.headers), 404, "not_found")
    assert api.get(user.tasks_path, headers=user.headers).json()["total"] == 0


@pytest.mark.parametrize("task_id", ["not-a-uuid", "1", "00000000-0000-0000-0000-000000000000"])
def test_unknown_task_ids_are_not_found(api: httpx.Client, user: User, task_id: str) -> None:
    assert_error(api.get(f"{user.tasks_path}/{task_id}", headers=user.headers), 404, "not_found")


INVALID_BODIES: list[tuple[str, str, Any, str]] = [
    ("POST", "", {"title": ""}, "title"),
    ("POST", "", {"title": "   "}, "title"),
    ("POST", "", {"title": "x" * 201}, "title"),
    ("POST", "", {}, "title"),
    ("POST", "", {"title": 123}, "title"),
    ("POST", "", {"title": ["a"]}, "title"),
    ("POST", "", {"title": "nul\x00byte"}, "title"),
    ("POST", "", {"title": "ok", "description": "x" * 2001}, "description"),
    ("POST", "", {"title": "ok", "completed": "maybe"}, "completed"),
    ("POST", "", {"title": "ok", "completed": []}, "completed"),
    ("POST", "", {"title": "ok", "completed": 0}, "completed"),
    ("POST", "", {"title": "ok", "completed": "true"}, "completed"),
    ("PATCH", "/{task}", {"completed": 1}, "completed"),
    ("POST", "", {"title": "ok", "owner": "someone"}, "owner"),
    ("POST", "", {"title": "ok", "user_id": "someone-else"}, "user_id"),
    ("POST", "", {"title": "ok", "id": str(uuid.uuid4())}, "id"),
    ("POST", "", ["title"], "body"),
    ("PUT", "/{task}", {"description": "no title"}, "title"),
    ("PUT", "/{task}", {"title": "ok", "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ("PATCH", "/{task}", {"title": None}, "title"),
    ("PATCH", "/{task}", {"completed": None}, "completed"),
    ("PATCH", "/{task}", {"title": ""}, "title"),
    ("PATCH", "/{task}", {"bogus": 1}, "bogus"),
]


@pytest.mark.parametrize(
    ("method", "suffix", "body", "field"),
    INVALID_BODIES,
    ids=[f"{m}-{f}-{i}" for i, (m, _, _, f) in enumerate(INVALID_BODIES)],
)
def test_invalid_bodies_are_422_naming_the_field(
    api: httpx.Client,
    user: User,
    create_task: CreateTask,
    method: str,
    suffix: str,
    body: Any,
    field: str,
) -> None:
    task = create_task(user, title="original")
    url = user.tasks_path + suffix.format(task=task["id"])
    response = api.request(method, url, json=body, headers=user.headers)
    error = assert_error(response, 422, "validation_error")
    assert field in error["fields"], error
    # Nothing was written.
    listing = api.get(user.tasks_path, headers=user.headers).json()
    assert listing["items"] == [task]


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"title": "unterminated',
        b"\xff\xfe{}",
        b"A\xc3\x28",
        b'{"title": "\xc3\x28"}',
    ],
    ids=["not-json", "unterminated", "bom", "bad-utf8", "bad-utf8-in-string"],
)
def test_unparseable_json_is_422(api: httpx.Client, user: User, raw: bytes) -> None:
    headers = {**user.headers, "Content-Type": "application/json"}
    response = api.post(user.tasks_path, content=raw, headers=headers)
    error = assert_error(response, 422, "validation_error")
    assert "body" in error["fields"]


def test_boundary_lengths_are_accepted(api: httpx.Client, user: User) -> None:
    body = {"title": "t" * 200, "description": "d" * 2000}
    response = api.post(user.tasks_path, json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    assert len(response.json()["title"]) == 200


@pytest.fixture
def five_tasks(api: httpx.Client, user: User, create_task: CreateTask) -> list[dict[str, Any]]:
    """Five tasks created in order; tasks 0, 2 and 4 are completed."""
    return [create_task(user, title=f"task {i}", completed=i % 2 == 0) for i in range(5)]


def test_paging_is_newest_first_and_complete(
    api: httpx.Client, user: User, five_tasks: list[dict[str, Any]]
) -> None:
    seen: list[str] = []
    for offset in (0, 2, 4):
        page = api.get(
            user.tasks_path, params={"limit": 2, "offset": offset}, headers=user.headers
        ).json()
        assert (page["total"], page["limit"], page["offset"]) == (5, 2, offset)
        assert len(page["items"]) == min(2, 5 - offset)
        seen += [item["id"] for item in page["items"]]
    assert seen == [task["id"] for task in reversed(five_tasks)]

    beyond = api.get(user.tasks_path, params={"offset": 10}, headers=user.headers).json()
    assert beyond["items"] == []
    assert beyond["total"] == 5


@pytest.mark.parametrize(("completed", "expected"), [("true", {0, 2, 4}), ("false", {1, 3})])
def test_completed_filter(
    api: httpx.Client,
    user: User,
    five_tasks: list[dict[str, Any]],
    completed: str,
    expected: set[int],
) -> None:
    page = api.get(user.tasks_path, params={"completed": completed}, headers=user.headers).json()
    assert {item["id"] for item in page["items"]} == {five_tasks[i]["id"] for i in expected}
    assert page["total"] == len(expected)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"completed": "maybe"}, "completed"),
    ],
)
def test_invalid_query_is_422(
    api: httpx.Client, user: User, params: dict[str, Any], field: str
) -> None:
    response = api.get(user.tasks_path, params=params, headers=user.headers)
    error = assert_error(response, 422, "validation_error")
    assert field in error["fields"]


def test_responses_are_not_cacheable_and_carry_a_request_id(
    api: httpx.Client, user: User, create_task: CreateTask
) -> None:
    task = create_task(user)
    responses = [
        api.get(user.tasks_path, headers=user.headers),
        api.get(f"{user.tasks_path}/{task['id']}", headers=user.headers),
        api.post(user.tasks_path, json={"title": "x"}, headers=user.headers),
        api.post(user.tasks_path, json={}, headers=user.headers),
        api.get(f"{user.tasks_path}/{uuid.uuid4()}", headers=user.headers),
        api.get(user.tasks_path),
    ]
    assert [r.status_code for r in responses] == [200, 200, 201, 422, 404, 401]
    for response in responses:
        assert "no-store" in response.headers["cache-control"]
        assert response.headers["x-request-id"]
        assert response.headers["x-content-type-options"] == "nosniff"
    assert len({r.headers["x-request-id"] for r in responses}) == len(responses)


def test_client_request_id_is_echoed_when_well_formed(api: httpx.Client, user: User) -> None:
    good = api.get(user.tasks_path, headers={**user.headers, "X-Request-ID": "trace-42.a:b"})
    assert good.headers["x-request-id"] == "trace-42.a:b"
    bad = api.get(user.tasks_path, headers={**user.headers, "X-Request-ID": "x" * 500})
    assert bad.headers["x-request-id"] != "x" * 500


def test_unsupported_method_is_405_with_error_shape(
    api: httpx.Client, user: User, create_task: CreateTask
) -> None:
    task = create_task(user)
    response = api.post(f"{user.tasks_path}/{task['id']}", json={}, headers=user.headers)
    assert_error(response, 405)


def _oversized_body() -> bytes:
    return json.dumps({"title": "big", "description": "x" * (MAX_BODY + 1)}).encode()


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 8192):
        yield data[start : start + 8192]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_bodies_over_64_kib_are_413(
    api: httpx.Client, user: User, create_task: CreateTask, method: str, framing: str
) -> None:
    task = create_task(user, title="kept")
    url = user.tasks_path if method == "POST" else f"{user.tasks_path}/{task['id']}"
    data = _oversized_body()
    content: bytes | Iterator[bytes] = data if framing == "content-length" else _chunks(data)
    headers = {**user.headers, "Content-Type": "application/json"}
    response = api.request(method, url, content=content, headers=headers)
    assert_error(response, 413, "payload_too_large")
    assert api.get(user.tasks_path, headers=user.headers).json()["items"] == [task]


def test_body_at_the_limit_reaches_validation(api: httpx.Client, user: User) -> None:
    prefix = b'{"title": "big", "description": "'
    filler = b"x" * (MAX_BODY - len(prefix) - 2)
    data = prefix + filler + b'"}'
    assert len(data) == MAX_BODY
    headers = {**user.headers, "Content-Type": "application/json"}
    response = api.post(user.tasks_path, content=data, headers=headers)
    error = assert_error(response, 422, "validation_error")
    assert "description" in error["fields"]
