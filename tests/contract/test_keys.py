"""Keys over time: rotation, an unreachable JWKS, random-kid floods, recovery.

Each test runs against a fork of the stack -- its own issuer and backend on the shared
database -- with a short JWKS cool-down, so rotating keys or breaking the JWKS never
disturbs tests that share the main stack. Nothing sleeps: every wait polls the backend.
"""

from __future__ import annotations

import math
import secrets
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
import pytest

from harness.stack import Stack
from harness.waiting import poll

from .support import assert_error, assert_invalid_token

COOLDOWN = 1.0
POLL_TIMEOUT = 30.0


class Fork:
    """A forked issuer + backend and a subject to mint tokens for."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.issuer = stack.issuer
        self.api = httpx.Client(base_url=stack.backend_url, timeout=15.0)
        self.sub = str(uuid.uuid4())

    def token(self, **options: Any) -> str:
        # A jti makes every token distinct, so none is answered from the verified-token cache.
        claims = {"jti": secrets.token_hex(8)}
        return self.issuer.mint(self.sub, claims=claims, **options)

    def get(self, token: str) -> httpx.Response:
        return self.api.get(f"/api/{self.sub}/tasks", headers={"Authorization": f"Bearer {token}"})

    def status(self, token: str) -> int:
        return self.get(token).status_code

    def random_kid_token(self) -> str:
        return self.token(headers={"kid": secrets.token_urlsafe(12)})


@pytest.fixture
def fork(stack_fork: Callable[..., Stack]) -> Callable[..., Fork]:
    def make(cooldown: float = COOLDOWN) -> Fork:
        return Fork(stack_fork(jwks_cooldown_seconds=cooldown))

    return make


def until_status(what: str, probe: Callable[[], int], wanted: int) -> None:
    poll(lambda: True if probe() == wanted else None, timeout=POLL_TIMEOUT, what=what)


def test_rotation_new_kid_accepted_old_kid_valid_until_dropped(fork: Callable[..., Fork]) -> None:
    f = fork()
    old_kid = f.issuer.kid
    old_token = f.token()
    assert f.status(old_token) == 200  # first use: the backend fetches the JWKS

    new_kid = f.issuer.rotate(keep_old=True)
    new_token = f.token()
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    # Right after the fetch the cool-down may still run: the new kid is then a temporary 503,
    # never a 401, and it is accepted once the backend refetches.
    first = f.get(new_token)
    assert first.status_code in (200, 503), first.text
    until_status("the rotated key to be accepted", lambda: f.status(f.token()), 200)
    assert f.status(new_token) == 200

    # The old key is still published: old-kid tokens keep working.
    assert f.status(f.token(kid=old_kid)) == 200
    assert f.status(old_token) == 200

    # Dropped: refused from the next refetch on (an unknown kid prompts one after the cool-down).
    f.issuer.drop(old_kid)

    def old_token_status() -> int:
        f.status(f.random_kid_token())
        return f.status(old_token)

    until_status("the dropped key to be refused", old_token_status, 401)
    assert_invalid_token(f.get(old_token))
    assert f.status(f.token()) == 200


def test_jwks_down_cached_kid_served_unknown_kid_503_then_recovers(
    fork: Callable[..., Fork],
) -> None:
    f = fork()
    cached_kid = f.issuer.kid
    assert f.status(f.token()) == 200  # the current kid is now cached
    f.issuer.fail(600)
    new_token = f.token(kid=f.issuer.rotate(keep_old=True))

    # Once the cool-down allows a fetch, it fails: the uncached kid gets 503 + Retry-After.
    def unavailable() -> httpx.Response | None:
        response = f.get(new_token)
        return response if response.status_code == 503 else None

    response = poll(unavailable, timeout=POLL_TIMEOUT, what="503 while the JWKS is down")
    assert_error(response, 503, "jwks_unavailable")
    assert int(response.headers["retry-after"]) >= 1
    assert "www-authenticate" not in response.headers
    # The cached key keeps working through the outage.
    for _ in range(5):
        assert f.status(f.token(kid=cached_kid)) == 200

    # Issuer back: the same backend process recovers by itself.
    f.issuer.recover()
    until_status("recovery after the JWKS is back", lambda: f.status(new_token), 200)
    assert f.status(f.token()) == 200


def test_random_kids_cause_bounded_jwks_fetches(fork: Callable[..., Fork]) -> None:
    cooldown = 5.0
    f = fork(cooldown)
    assert f.status(f.token()) == 200
    hits_before = f.issuer.jwks_hits
    tokens = [f.random_kid_token() for _ in range(200)]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(f.status, tokens))
    elapsed = time.monotonic() - started

    # Refused either way: 401 once a fetch looked for the kid, 503 + Retry-After while the
    # cool-down forbids the fetch that could find it (it might be a key published since).
    assert set(statuses) <= {401, 503}, statuses
    fetches = f.issuer.jwks_hits - hits_before
    # At most one refetch per cool-down window the flood spanned (plus the window it began in).
    assert fetches <= math.ceil(elapsed / cooldown) + 1, (fetches, elapsed)
    assert f.status(f.token()) == 200
