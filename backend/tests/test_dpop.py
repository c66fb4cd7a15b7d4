"""DPoP: the proof verifier alone, the replay cache, and the binding policy through HTTP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from backend_support import Api, assert_error, audit_lines
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwt.algorithms import RSAAlgorithm
from pydantic import ValidationError
from todo_api.auth.dpop import (
    DpopReason,
    DpopRefused,
    NonceIssuer,
    ProofVerifier,
    ReplayCache,
    access_token_hash,
    jwk_thumbprint,
)
from todo_api.settings import Settings

from harness import dpop as client_dpop
from harness.dpop import DpopKey, bound_claims, dpop_headers
from harness.issuer import Issuer

URL = "http://testserver/api/alice/tasks"
TOKEN = "header.payload.signature"
MAX_AGE = 60
LEEWAY = 10


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


@pytest.fixture(scope="module")
def key() -> DpopKey:
    return DpopKey.generate()


@pytest.fixture(scope="module")
def other_key() -> DpopKey:
    return DpopKey.generate()


def _verifier(public_url: str | None = None, size: int = 1000) -> ProofVerifier:
    return ProofVerifier(
        algorithms=["ES256", "ES384", "ES512", "EdDSA"],
        max_age=MAX_AGE,
        leeway=LEEWAY,
        replay=ReplayCache(size),
        public_url=public_url,
    )


def _verify(proof: str, key: DpopKey, verifier: ProofVerifier | None = None, **request: Any) -> Any:
    options: dict[str, Any] = {
        "method": "GET",
        "url": URL,
        "access_token": TOKEN,
        "jkt": key.jkt,
        **request,
    }
    return (verifier or _verifier()).verify(proof, **options)


# --- the proof verifier ------------------------------------------------------------


def test_rfc7638_thumbprint_example() -> None:
    # RFC 7638 section 3.1: the RSA key and its SHA-256 thumbprint.
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6"
            "tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5"
            "v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08"
            "qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8a"
            "wapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    expected = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert jwk_thumbprint(jwk) == expected
    assert client_dpop.thumbprint(jwk) == expected


def test_ath_is_the_tokens_sha256() -> None:
    expected = _b64(hashlib.sha256(TOKEN.encode()).digest())
    assert access_token_hash(TOKEN) == expected == client_dpop.access_token_hash(TOKEN)


def test_a_valid_proof_is_accepted(key: DpopKey) -> None:
    proof = key.proof("GET", URL, token=TOKEN)
    verified = _verify(proof, key)
    assert verified.jkt == key.jkt


@pytest.mark.parametrize(
    "htu",
    [
        "HTTP://TestServer/api/alice/tasks",
        "http://testserver:80/api/alice/tasks",
        "http://testserver/api/alice/tasks?limit=5",
        "http://testserver/api/alice/tasks#top",
        "http://testserver/api/%61lice/tasks",
    ],
)
def test_htu_is_compared_after_normalisation(key: DpopKey, htu: str) -> None:
    proof = key.proof("GET", URL, token=TOKEN, claims={"htu": htu})
    assert _verify(proof, key, url=f"{URL}?completed=true").jkt == key.jkt


def test_htu_behind_a_proxy_is_the_public_url(key: DpopKey) -> None:
    public = "https://api.example.test/v1"
    proof = key.proof("GET", f"{public}/api/alice/tasks", token=TOKEN)
    verifier = _verifier(public_url=public)
    assert _verify(proof, key, verifier).jkt == key.jkt
    direct = key.proof("GET", URL, token=TOKEN)
    with pytest.raises(DpopRefused) as refused:
        _verify(direct, key, verifier)
    assert refused.value.reason is DpopReason.URL_MISMATCH


def test_iat_within_the_leeway_is_accepted(key: DpopKey) -> None:
    now = time.time()
    verifier = _verifier()
    for iat in (now + LEEWAY - 2, now - MAX_AGE - LEEWAY + 2):
        assert _verify(key.proof("GET", URL, token=TOKEN, iat=iat), key, verifier)


def _unsigned(key: DpopKey, alg: str, signature: bytes = b"") -> str:
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": key.public_jwk}
    claims = {"htm": "GET", "htu": URL, "iat": int(time.time()), "jti": "j1"}
    return f"{_segment(header)}.{_segment(claims)}.{_b64(signature)}"


def _hs256(key: DpopKey) -> str:
    secret = b"shared"
    header = {
        "typ": "dpop+jwt",
        "alg": "HS256",
        "jwk": {"kty": "oct", "k": _b64(secret)},
    }
    claims = {"htm": "GET", "htu": URL, "iat": int(time.time()), "jti": "j2"}
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _signed_by(other: DpopKey, key: DpopKey) -> str:
    """Header names `key`, the signature is `other`'s."""
    return other.proof("GET", URL, token=TOKEN, headers={"jwk": key.public_jwk})


