"""Better Auth rotating its signing key, followed by the backend: the real flow, no mock.

A stack of its own (the shared one rotates every 30 days) whose frontend rotates every
3 s and keeps a retired key published for 12 s, with 40 s tokens, a backend trusting
Better Auth's JWKS directly and a 1 s JWKS cool-down. It shows that:

- while keys rotate, tokens fetched from ``/api/auth/token`` are accepted: zero 401s (a
  kid the backend has not fetched yet may get a temporary 503 with ``Retry-After``, never
  a refusal that would end a session), across at least three keys;
- a token signed by a key that has left the JWKS, still far from its ``exp``, is refused
  within the JWKS max-age (its ``Cache-Control``) plus the cool-down after the key left --
  with only that token's own requests reaching the backend, answered from the
  verified-token cache until then.

Nothing sleeps: every wait polls with a deadline.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import jwt
import pytest
from faker import Faker

from harness.demo import frontend_client
from harness.pytest_plugin import extra_stack, sign_up_with
from harness.stack import Stack

from .support import (
    COOLDOWN,
    GRACE,
    INTERVAL,
    ROTATING,
    assert_error,
    assert_invalid_token,
    audit_entry,
    wait_for_log_entries,
)

KEYS_TO_SEE = 3
# Polling interval and request time on a loaded 2-core machine.
SLACK = 2.0


@pytest.fixture
def rotating(request: pytest.FixtureRequest) -> Stack:
    """Started with the run's stack (tests/contract/conftest.py), or now."""
    return extra_stack(request, "key-rotation", ROTATING)


@dataclass
class Session:
    """A signed-up account on the rotating stack: fresh tokens from its session cookie."""

    web: httpx.Client
    api: httpx.Client
    user_id: str
    statuses: list[int] = field(default_factory=list)

    def token(self) -> str:
        issued = self.web.get("/api/auth/token")
        assert issued.status_code == 200, issued.text
        token: str = issued.json()["token"]
        return token

    def call(self, token: str) -> httpx.Response:
        response = self.api.get(
            f"/api/{self.user_id}/tasks", headers={"Authorization": f"Bearer {token}"}
        )
        self.statuses.append(response.status_code)
        return response

    def published_kids(self) -> set[str]:
        return {key["kid"] for key in self.web.get("/api/auth/jwks").json()["keys"]}


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def accepted_after_retries(session: Session, token: str, first: httpx.Response) -> None:
    """A 503 is temporary: Retry-After is honoured and the same token then succeeds."""
    response = first
    deadline = time.monotonic() + 15
    while response.status_code == 503:
        assert_error(response, 503, "jwks_unavailable")
        assert time.monotonic() < deadline, "still 503 after 15 s"
        time.sleep(min(float(response.headers["retry-after"]), 2.0))
        response = session.call(token)
    assert response.status_code == 200, response.text


@pytest.fixture
def session(rotating: Stack, faker_session: Faker) -> Iterator[Session]:
    with (
        frontend_client(rotating) as web,
        httpx.Client(base_url=rotating.backend_url, timeout=15.0) as api,
    ):
        user_id, _ = sign_up_with(web, faker_session)
        yield Session(web=web, api=api, user_id=user_id)


def test_backend_follows_a_real_rotation_and_refuses_a_removed_key(
    rotating: Stack, session: Session
) -> None:
    first = session.token()
    first_kid = kid_of(first)
    first_exp = jwt.decode(first, options={"verify_signature": False})["exp"]
    accepted_after_retries(session, first, session.call(first))

    # Keys rotate while tokens are fetched and used: every one is accepted.
    kids = [first_kid]
    deadline = time.monotonic() + INTERVAL * (KEYS_TO_SEE + 3) + 15
    while len(set(kids)) < KEYS_TO_SEE:
        assert time.monotonic() < deadline, f"saw only keys {sorted(set(kids))}"
        token = session.token()
        kids.append(kid_of(token))
        accepted_after_retries(session, token, session.call(token))
        time.sleep(0.2)
    assert 401 not in session.statuses, session.statuses
    assert set(session.statuses) <= {200, 503}

    # The first key leaves the JWKS once its grace period is over; until then its token,
    # far from expiry, is accepted, and from then on it is refused within max-age + cool-down.
    cache_control = session.web.get("/api/auth/jwks").headers["cache-control"]
    max_age = int(re.findall(r"max-age=(\d+)", cache_control)[0])
    assert max_age <= GRACE
    deadline = time.monotonic() + INTERVAL + GRACE + 15
    while first_kid in session.published_kids():
        assert time.monotonic() < deadline, "the first key was never retired"
        assert session.call(first).status_code == 200
        time.sleep(0.2)
    removed_at = time.monotonic()

    refusal = session.call(first)
    while refusal.status_code == 200:
        assert time.monotonic() - removed_at <= max_age + COOLDOWN + SLACK, (
            "a removed key was still accepted past the JWKS max-age plus the cool-down"
        )
        time.sleep(0.2)
        refusal = session.call(first)
    assert_invalid_token(refusal)
    assert time.time() < first_exp - 10, "refused only because it expired: nothing proven"
    entries = wait_for_log_entries(
        rotating, "backend", [refusal.headers["x-request-id"]], event="auth_failed"
    )
    assert audit_entry(entries[refusal.headers["x-request-id"]], "auth_failed")["reason"] == (
        "unknown_kid"
    )
    # The session itself is untouched: its next token (a live key) works.
    token = session.token()
    accepted_after_retries(session, token, session.call(token))
