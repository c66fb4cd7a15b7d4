"""Token verification and ownership through HTTP: 401 matrix, 403 on every route, audit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from backend_support import Api, assert_error, audit_lines, signed
from cryptography.hazmat.primitives import serialization

from harness.issuer import Issuer, IssuerServer

pytestmark = pytest.mark.anyio

Bearer = Callable[..., dict[str, str]]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _alg_none(issuer: Issuer, sub: str) -> str:
    header = {"alg": "none", "kid": issuer.kid}
    return f"{_segment(header)}.{_segment(issuer.claims(sub))}."


def _hs256_with_public_key(issuer: Issuer, sub: str) -> str:
    # The RS256 -> HS256 confusion: the attacker "signs" with the published public key.
    public_pem = issuer.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = (
        f"{_segment({'alg': 'HS256', 'kid': issuer.kid})}.{_segment(issuer.claims(sub))}"
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _tampered(issuer: Issuer, sub: str) -> str:
    header, _, signature = issuer.mint("someone-else").split(".")
    return f"{header}.{_segment(issuer.claims(sub))}.{signature}"


def _forged_with_known_kid(issuer: Issuer, sub: str) -> str:
    stranger = Issuer(issuer.issuer, issuer.audience)
    return stranger.mint(sub, headers={"kid": issuer.kid})


def _no_kid(issuer: Issuer, sub: str) -> str:
    return jwt.encode(issuer.claims(sub), issuer.private_key(), algorithm="RS256")


def _with_header(issuer: Issuer, sub: str, **extra: Any) -> str:
    return signed(
        {"alg": "RS256", "kid": issuer.kid, **extra}, issuer.claims(sub), issuer.private_key()
    )


TokenFactory = Callable[[Issuer, str], str]

BAD_TOKENS: dict[str, tuple[TokenFactory, str]] = {
    "expired": (lambda i, s: i.mint(s, ttl=-120), "expired"),
    "future-nbf": (lambda i, s: i.mint(s, nbf=time.time() + 3600), "not_yet_valid"),
    "future-iat": (lambda i, s: i.mint(s, iat=time.time() + 3600), "not_yet_valid"),
    "wrong-iss": (lambda i, s: i.mint(s, claims={"iss": "http://evil.test"}), "invalid_issuer"),
    "wrong-aud": (lambda i, s: i.mint(s, claims={"aud": "http://evil.test"}), "invalid_audience"),
    "alg-none": (_alg_none, "algorithm_not_allowed"),
    "hs256-with-public-key": (_hs256_with_public_key, "algorithm_not_allowed"),
    "unknown-kid": (lambda i, s: i.mint(s, headers={"kid": "no-such-kid"}), "unknown_kid"),
    "no-kid": (_no_kid, "missing_kid"),
    "tampered-payload": (_tampered, "invalid_signature"),
    "forged-with-known-kid": (_forged_with_known_kid, "invalid_signature"),
    "missing-sub": (lambda i, s: i.mint(None), "missing_claim"),
    "missing-exp": (lambda i, s: i.mint(s, omit=["exp"]), "missing_claim"),
    "missing-iat": (lambda i, s: i.mint(s, omit=["iat"]), "missing_claim"),
    "missing-aud": (lambda i, s: i.mint(s, omit=["aud"]), "missing_claim"),
    "non-string-sub": (lambda i, s: i.mint(s, claims={"sub": 42}), "invalid_claim"),
    "empty-sub": (lambda i, s: i.mint(s, claims={"sub": ""}), "invalid_claim"),
    "garbage": (lambda i, s: "not.a.jwt", "malformed_token"),
    # Header parameters of the wrong JSON type made PyJWT raise past the verifier (a 500).
    "kid-not-a-string": (lambda i, s: _with_header(i, s, kid=7), "malformed_token"),
    "kid-an-object": (lambda i, s: _with_header(i, s, kid={"$ne": ""}), "malformed_token"),
    "crit-not-a-list": (lambda i, s: _with_header(i, s, crit="exp"), "malformed_token"),
    "crit-unknown": (lambda i, s: _with_header(i, s, crit=["exp"]), "malformed_token"),
    "crit-b64": (lambda i, s: _with_header(i, s, crit=["b64"], b64=True), "unsupported_header"),
    # exp far out (year 9999; beyond a float) used to be accepted or to overflow (a 500).
    "exp-year-9999": (lambda i, s: i.mint(s, claims={"exp": 253402300799}), "lifetime_too_long"),
    "exp-huge": (lambda i, s: i.mint(s, claims={"exp": 10**400}), "invalid_claim"),
    "iat-string": (lambda i, s: i.mint(s, claims={"iat": str(int(time.time()))}), "invalid_claim"),
    "sub-crlf": (lambda i, s: i.mint(f"{s}\r\nX-Injected: 1"), "invalid_claim"),
    "two-segments": (lambda i, s: "abc.def", "malformed_token"),
}

BAD_HEADERS: dict[str, tuple[dict[str, str], str]] = {
    "missing": ({}, "missing_token"),
    "empty": ({"Authorization": ""}, "missing_token"),
    "scheme-only": ({"Authorization": "Bearer"}, "malformed_header"),
    "basic-scheme": ({"Authorization": "Basic dXNlcjpwYXNz"}, "malformed_header"),
    "token-scheme": ({"Authorization": "Token abc.def.ghi"}, "malformed_header"),
    "two-credentials": ({"Authorization": "Bearer a.b.c d.e.f"}, "malformed_header"),
}


def _assert_401(response: Any, reason: str, caplog: pytest.LogCaptureFixture) -> None:
    assert_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    lines = audit_lines(caplog)
    assert [line["event"] for line in lines] == ["auth_failed"]
    assert lines[0]["reason"] == reason
    assert lines[0]["sub"] is None
    assert lines[0]["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_bad_token_is_401(
    api: Api,
    token_issuer: Issuer,
    user_id: str,
    case: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make, reason = BAD_TOKENS[case]
    token = make(token_issuer, user_id)
    response = await api.http.get(
        f"/api/{user_id}/tasks", headers={"Authorization": f"Bearer {token}"}
    )
    _assert_401(response, reason, caplog)
    assert token not in caplog.text


@pytest.mark.parametrize("case", list(BAD_HEADERS))
async def test_missing_or_malformed_header_is_401(
    api: Api, user_id: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers, reason = BAD_HEADERS[case]
    response = await api.http.get(f"/api/{user_id}/tasks", headers=headers)
    _assert_401(response, reason, caplog)


async def test_scheme_is_case_insensitive(api: Api, token_issuer: Issuer, user_id: str) -> None:
    for scheme in ("bearer", "BEARER", "Bearer"):
        headers = {"Authorization": f"{scheme} {token_issuer.mint(user_id)}"}
        assert (await api.http.get(f"/api/{user_id}/tasks", headers=headers)).status_code == 200


async def test_token_urls_in_the_header_are_never_followed(
    api: Api, token_issuer: Issuer, user_id: str
) -> None:
    attacker = Issuer(token_issuer.issuer, token_issuer.audience)
    with IssuerServer(attacker) as evil:
        headers = {"kid": attacker.kid, "jku": evil.jwks_url, "x5u": evil.jwks_url}
        token = attacker.mint(user_id, headers=headers)
        response = await api.http.get(
            f"/api/{user_id}/tasks", headers={"Authorization": f"Bearer {token}"}
        )
        assert_error(response, 401, "invalid_token")
        assert evil.jwks_hits == 0


async def test_embedded_jwk_is_not_trusted(api: Api, token_issuer: Issuer, user_id: str) -> None:
    attacker = Issuer(token_issuer.issuer, token_issuer.audience)
    embedded = attacker.jwks()["keys"][0]
    token = attacker.mint(user_id, headers={"kid": token_issuer.kid, "jwk": embedded})
    response = await api.http.get(
        f"/api/{user_id}/tasks", headers={"Authorization": f"Bearer {token}"}
    )
    assert_error(response, 401, "invalid_token")


async def test_small_clock_skew_is_tolerated(api: Api, bearer: Bearer, user_id: str) -> None:
    # Expired 3 s ago and issued 3 s in the future: inside the 10 s leeway.
    response = await api.http.get(
        f"/api/{user_id}/tasks", headers=bearer(user_id, ttl=-3, iat=time.time() + 3)
    )
    assert response.status_code == 200


def _all_routes(owner: str, task_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/api/{owner}/tasks"
    return [
        ("GET", base, None),
        ("POST", base, {"title": "intruder"}),
        ("GET", f"{base}/{task_id}", None),
        ("PUT", f"{base}/{task_id}", {"title": "intruder"}),
        ("PATCH", f"{base}/{task_id}", {"title": "intruder"}),
        ("DELETE", f"{base}/{task_id}", None),
        ("PATCH", f"{base}/{task_id}/complete", None),
    ]


async def test_other_users_path_is_403_on_every_route_and_method(
    api: Api,
    bearer: Bearer,
    user_id: str,
    other_user_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    victim = bearer(other_user_id)
    created = await api.http.post(
        f"/api/{other_user_id}/tasks", json={"title": "private"}, headers=victim
    )
    task = created.json()
    attacker = bearer(user_id)
    routes = _all_routes(other_user_id, task["id"])
    for method, path, body in routes:
        response = await api.http.request(method, path, json=body, headers=attacker)
        assert_error(response, 403, "forbidden")
        # Even a task id that does not exist: the owner check comes first.
        missing = path.replace(task["id"], "00000000-0000-0000-0000-000000000000")
        assert (
            await api.http.request(method, missing, json=body, headers=attacker)
        ).status_code == 403

    lines = audit_lines(caplog)
    assert len(lines) == 2 * len(routes)
    for line, (method, path, _) in zip(lines[::2], routes, strict=True):
        assert line["event"] == "access_denied"
        assert line["sub"] == user_id
        assert line["path_user_id"] == other_user_id
        assert (line["method"], line["path"]) == (method, path)
        assert line["client_ip"]
        assert line["request_id"]
    assert "Bearer" not in caplog.text

    listing = await api.http.get(f"/api/{other_user_id}/tasks", headers=victim)
    assert listing.json()["items"] == [task]


async def test_ownership_is_checked_before_the_database(
    make_api: Any, bearer: Bearer, user_id: str, other_user_id: str
) -> None:
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    async with make_api(database_url=unreachable, migrate_on_start=False) as down:
        forbidden = await down.http.get(f"/api/{other_user_id}/tasks", headers=bearer(user_id))
        assert_error(forbidden, 403, "forbidden")
        unavailable = await down.http.get(f"/api/{user_id}/tasks", headers=bearer(user_id))
        assert_error(unavailable, 503, "database_unavailable")
        assert int(unavailable.headers["retry-after"]) > 0


@pytest.mark.parametrize("valid_first", [True, False], ids=["valid-first", "valid-last"])
async def test_two_authorization_headers_are_401(
    api: Api,
    token_issuer: Issuer,
    user_id: str,
    valid_first: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Servers and proxies disagree on which copy counts: neither is trusted."""
    valid = ("Authorization", f"Bearer {token_issuer.mint(user_id)}")
    other = ("Authorization", f"Bearer {token_issuer.mint('someone-else')}")
    headers = [valid, other] if valid_first else [other, valid]
    response = await api.http.get(f"/api/{user_id}/tasks", headers=headers)
    _assert_401(response, "malformed_header", caplog)