def _rsa_jwk() -> dict[str, Any]:
    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(public))
    return jwk


def _p384_jwk() -> dict[str, Any]:
    jwk = DpopKey(ec.generate_private_key(ec.SECP384R1())).public_jwk
    return jwk


ProofCase = Callable[[DpopKey, DpopKey], str]
now = time.time

REFUSED: dict[str, tuple[ProofCase, DpopReason]] = {
    "garbage": (lambda k, o: "not-a-jwt", DpopReason.MALFORMED_PROOF),
    "empty": (lambda k, o: "", DpopReason.MALFORMED_PROOF),
    "typ-missing": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, omit=["typ"]),
        DpopReason.INVALID_TYPE,
    ),
    "typ-jwt": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, headers={"typ": "JWT"}),
        DpopReason.INVALID_TYPE,
    ),
    "alg-none": (lambda k, o: _unsigned(k, "none"), DpopReason.ALGORITHM_NOT_ALLOWED),
    "alg-hs256": (lambda k, o: _hs256(k), DpopReason.ALGORITHM_NOT_ALLOWED),
    "psychic-signature": (
        lambda k, o: _unsigned(k, "ES256", bytes(64)),
        DpopReason.INVALID_SIGNATURE,
    ),
    "jwk-missing": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, omit=["jwk"]),
        DpopReason.INVALID_KEY,
    ),
    "jwk-private": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, headers={"jwk": k.private_jwk}),
        DpopReason.INVALID_KEY,
    ),
    "jwk-not-an-object": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, headers={"jwk": "key"}),
        DpopReason.INVALID_KEY,
    ),
    "jwk-rsa-for-es256": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, headers={"jwk": _rsa_jwk()}),
        DpopReason.INVALID_KEY,
    ),
    "jwk-p384-for-es256": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, headers={"jwk": _p384_jwk()}),
        DpopReason.INVALID_KEY,
    ),
    "signed-by-another-key": (lambda k, o: _signed_by(o, k), DpopReason.INVALID_SIGNATURE),
    "iat-missing": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, omit=["iat"]),
        DpopReason.MISSING_CLAIM,
    ),
    "jti-missing": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, omit=["jti"]),
        DpopReason.MISSING_CLAIM,
    ),
    "htm-missing": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, omit=["htm"]),
        DpopReason.MISSING_CLAIM,
    ),
    "htu-missing": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, omit=["htu"]),
        DpopReason.MISSING_CLAIM,
    ),
    "iat-string": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, claims={"iat": str(int(now()))}),
        DpopReason.INVALID_CLAIM,
    ),
    "iat-nan": (lambda k, o: _resigned_payload(k, _nan_claims()), DpopReason.INVALID_CLAIM),
    "jti-empty": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, claims={"jti": ""}),
        DpopReason.INVALID_CLAIM,
    ),
    "wrong-method": (lambda k, o: k.proof("POST", URL, token=TOKEN), DpopReason.METHOD_MISMATCH),
    "lower-case-method": (
        lambda k, o: k.proof("get", URL, token=TOKEN),
        DpopReason.METHOD_MISMATCH,
    ),
    "wrong-path": (
        lambda k, o: k.proof("GET", "http://testserver/api/bob/tasks", token=TOKEN),
        DpopReason.URL_MISMATCH,
    ),
    "wrong-host": (
        lambda k, o: k.proof("GET", "http://elsewhere.test/api/alice/tasks", token=TOKEN),
        DpopReason.URL_MISMATCH,
    ),
    "wrong-scheme": (
        lambda k, o: k.proof("GET", "https://testserver/api/alice/tasks", token=TOKEN),
        DpopReason.URL_MISMATCH,
    ),
    "htu-bad-port": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, claims={"htu": "http://testserver:x/a"}),
        DpopReason.URL_MISMATCH,
    ),
    "htu-not-a-url": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, claims={"htu": "tasks"}),
        DpopReason.URL_MISMATCH,
    ),
    "wrong-port": (
        lambda k, o: k.proof("GET", "http://testserver:8080/api/alice/tasks", token=TOKEN),
        DpopReason.URL_MISMATCH,
    ),
    "iat-stale": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, iat=now() - MAX_AGE - LEEWAY - 5),
        DpopReason.STALE,
    ),
    "iat-future": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, iat=now() + LEEWAY + 5),
        DpopReason.FUTURE,
    ),
    "ath-missing": (lambda k, o: k.proof("GET", URL), DpopReason.ATH_MISMATCH),
    "ath-of-another-token": (
        lambda k, o: k.proof("GET", URL, token="another.token.value"),
        DpopReason.ATH_MISMATCH,
    ),
    "another-key": (lambda k, o: o.proof("GET", URL, token=TOKEN), DpopReason.KEY_MISMATCH),
    "four-segments": (
        lambda k, o: k.proof("GET", URL, token=TOKEN) + ".e30",
        DpopReason.MALFORMED_PROOF,
    ),
    "padded-segment": (
        lambda k, o: k.proof("GET", URL, token=TOKEN).replace(".", "=.", 1),
        DpopReason.MALFORMED_PROOF,
    ),
    "not-base64url": (
        lambda k, o: _resigned_payload(k, "!!!"),
        DpopReason.MALFORMED_PROOF,
    ),
    "payload-not-an-object": (
        lambda k, o: _resigned_payload(k, _b64(b"[1]")),
        DpopReason.MALFORMED_PROOF,
    ),
    "signature-truncated": (
        lambda k, o: _truncated(k.proof("GET", URL, token=TOKEN)),
        DpopReason.INVALID_SIGNATURE,
    ),
    "exp-past": (
        lambda k, o: k.proof("GET", URL, token=TOKEN, claims={"exp": int(now()) - 60}),
        DpopReason.STALE,
    ),
}


