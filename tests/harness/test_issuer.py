"""The mock issuer: tokens verify against its JWKS; expiry, nbf, kids, rotation, counters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from harness.errors import IssuerError
from harness.issuer import Issuer, IssuerClient, IssuerServer

ORIGIN = "http://localhost:3000"


@pytest.fixture(scope="module")
def server() -> Iterator[IssuerServer]:
    with IssuerServer(Issuer(ORIGIN)) as running:
        yield running


@pytest.fixture
def client(server: IssuerServer) -> Iterator[IssuerClient]:
    server.recover()
    with IssuerClient(server.url) as c:
        yield c


def verify(token: str, jwks_url: str) -> dict[str, Any]:
    key = jwt.PyJWKClient(jwks_url, cache_keys=False).get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key,
        algorithms=["RS256"],
        audience=ORIGIN,
        issuer=ORIGIN,
        options={"require": ["exp", "iat", "sub", "iss", "aud"]},
    )


def test_token_has_better_auth_shape_and_verifies(
    client: IssuerClient, server: IssuerServer
) -> None:
    token = client.mint("user-1")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": client.kid}
    claims = verify(token, server.jwks_url)
    assert set(claims) == {"iat", "sub", "exp", "iss", "aud"}
    assert claims["sub"] == "user-1"
    assert claims["iss"] == claims["aud"] == ORIGIN
    assert 890 <= int(claims["exp"]) - int(claims["iat"]) <= 900


def test_jwks_matches_better_auth_format(client: IssuerClient) -> None:
    keys = client.jwks()["keys"]
    assert keys
    for key in keys:
        assert set(key) == {"kty", "n", "e", "alg", "kid"}
        assert key["kty"] == "RSA"
        assert key["alg"] == "RS256"


def test_expired_token_is_refused_by_pyjwt(client: IssuerClient, server: IssuerServer) -> None:
    token = client.mint("user-1", ttl=-60)
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(token, server.jwks_url)


def test_future_nbf_is_refused(client: IssuerClient, server: IssuerServer) -> None:
    token = client.mint("user-1", nbf=time.time() + 3600)
    with pytest.raises(jwt.ImmatureSignatureError):
        verify(token, server.jwks_url)


def test_claims_headers_and_omissions(client: IssuerClient) -> None:
    token = client.mint(
        "u", claims={"role": "admin", "aud": "other"}, headers={"jku": "http://x"}, omit=["iat"]
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["role"] == "admin"
    assert claims["aud"] == "other"
    assert "iat" not in claims
    assert jwt.get_unverified_header(token)["jku"] == "http://x"
    no_sub = jwt.decode(client.mint(None), options={"verify_signature": False})
    assert "sub" not in no_sub


def test_rotation_keeps_or_drops_old_keys(client: IssuerClient, server: IssuerServer) -> None:
    old = client.kid
    old_token = client.mint("u")
    new = client.rotate(keep_old=True)
    assert new != old
    assert {old, new} <= {k["kid"] for k in client.jwks()["keys"]}
    assert jwt.get_unverified_header(client.mint("u"))["kid"] == new
    assert verify(old_token, server.jwks_url)["sub"] == "u"
    client.drop(old)
    assert old not in {k["kid"] for k in client.jwks()["keys"]}
    with pytest.raises(jwt.PyJWKClientError):
        verify(old_token, server.jwks_url)
    assert client.rotate(keep_old=False) not in (old, new)
    assert len(client.jwks()["keys"]) == 1


def test_mint_with_unknown_kid_is_refused(client: IssuerClient) -> None:
    with pytest.raises(IssuerError, match="404"):
        client.mint("u", kid="no-such-kid")


def test_counters_count_jwks_fetches(client: IssuerClient, server: IssuerServer) -> None:
    client.reset()
    for _ in range(3):
        httpx.get(server.jwks_url).raise_for_status()
    httpx.get(f"{server.url}/api/auth/jwks").raise_for_status()
    assert client.stats().jwks_hits == 4


def test_fail_mode_error_then_recover(client: IssuerClient, server: IssuerServer) -> None:
    client.fail(30, "error")
    assert httpx.get(server.jwks_url).status_code == 503
    client.recover()
    assert httpx.get(server.jwks_url).status_code == 200


def test_fail_mode_hang_delays_the_answer(client: IssuerClient, server: IssuerServer) -> None:
    client.fail(30, "hang")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(server.jwks_url, timeout=0.3)
    client.recover()


def test_bad_admin_input_is_a_clear_422(server: IssuerServer) -> None:
    response = httpx.post(f"{server.url}/admin/mint", content=b"{not json")
    assert response.status_code == 422
    assert httpx.post(f"{server.url}/admin/mint", json={}).status_code == 422
    assert httpx.post(f"{server.url}/admin/fail", json={"mode": "explode"}).status_code == 422


def test_upstream_jwks_is_merged(server: IssuerServer) -> None:
    with IssuerServer(Issuer(ORIGIN), upstream_jwks=server.jwks_url) as proxy:
        kids = {k["kid"] for k in httpx.get(proxy.jwks_url).json()["keys"]}
        assert proxy.issuer.kid in kids
        assert server.issuer.kid in kids


def test_key_file_persists_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = Issuer(ORIGIN, key_file=path)
    rotated = first.rotate()
    assert path.stat().st_mode & 0o077 == 0
    second = Issuer(ORIGIN, key_file=path)
    assert second.kids == first.kids
    assert second.kid == rotated


def test_unreadable_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text("{}")
    with pytest.raises(IssuerError, match="unreadable key file"):
        Issuer(ORIGIN, key_file=path)
