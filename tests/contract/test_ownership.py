"""Ownership: a valid token opens only its own subject's tasks.

Another user's ``user_id`` in the path is 403 on every route, with an ``access_denied``
audit line; another user's task under one's own path is 404, indistinguishable from a task
that does not exist; lists never mix users.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from harness.pytest_plugin import User
from harness.stack import Stack

from .support import (
    ITEM_ROUTES,
    TASK_ROUTES,
    assert_error,
    audit_entry,
    call,
    route_id,
    wait_for_log_entries,
)

CreateTask = Callable[..., dict[str, Any]]


def test_other_users_path_is_forbidden_on_every_route_and_audited(
    api: httpx.Client,
    stack: Stack,
    user: User,
    other_user: User,
    create_task: CreateTask,
) -> None:
    victim_task = create_task(other_user, title="private", description="secret plans")
    request_ids: dict[str, tuple[str, str, str]] = {}
    for route in TASK_ROUTES:
        response = call(
            api, route, user=other_user.id, task=victim_task["id"], headers=user.headers
        )
        assert_error(response, 403, "forbidden")
        assert "secret plans" not in response.text
        path = route[1].format(user=other_user.id, task=victim_task["id"])
        request_ids[response.headers["x-request-id"]] = (route[0], path, route_id(route))

    entries = wait_for_log_entries(stack, "backend", request_ids, event="access_denied")
    for request_id, (method, path, label) in request_ids.items():
        entry = audit_entry(entries[request_id], "access_denied")
        assert entry["sub"] == user.id, label
        assert entry["path_user_id"] == other_user.id, label
        assert entry["method"] == method, label
        assert entry["path"] == path, label
        assert entry["client_ip"], label
    log = stack.logs("backend")
    assert user.token not in log
    assert user.token.split(".")[2] not in log

    # The victim's task and list are exactly as they were.
    listing = api.get(other_user.tasks_path, headers=other_user.headers).json()
    assert listing["items"] == [victim_task]
    assert listing["total"] == 1


def test_audit_lines_name_the_peer_not_a_forwarded_address(
    api: httpx.Client, stack: Stack, user: User, other_user: User
) -> None:
    """X-Forwarded-For counts only from a proxy listed in FORWARDED_ALLOW_IPS (none here):
    a client cannot write another address into the audit trail."""
    forged = "203.0.113.9"
    response = api.get(other_user.tasks_path, headers={**user.headers, "X-Forwarded-For": forged})
    assert_error(response, 403, "forbidden")
    request_id = response.headers["x-request-id"]
    entries = wait_for_log_entries(stack, "backend", [request_id], event="access_denied")
    entry = audit_entry(entries[request_id], "access_denied")
    assert entry["client_ip"]
    assert entry["client_ip"] != forged
    if stack.mode == "local":
        assert entry["client_ip"] == "127.0.0.1"


def test_forbidden_comes_before_existence(api: httpx.Client, user: User) -> None:
    """403 for any foreign path, whether or not that user or task exists: no enumeration."""
    stranger = f"nobody-{uuid.uuid4()}"
    for route in TASK_ROUTES:
        response = call(api, route, user=stranger, task=str(uuid.uuid4()), headers=user.headers)
        assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("route", ITEM_ROUTES, ids=route_id)
def test_other_users_task_under_own_path_is_not_found(
    api: httpx.Client,
    user: User,
    other_user: User,
    create_task: CreateTask,
    route: tuple[str, str, dict[str, Any] | None],
) -> None:
    victim_task = create_task(other_user, title="theirs")
    response = call(api, route, user=user.id, task=victim_task["id"], headers=user.headers)
    error = assert_error(response, 404, "not_found")

    # Same answer as for an id that exists nowhere: the 404 is no oracle.
    missing = call(api, route, user=user.id, task=str(uuid.uuid4()), headers=user.headers)
    assert assert_error(missing, 404, "not_found") == error

    unchanged = api.get(
        f"{other_user.tasks_path}/{victim_task['id']}", headers=other_user.headers
    ).json()
    assert unchanged == victim_task


def test_lists_never_mix_users(
    api: httpx.Client, user: User, other_user: User, create_task: CreateTask
) -> None:
    mine = {create_task(user, title=f"mine {i}", completed=i == 0)["id"] for i in range(3)}
    theirs = {
        create_task(other_user, title=f"theirs {i}", completed=i == 0)["id"] for i in range(3)
    }
    for query in ({}, {"completed": "true"}, {"completed": "false"}, {"limit": 200}):
        listing = api.get(user.tasks_path, params=query, headers=user.headers).json()
        ids = {item["id"] for item in listing["items"]}
        assert ids <= mine, query
        assert not ids & theirs, query
        assert {item["user_id"] for item in listing["items"]} <= {user.id}
    assert api.get(user.tasks_path, headers=user.headers).json()["total"] == 3


def test_task_ids_are_random_not_sequential(
    api: httpx.Client, user: User, other_user: User, create_task: CreateTask
) -> None:
    """Ids are version-4 UUIDs (122 random bits): neighbours of one id name nothing."""
    ids = [uuid.UUID(create_task(owner)["id"]) for owner in (user, other_user) * 3]
    assert len(set(ids)) == len(ids)
    for task_id in ids:
        assert task_id.version == 4
        assert task_id.variant == uuid.RFC_4122
    # Incrementing another user's id (the classic IDOR walk) finds nothing of theirs.
    victim = ids[1]
    for guess in (victim.int - 1, victim.int + 1):
        response = api.get(f"{user.tasks_path}/{uuid.UUID(int=guess)}", headers=user.headers)
        assert_error(response, 404, "not_found")