def _nan_claims() -> str:
    text = f'{{"htm":"GET","htu":"{URL}","iat":NaN,"jti":"n","ath":"{access_token_hash(TOKEN)}"}}'
    return _b64(text.encode())


def _truncated(proof: str) -> str:
    signing_input, _, signature = proof.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    return f"{signing_input}.{_b64(raw[:-3])}"


def _resigned_payload(key: DpopKey, payload: str) -> str:
    """A proof whose payload segment is `payload`, validly signed by `key`."""
    head = key.proof("GET", URL, token=TOKEN).split(".")[0]
    signing_input = f"{head}.{payload}".encode()
    der = key.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{head}.{payload}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_bad_proof_is_refused_with_its_reason(
    key: DpopKey, other_key: DpopKey, case: str
) -> None:
    make, reason = REFUSED[case]
    with pytest.raises(DpopRefused) as refused:
        _verify(make(key, other_key), key)
    assert refused.value.reason is reason


def test_a_proof_is_accepted_once(key: DpopKey) -> None:
    verifier = _verifier()
    proof = key.proof("GET", URL, token=TOKEN)
    _verify(proof, key, verifier)
    with pytest.raises(DpopRefused) as refused:
        _verify(proof, key, verifier)
    assert refused.value.reason is DpopReason.REPLAYED


def test_an_invalid_proof_does_not_spend_its_jti(key: DpopKey) -> None:
    verifier = _verifier()
    wrong = key.proof("POST", URL, token=TOKEN, jti="same-id")
    with pytest.raises(DpopRefused):
        _verify(wrong, key, verifier)
    assert _verify(key.proof("GET", URL, token=TOKEN, jti="same-id"), key, verifier)


