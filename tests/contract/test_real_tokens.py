"""Real tokens: sign up through Better Auth on the running frontend, use its JWT.

This keeps the mock issuer honest: the real token must have the same header fields, claim
set, issuer, audience and lifetime as a minted one, and the backend must treat it the same
way (200 on the user's own path, 403 on anyone else's).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import jwt
import pytest
from faker import Faker

from harness.demo import frontend_client
from harness.issuer import IssuerControl
from harness.pytest_plugin import User, sign_up
from harness.stack import Stack
from harness.waiting import poll

from .support import assert_error

# The backend learns a new kid on its next JWKS fetch, at most one cool-down (30 s) away;
# until then the kid is not known yet: 503 + Retry-After, never a 401.
FIRST_USE_TIMEOUT = 45.0


@pytest.fixture
def frontend(stack: Stack) -> Iterator[httpx.Client]:
    with frontend_client(stack) as client:
        yield client


def until_accepted(api: httpx.Client, user: User) -> httpx.Response:
    def probe() -> httpx.Response | None:
        response = api.get(user.tasks_path, headers=user.headers)
        return None if response.status_code == 503 else response

    return poll(probe, timeout=FIRST_USE_TIMEOUT, what="the backend to accept a real token")


def test_real_token_has_the_mock_tokens_shape(
    stack: Stack, issuer: IssuerControl, faker_session: Faker, user: User
) -> None:
    real = sign_up(stack, faker_session)
    header = jwt.get_unverified_header(real.token)
    claims = jwt.decode(real.token, options={"verify_signature": False})
    mock_header = jwt.get_unverified_header(user.token)
    mock_claims = jwt.decode(user.token, options={"verify_signature": False})

    assert set(header) == set(mock_header) == {"alg", "kid"}
    assert header["alg"] == mock_header["alg"] == "RS256"
    assert set(claims) == set(mock_claims) == {"iat", "sub", "exp", "iss", "aud"}
    assert claims["sub"] == real.id
    assert claims["iss"] == mock_claims["iss"] == stack.jwt_issuer
    assert claims["aud"] == mock_claims["aud"] == stack.jwt_audience
    assert claims["exp"] - claims["iat"] == mock_claims["exp"] - mock_claims["iat"]
    # What the backend trusts (the mock issuer's JWKS, merged with Better Auth's) has the key.
    kids = {key["kid"] for key in httpx.get(stack.jwks_url, timeout=10).json()["keys"]}
    assert header["kid"] in kids


def test_backend_accepts_a_real_token_on_its_own_path_only(
    stack: Stack, api: httpx.Client, faker_session: Faker, user: User
) -> None:
    alice, bob = sign_up(stack, faker_session), sign_up(stack, faker_session)
    first = until_accepted(api, alice)
    assert first.status_code == 200, first.text
    assert first.json()["items"] == []

    created = api.post(alice.tasks_path, json={"title": "real"}, headers=alice.headers)
    assert created.status_code == 201, created.text
    assert created.json()["user_id"] == alice.id

    # Another user's path: a real user's and a minted user's alike.
    assert_error(api.get(bob.tasks_path, headers=alice.headers), 403, "forbidden")
    assert_error(api.get(user.tasks_path, headers=alice.headers), 403, "forbidden")
    assert_error(api.get(alice.tasks_path, headers=bob.headers), 403, "forbidden")
    item = f"{alice.tasks_path}/{created.json()['id']}"
    assert_error(api.delete(item, headers=bob.headers), 403, "forbidden")
    assert api.get(item, headers=alice.headers).status_code == 200


def test_token_endpoint_needs_a_session(frontend: httpx.Client) -> None:
    assert frontend.get("/api/auth/token").status_code == 401
