"""CORS: the frontend's origin may call the API with credentials; no other origin may.

The allowed origin is the running frontend's (``stack.frontend_url``), which is how the
stack configures ``CORS_ORIGINS``.
"""

from __future__ import annotations

import httpx
import pytest

from harness.pytest_plugin import User
from harness.stack import Stack

from .support import assert_error

EVIL_ORIGIN = "http://evil.localhost:4000"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def preflight(
    api: httpx.Client, path: str, origin: str, method: str, headers: str = "authorization"
) -> httpx.Response:
    return api.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def header_list(response: httpx.Response, name: str) -> set[str]:
    return {item.strip().lower() for item in response.headers.get(name, "").split(",") if item}


@pytest.mark.parametrize("method", ["GET", *WRITE_METHODS])
def test_preflight_from_the_frontend_origin(
    api: httpx.Client, stack: Stack, user: User, method: str
) -> None:
    path = f"{user.tasks_path}/00000000-0000-4000-8000-000000000000"
    response = preflight(api, path, stack.frontend_url, method, "authorization, content-type")
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == stack.frontend_url
    assert response.headers["access-control-allow-credentials"] == "true"
    assert method.lower() in header_list(response, "access-control-allow-methods")
    assert {"authorization", "content-type"} <= header_list(
        response, "access-control-allow-headers"
    )
    assert int(response.headers["access-control-max-age"]) > 0
    assert "origin" in header_list(response, "vary")


def test_preflight_from_another_origin_is_refused(api: httpx.Client, user: User) -> None:
    response = preflight(api, user.tasks_path, EVIL_ORIGIN, "DELETE")
    # Without an allow-origin grant the browser blocks the request; Starlette still sends
    # its static allow-credentials header, which grants nothing on its own.
    assert "access-control-allow-origin" not in response.headers
    assert_error(response, 400, "cors_rejected")


def test_preflight_for_an_unlisted_header_is_refused(
    api: httpx.Client, stack: Stack, user: User
) -> None:
    response = preflight(api, user.tasks_path, stack.frontend_url, "GET", "x-evil-header")
    assert_error(response, 400, "cors_rejected")
    assert "x-evil-header" not in header_list(response, "access-control-allow-headers")


def test_simple_request_from_the_frontend_origin(
    api: httpx.Client, stack: Stack, user: User
) -> None:
    response = api.get(user.tasks_path, headers={**user.headers, "Origin": stack.frontend_url})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == stack.frontend_url
    assert response.headers["access-control-allow-credentials"] == "true"
    # The client may read the request id and the auth challenge.
    exposed = header_list(response, "access-control-expose-headers")
    assert {"x-request-id", "www-authenticate", "retry-after"} <= exposed
    assert "origin" in header_list(response, "vary")


def test_errors_carry_cors_headers_for_the_frontend(
    api: httpx.Client, stack: Stack, user: User
) -> None:
    """A 401 the browser cannot read would look like a network error to the app."""
    response = api.get(user.tasks_path, headers={"Origin": stack.frontend_url})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == stack.frontend_url


def test_simple_request_from_another_origin_gets_no_cors_grant(
    api: httpx.Client, user: User
) -> None:
    # The server still answers (CORS is enforced by browsers), but grants nothing.
    response = api.get(user.tasks_path, headers={**user.headers, "Origin": EVIL_ORIGIN})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_request_without_origin_has_no_cors_headers(api: httpx.Client, user: User) -> None:
    response = api.get(user.tasks_path, headers=user.headers)
    assert response.status_code == 200
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def test_wildcard_and_null_origins_are_not_echoed(api: httpx.Client, user: User) -> None:
    for origin in ("null", "*", "http://localhost", "http://localhost.evil.example"):
        response = api.get(user.tasks_path, headers={**user.headers, "Origin": origin})
        assert "access-control-allow-origin" not in response.headers, origin
