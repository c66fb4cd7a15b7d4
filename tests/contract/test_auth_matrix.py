"""Auth matrix: every case of the attack corpus against the running backend.

Each case asserts the status, the error body and the ``WWW-Authenticate`` challenge, that
nothing reached the jku/x5u listener, and then that the user's valid token still works
(a refusal must not lock the user out or poison a cache).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from harness.attacks import ATTACKS, BY_NAME, Attack, AttackContext, AttackListener, send
from harness.audit import run_audit
from harness.issuer import IssuerControl
from harness.pytest_plugin import User
from harness.stack import Stack

from .support import (
    ATTACK_PROPERTY,
    TASK_ROUTES,
    assert_invalid_token,
    assert_refused,
    audit_entry,
    call,
    route_id,
    wait_for_log_entries,
)

TASKS = "/api/{sub}/tasks"


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.name)
def test_attack_case(
    api: httpx.Client,
    user: User,
    attack: Attack,
    attack_context: AttackContext,
    listener: AttackListener,
    record_property: Callable[[str, object], None],
) -> None:
    probe = attack.probe(attack_context)
    response = send(api, TASKS, probe)
    finding = attack.finding(response)
    record_property(
        ATTACK_PROPERTY,
        json.dumps(
            {
                "name": attack.name,
                "status": response.status_code,
                "control": attack.is_control,
                "expected": response.status_code in attack.expect,
                "finding": finding,
            }
        ),
    )

    assert finding is None, (attack.description, finding)
    assert response.status_code in attack.expect, (attack.description, response.text)
    if response.status_code in (401, 503):
        assert_refused(response)
    if attack.is_control and probe.method == "GET":
        assert response.json()["items"] == []
    if attack.is_control and probe.method == "POST":
        location = response.headers["location"]
        assert location.isascii()
        created = api.get(location, headers={"Authorization": probe.authorization[0]})
        assert created.status_code == 200
        assert created.json() == response.json()
    if attack.targets_listener:
        assert listener.requests == [], "the backend fetched the attacker's URL"

    # Persistence: the user's own valid token is still accepted.
    assert api.get(user.tasks_path, headers=user.headers).status_code == 200


def test_lowercase_scheme_is_accepted_as_documented(api: httpx.Client, user: User) -> None:
    """RFC 7235 2.1: auth schemes are case-insensitive, so 'bearer' and 'BEARER' both work."""
    for scheme in ("bearer", "BEARER", "BeArEr"):
        response = api.get(user.tasks_path, headers={"Authorization": f"{scheme} {user.token}"})
        assert response.status_code == 200, scheme


@pytest.mark.parametrize("route", TASK_ROUTES, ids=route_id)
@pytest.mark.parametrize("case", ["missing-header", "alg-none", "exp-past", "foreign-key"])
def test_every_route_refuses_bad_tokens(
    api: httpx.Client,
    user: User,
    attack_context: AttackContext,
    route: tuple[str, str, dict[str, object] | None],
    case: str,
) -> None:
    authorization = BY_NAME[case].build(attack_context)
    headers = {} if authorization is None else {"Authorization": authorization}
    # A task id that exists: a refusal must come before any lookup.
    task = api.post(user.tasks_path, json={"title": "kept"}, headers=user.headers).json()
    response = call(api, route, user=user.id, task=task["id"], headers=headers)
    assert_refused(response)

    # Nothing changed: still exactly the one task, untouched.
    listing = api.get(user.tasks_path, headers=user.headers).json()
    assert listing["items"] == [task]


def test_refusal_is_audited_without_the_token(
    api: httpx.Client, stack: Stack, user: User, attack_context: AttackContext
) -> None:
    authorization = BY_NAME["signature-flipped"].build(attack_context)
    assert authorization is not None
    response = api.get(user.tasks_path, headers={"Authorization": authorization})
    assert_invalid_token(response)
    request_id = response.headers["x-request-id"]
    entries = wait_for_log_entries(stack, "backend", [request_id], event="auth_failed")
    entry = audit_entry(entries[request_id], "auth_failed")
    assert entry["reason"] == "invalid_signature"
    assert entry["path_user_id"] == user.id
    assert entry["method"] == "GET"
    assert entry["path"] == user.tasks_path
    assert entry["sub"] is None
    assert entry["client_ip"]
    log = stack.logs("backend")
    for secret in (user.token, authorization.removeprefix("Bearer ")):
        assert secret not in log
        assert secret.split(".")[2] not in log


def test_harness_audit_passes_against_the_stack(stack: Stack, issuer: IssuerControl) -> None:
    """The same corpus through ``harness audit``'s code path: 0 accepted, no 5xx."""
    report = run_audit(stack.backend_url, "/api/{sub}/tasks", issuer)
    assert report.error is None
    assert report.failures == []
    assert report.listener_requests == []
    assert report.unexpected == 0
    assert report.passed