def test_the_verifier_refuses_symmetric_algorithms() -> None:
    with pytest.raises(ValueError, match="HS256"):
        ProofVerifier(algorithms=["HS256"], max_age=60, leeway=0, replay=ReplayCache(10))


# --- the replay cache ----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_replay_cache_forgets_expired_ids() -> None:
    clock = Clock()
    cache = ReplayCache(10, clock=clock)
    assert cache.use("a", 1010)
    assert not cache.use("a", 1010)
    clock.now = 1011
    assert cache.use("b", 1100)
    assert len(cache) == 1


def test_full_replay_cache_never_lets_a_dropped_id_through() -> None:
    clock = Clock()
    cache = ReplayCache(3, clock=clock)
    for n, expiry in enumerate((1050, 1010, 1030)):
        assert cache.use(f"id{n}", expiry)
    assert cache.use("id3", 1060)  # full: id1 (closest to expiry, 1010) is dropped
    assert len(cache) == 3
    assert not cache.use("id1", 1010), "a dropped id must stay refused"
    assert not cache.use("fresh-but-older", 1005)
    assert cache.use("newer", 1070)


def test_concurrent_replays_let_exactly_one_through() -> None:
    cache = ReplayCache(10_000)
    barrier = threading.Barrier(16)
    results: list[bool] = []
    lock = threading.Lock()

    def race() -> None:
        barrier.wait()
        outcome = cache.use("the-one-proof", time.time() + 60)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=race) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 15 + [True]


# --- settings ---------------------------------------------------------------------


def _settings(**values: Any) -> Settings:
    return Settings(
        jwks_url="http://127.0.0.1:9/jwks",
        jwt_issuer="http://localhost:3000",
        jwt_audience="http://localhost:3000",
        **values,
    )


def test_dpop_settings_defaults() -> None:
    settings = _settings()
    assert settings.dpop_mode == "optional"
    assert settings.dpop_algorithms == ["ES256", "ES384", "ES512", "EdDSA"]
    assert settings.dpop_proof_max_age_seconds == 60


@pytest.mark.parametrize(
    "values",
    [
        {"dpop_mode": "sometimes"},
        {"dpop_algorithms": "HS256"},
        {"dpop_algorithms": "ES256,none"},
        {"dpop_proof_max_age_seconds": 0},
        {"dpop_public_api_url": "ftp://api.example.test"},
        {"dpop_public_api_url": "https://api.example.test/?x=1"},
    ],
)
def test_bad_dpop_settings_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _settings(**values)


def test_dpop_mode_is_case_insensitive() -> None:
    assert _settings(dpop_mode=" Required ").dpop_mode == "required"


# --- through HTTP -------------------------------------------------------------------


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # The binding policy does not touch the database: SQLite alone is enough here.
    return f"sqlite:///{tmp_path / 'todo.db'}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["optional", "required"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def dpop_api(make_api: Any, mode: str) -> AsyncIterator[Api]:
    async with make_api(dpop_mode=mode) as running:
        yield running


def _bound(issuer: Issuer, sub: str, key: DpopKey, **mint: Any) -> str:
    return issuer.mint(sub, claims=bound_claims(key.jkt), **mint)


def _url(path: str) -> str:
    return f"http://testserver{path}"


