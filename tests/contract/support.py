"""Shared assertions and polling for the contract suite (no fixtures here)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TypeVar

import httpx

from harness.config import StackConfig, Trust
from harness.stack import Stack
from harness.waiting import poll

T = TypeVar("T")

# user_properties: each auth-matrix case's outcome, each fuzz test's number of cases.
ATTACK_PROPERTY = "attack_case"
FUZZ_PROPERTY = "fuzz_cases"
# The schemathesis run with every phase and check: {"cases": n, "failures": n}.
FUZZ_ALL_PHASES_PROPERTY = "fuzz_all_phases"

# Every /api route as (method, path template, JSON body); {user} and {task} are filled in.
TASK_ROUTES: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("GET", "/api/{user}/tasks", None),
    ("POST", "/api/{user}/tasks", {"title": "from a stranger"}),
    ("GET", "/api/{user}/tasks/{task}", None),
    ("PUT", "/api/{user}/tasks/{task}", {"title": "replaced", "completed": True}),
    ("PATCH", "/api/{user}/tasks/{task}", {"title": "patched"}),
    ("DELETE", "/api/{user}/tasks/{task}", None),
    ("PATCH", "/api/{user}/tasks/{task}/complete", None),
)
ITEM_ROUTES = tuple(route for route in TASK_ROUTES if "{task}" in route[1])


def route_id(route: tuple[str, str, Any]) -> str:
    return f"{route[0]} {route[1]}"


def call(
    api: httpx.Client,
    route: tuple[str, str, dict[str, Any] | None],
    *,
    user: str,
    task: str = "",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    method, template, body = route
    path = template.format(user=user, task=task)
    return api.request(method, path, json=body, headers=headers or {})


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error shape: {"error": {"code", "message", "fields"?}}."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert set(error) <= {"code", "message", "fields"}, error
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


def assert_invalid_token(response: httpx.Response) -> None:
    assert_error(response, 401, "invalid_token")
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer"), challenge
    assert 'error="invalid_token"' in challenge, challenge


def assert_refused(response: httpx.Response) -> None:
    """A refusal of the token: 401, or 503 + Retry-After while its kid cannot be looked up
    yet (a kid first seen within the JWKS cool-down is not known to be missing)."""
    if response.status_code == 503:
        assert_error(response, 503, "jwks_unavailable")
        assert int(response.headers["retry-after"]) >= 1
        assert "www-authenticate" not in response.headers
    else:
        assert_invalid_token(response)


def json_lines(text: str) -> list[dict[str, Any]]:
    entries = []
    for line in text.splitlines():
        start = line.find("{")  # container logs may prefix a timestamp
        if start < 0:
            continue
        try:
            entry = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def wait_for_log_entries(
    stack: Stack,
    service: str,
    request_ids: Iterable[str],
    *,
    event: str,
    timeout: float = 20.0,
) -> dict[str, list[dict[str, Any]]]:
    """The service's log entries for each request id, once each has an ``event`` entry."""
    wanted = set(request_ids)

    def probe() -> dict[str, list[dict[str, Any]]] | None:
        found: dict[str, list[dict[str, Any]]] = {rid: [] for rid in wanted}
        for entry in json_lines(stack.logs(service)):
            rid = entry.get("request_id")
            if rid in found:
                found[rid].append(entry)
        done = all(any(e.get("event") == event for e in entries) for entries in found.values())
        return found if done else None

    return poll(probe, timeout=timeout, what=f"{service} log lines for {sorted(wanted)}")


def audit_entry(entries: list[dict[str, Any]], event: str) -> dict[str, Any]:
    matches = [e for e in entries if e.get("event") == event]
    assert len(matches) == 1, entries
    return matches[0]


# The key-rotation test's own stack (test_key_rotation.py), started with the run's (the
# shared one rotates every 30 days): keys rotate every 3 s and stay published for 12 s more,
# 40 s tokens, a backend trusting Better Auth's JWKS directly with a 1 s cool-down.
INTERVAL, GRACE = 3.0, 12.0
LIFETIME = 40
COOLDOWN = 1.0
ROTATING = StackConfig(
    name="key-rotation",
    trust=Trust.BETTER_AUTH,
    jwt_expiration=f"{LIFETIME}s",
    jwks_rotation=(f"{INTERVAL:.0f}s", f"{GRACE:.0f}s"),
    jwks_cooldown_seconds=COOLDOWN,
    auth_rate_limit=False,
)