def _assert_dpop_401(
    response: Any, error: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert_error(response, 401, error)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(f'DPoP error="{error}", algs="')
    assert "ES256" in challenge
    lines = audit_lines(caplog)
    assert [line["reason"] for line in lines] == [reason]
    assert lines[0]["event"] == "auth_failed"
    assert "DPoP ey" not in caplog.text


@pytest.mark.anyio
async def test_bound_token_with_proof_works_for_reads_and_writes(
    dpop_api: Api, token_issuer: Issuer, key: DpopKey, user_id: str
) -> None:
    token = _bound(token_issuer, user_id, key)
    path = f"/api/{user_id}/tasks"
    created = await dpop_api.http.post(
        path, json={"title": "bound"}, headers=dpop_headers(key, token, "POST", _url(path))
    )
    assert created.status_code == 201, created.text
    listed = await dpop_api.http.get(
        f"{path}?limit=5", headers=dpop_headers(key, token, "GET", _url(path))
    )
    assert listed.status_code == 200, listed.text
    assert [task["title"] for task in listed.json()["items"]] == ["bound"]


@pytest.mark.anyio
async def test_unbound_bearer_depends_on_the_mode(
    dpop_api: Api, mode: str, token_issuer: Issuer, user_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Authorization": f"Bearer {token_issuer.mint(user_id)}"}
    response = await dpop_api.http.get(f"/api/{user_id}/tasks", headers=headers)
    if mode == "optional":
        assert response.status_code == 200
    else:
        _assert_dpop_401(response, "invalid_token", "dpop_required", caplog)


@pytest.mark.anyio
async def test_bound_token_as_bearer_is_refused(
    dpop_api: Api,
    mode: str,
    token_issuer: Issuer,
    key: DpopKey,
    user_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = _bound(token_issuer, user_id, key)
    path = f"/api/{user_id}/tasks"
    # Even with a valid proof next to it: the scheme says the client ignores the binding.
    headers = {
        "Authorization": f"Bearer {token}",
        "DPoP": key.proof("GET", _url(path), token=token),
    }
    response = await dpop_api.http.get(path, headers=headers)
    if mode == "optional":
        assert_error(response, 401, "invalid_token")
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert [line["reason"] for line in audit_lines(caplog)] == ["bound_token_as_bearer"]
    else:
        _assert_dpop_401(response, "invalid_token", "dpop_required", caplog)


def _case_headers(
    case: str, issuer: Issuer, key: DpopKey, other: DpopKey, sub: str, url: str
) -> list[tuple[str, str]]:
    bound = _bound(issuer, sub, key)
    if case == "missing-proof":
        return [("Authorization", f"DPoP {bound}")]
    if case == "two-proofs":
        return [
            ("Authorization", f"DPoP {bound}"),
            ("DPoP", key.proof("GET", url, token=bound)),
            ("DPoP", key.proof("GET", url, token=bound)),
        ]
    if case == "unbound-token":
        unbound = issuer.mint(sub)
        return [
            ("Authorization", f"DPoP {unbound}"),
            ("DPoP", key.proof("GET", url, token=unbound)),
        ]
    if case == "cnf-without-jkt":
        odd = issuer.mint(sub, claims={"cnf": {"x5t#S256": "abc"}})
        return [("Authorization", f"DPoP {odd}"), ("DPoP", key.proof("GET", url, token=odd))]
    if case == "expired-token":
        expired = _bound(issuer, sub, key, ttl=-120)
        return [
            ("Authorization", f"DPoP {expired}"),
            ("DPoP", key.proof("GET", url, token=expired)),
        ]
    if case == "no-token":
        return [("Authorization", "DPoP"), ("DPoP", key.proof("GET", url))]
    if case == "another-key":
        return [("Authorization", f"DPoP {bound}"), ("DPoP", other.proof("GET", url, token=bound))]
    if case == "wrong-url":
        return [
            ("Authorization", f"DPoP {bound}"),
            ("DPoP", key.proof("GET", "http://testserver/api/else/tasks", token=bound)),
        ]
    raise AssertionError(case)


HTTP_CASES = {
    "missing-proof": ("invalid_dpop_proof", "dpop_missing_proof"),
    "two-proofs": ("invalid_dpop_proof", "dpop_multiple_proofs"),
    "unbound-token": ("invalid_token", "token_not_bound"),
    "cnf-without-jkt": ("invalid_token", "invalid_cnf"),
    "expired-token": ("invalid_token", "expired"),
    "no-token": ("invalid_token", "malformed_header"),
    "another-key": ("invalid_dpop_proof", "dpop_key_mismatch"),
    "wrong-url": ("invalid_dpop_proof", "dpop_url_mismatch"),
}


@pytest.mark.anyio
@pytest.mark.parametrize("case", list(HTTP_CASES))
async def test_dpop_refusals_carry_the_dpop_challenge(
    dpop_api: Api,
    token_issuer: Issuer,
    key: DpopKey,
    other_key: DpopKey,
    user_id: str,
    case: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = f"/api/{user_id}/tasks"
    headers = _case_headers(case, token_issuer, key, other_key, user_id, _url(path))
    response = await dpop_api.http.get(path, headers=headers)
    error, reason = HTTP_CASES[case]
    _assert_dpop_401(response, error, reason, caplog)


@pytest.mark.anyio
async def test_concurrent_replays_of_one_request_pass_once(
    dpop_api: Api, token_issuer: Issuer, key: DpopKey, user_id: str
) -> None:
    path = f"/api/{user_id}/tasks"
    token = _bound(token_issuer, user_id, key)
    headers = dpop_headers(key, token, "GET", _url(path))
    responses = await asyncio.gather(*(dpop_api.http.get(path, headers=headers) for _ in range(12)))
    assert sorted(r.status_code for r in responses) == [200] + [401] * 11


@pytest.mark.anyio
@pytest.mark.parametrize(("store", "second"), [("database", 401), ("memory", 200)])
async def test_a_proof_spent_in_one_process_is_refused_by_another(
    make_api: Any, token_issuer: Issuer, key: DpopKey, user_id: str, store: str, second: int
) -> None:
    """Two apps on one database stand for two workers (or replicas): with the database
    store the second refuses the replay; the per-process memory store cannot see it."""
    path = f"/api/{user_id}/tasks"
    token = _bound(token_issuer, user_id, key)
    headers = dpop_headers(key, token, "GET", _url(path))
    async with (
        make_api(dpop_mode="required", dpop_replay_store=store) as first_worker,
        make_api(dpop_mode="required", dpop_replay_store=store) as second_worker,
    ):
        first = await first_worker.http.get(path, headers=headers)
        assert first.status_code == 200, first.text
        replayed = await second_worker.http.get(path, headers=headers)
        assert replayed.status_code == second, replayed.text
        if second == 401:
            assert_error(replayed, 401, "invalid_dpop_proof")
        again = await first_worker.http.get(path, headers=headers)
        assert_error(again, 401, "invalid_dpop_proof")


@pytest.mark.anyio
async def test_concurrent_replays_across_processes_pass_once(
    make_api: Any, token_issuer: Issuer, key: DpopKey, user_id: str
) -> None:
    path = f"/api/{user_id}/tasks"
    token = _bound(token_issuer, user_id, key)
    headers = dpop_headers(key, token, "GET", _url(path))
    async with make_api(dpop_mode="required") as one, make_api(dpop_mode="required") as two:
        responses = await asyncio.gather(
            *((one if n % 2 else two).http.get(path, headers=headers) for n in range(12))
        )
    assert sorted(r.status_code for r in responses) == [200] + [401] * 11


@pytest.mark.anyio
async def test_weird_proofs_never_cause_a_server_error(
    dpop_api: Api, token_issuer: Issuer, key: DpopKey, user_id: str
) -> None:
    path = f"/api/{user_id}/tasks"
    token = _bound(token_issuer, user_id, key)
    weird = [
        "a.b.c",
        "e30.e30.",
        f"{_segment({'typ': 'dpop+jwt', 'alg': 'ES256', 'jwk': {'kty': 'EC'}})}.e30.",
        f"{_segment({'typ': 'dpop+jwt', 'alg': 'ES256', 'jwk': []})}.e30.",
        f"{_segment({'typ': 7, 'alg': ['ES256']})}.e30.",
        "x" * 9000,
    ]
    for proof in weird:
        headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
        response = await dpop_api.http.get(path, headers=headers)
        assert_error(response, 401, "invalid_dpop_proof")


@pytest.mark.anyio
async def test_preflight_allows_the_dpop_header(dpop_api: Api, user_id: str) -> None:
    response = await dpop_api.http.options(
        f"/api/{user_id}/tasks",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, dpop",
        },
    )
    assert response.status_code == 200
    assert "dpop" in response.headers["access-control-allow-headers"].lower()


@pytest.mark.anyio
async def test_public_api_url_is_what_htu_must_name(
    make_api: Any, token_issuer: Issuer, key: DpopKey, user_id: str
) -> None:
    public = "https://tasks.example.test"
    path = f"/api/{user_id}/tasks"
    token = _bound(token_issuer, user_id, key)
    async with make_api(dpop_mode="required", dpop_public_api_url=public) as proxied:
        behind = await proxied.http.get(
            path, headers=dpop_headers(key, token, "GET", f"{public}{path}")
        )
        assert behind.status_code == 200, behind.text
        direct = await proxied.http.get(path, headers=dpop_headers(key, token, "GET", _url(path)))
        assert_error(direct, 401, "invalid_dpop_proof")


@pytest.mark.anyio
async def test_off_mode_is_the_plain_bearer_flow(
    make_api: Any, token_issuer: Issuer, key: DpopKey, user_id: str
) -> None:
    path = f"/api/{user_id}/tasks"
    bound = _bound(token_issuer, user_id, key)
    async with make_api(dpop_mode="off") as plain:
        dpop = await plain.http.get(path, headers=dpop_headers(key, bound, "GET", _url(path)))
        assert_error(dpop, 401, "invalid_token")
        assert dpop.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        # Off means the binding is not enforced: `cnf` is not looked at.
        bearer = await plain.http.get(path, headers={"Authorization": f"Bearer {bound}"})
        assert bearer.status_code == 200


# --- server nonces (RFC 9449 section 8) --------------------------------------------


def _nonce_verifier(clock: Clock) -> ProofVerifier:
    return ProofVerifier(
        algorithms=["ES256"],
        max_age=MAX_AGE,
        leeway=LEEWAY,
        replay=ReplayCache(1000),
        nonces=NonceIssuer(b"k" * 32, lifetime=300, clock=clock),
        wall_clock=clock,
    )


def test_nonce_round_trip_and_expiry() -> None:
    clock = Clock()
    issuer = NonceIssuer(b"secret" * 6, lifetime=300, clock=clock)
    nonce = issuer.issue()
    assert issuer.issued_at(nonce) == 1000
    assert NonceIssuer(b"another" * 5, lifetime=300, clock=clock).issued_at(nonce) is None
    assert issuer.issued_at(nonce[:-1] + ("A" if nonce[-1] != "A" else "B")) is None
    assert issuer.issued_at(None) is None
    clock.now = 1301
    assert issuer.issued_at(nonce) is None


def test_with_nonces_a_proof_needs_one_and_may_come_from_a_skewed_clock(key: DpopKey) -> None:
    clock = Clock()
    clock.now = time.time()
    verifier = _nonce_verifier(clock)
    assert verifier.nonces is not None
    with pytest.raises(DpopRefused) as refused:
        _verify(key.proof("GET", URL, token=TOKEN), key, verifier)
    assert refused.value.reason is DpopReason.USE_NONCE
    nonce = verifier.nonces.issue()
    # A client clock 20 minutes ahead: the nonce vouches for freshness instead of iat.
    skewed = key.proof("GET", URL, token=TOKEN, nonce=nonce, iat=clock.now + 1200)
    assert _verify(skewed, key, verifier).jkt == key.jkt
    with pytest.raises(DpopRefused) as replayed:
        _verify(skewed, key, verifier)
    assert replayed.value.reason is DpopReason.REPLAYED
    clock.now += 301
    with pytest.raises(DpopRefused) as expired:
        _verify(key.proof("GET", URL, token=TOKEN, nonce=nonce), key, verifier)
    assert expired.value.reason is DpopReason.USE_NONCE


@pytest.mark.anyio
async def test_use_dpop_nonce_challenge_then_success(
    make_api: Any, token_issuer: Issuer, key: DpopKey, user_id: str
) -> None:
    path = f"/api/{user_id}/tasks"
    token = _bound(token_issuer, user_id, key)
    async with make_api(dpop_mode="required", dpop_nonce=True) as api:
        first = await api.http.get(path, headers=dpop_headers(key, token, "GET", _url(path)))
        assert_error(first, 401, "use_dpop_nonce")
        assert first.headers["www-authenticate"].startswith('DPoP error="use_dpop_nonce"')
        nonce = first.headers["dpop-nonce"]
        again = await api.http.get(
            path, headers=dpop_headers(key, token, "GET", _url(path), nonce=nonce)
        )
        assert again.status_code == 200, again.text
        preflight = await api.http.get(path, headers={"Origin": "http://localhost:3000"})
        assert "dpop-nonce" in preflight.headers["access-control-expose-headers"].lower()
