"""The attack corpus builds what each case claims to build (checked offline, no API)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from harness.attacks import (
    ATTACKS,
    BY_NAME,
    REFUSED,
    AttackContext,
    AttackListener,
    Verdict,
    judge,
)
from harness.attacks.tokens import FOREIGN_KID
from harness.encoding import b64url_decode
from harness.issuer import Issuer

ORIGIN = "http://localhost:3000"
SUB = "user-1"


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer(ORIGIN)


@pytest.fixture(scope="module")
def listener() -> Iterator[AttackListener]:
    with AttackListener() as running:
        yield running


@pytest.fixture
def ctx(issuer: Issuer, listener: AttackListener) -> AttackContext:
    return AttackContext.create(issuer, issuer.jwks(), SUB, listener.url)


def token_of(ctx: AttackContext, name: str) -> str:
    value = BY_NAME[name].build(ctx)
    assert value is not None
    scheme, _, token = value.partition(" ")
    assert scheme == "Bearer"
    return token


def verify(issuer: Issuer, token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token, issuer.public_key(), algorithms=["RS256"], audience=ORIGIN, issuer=ORIGIN
    )
    return claims


def test_corpus_covers_the_contract_list() -> None:
    names = {attack.name for attack in ATTACKS}
    expected = {
        "missing-header",
        "empty-bearer",
        "basic-scheme",
        "token-scheme",
        "bearer-lowercase",
        "alg-none",
        "alg-None",
        "alg-NONE",
        "alg-nOnE",
        "signature-stripped",
        "signature-null",
        "signature-flipped",
        "payload-tampered",
        "hs256-public-key-pem",
        "hs256-public-jwk-json",
        "hs256-empty-secret",
        "hs256-secret-secret",
        "jwk-embedded",
        "jku-listener",
        "x5u-listener",
        "kid-unknown",
        "kid-empty",
        "kid-path-traversal",
        "kid-sql-injection",
        "kid-10kb",
        "kid-absent",
        "foreign-key",
        "exp-past",
        "exp-missing",
        "exp-string",
        "nbf-future",
        "iat-future",
        "iss-wrong",
        "iss-missing",
        "aud-wrong",
        "aud-missing",
        "aud-list-without-ours",
        "sub-missing",
        "sub-not-string",
        "sub-empty",
        "alg-rs512",
        "alg-ps256",
        "alg-es256",
        "alg-es256-psychic",
        "header-not-json",
        "payload-not-json",
        "bad-base64",
        "two-segments",
        "four-segments",
        "five-segments",
        "token-16kb",
    }
    assert expected <= names
    controls = [a.name for a in ATTACKS if a.is_control]
    assert controls == ["bearer-lowercase"]
    assert all(a.expect == REFUSED for a in ATTACKS if a.name not in {"token-16kb", *controls})


def test_every_builder_produces_a_header(ctx: AttackContext) -> None:
    for attack in ATTACKS:
        value = attack.build(ctx)
        if attack.name == "missing-header":
            assert value is None
        else:
            assert isinstance(value, str), attack.name
            assert value, attack.name


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_has_no_signature(ctx: AttackContext, alg: str) -> None:
    token = token_of(ctx, f"alg-{alg}")
    assert token.endswith(".")
    assert jwt.get_unverified_header(token)["alg"] == alg
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == SUB


def test_hs256_with_the_public_pem_is_a_real_hmac(ctx: AttackContext) -> None:
    """The confusion token verifies under HS256 when the PEM is the secret (what a lax
    verifier would do) -- so a refusal proves the algorithm is pinned."""
    token = token_of(ctx, "hs256-public-key-pem")
    pem = ctx.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input, _, signature = token.rpartition(".")
    assert hmac.compare_digest(
        hmac.new(pem, signing_input.encode(), hashlib.sha256).digest(), b64url_decode(signature)
    )
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": ctx.kid}


def test_kid_cases_are_signed_by_the_trusted_key(issuer: Issuer, ctx: AttackContext) -> None:
    for name, kid in (("kid-unknown", "no-such-key"), ("kid-empty", ""), ("kid-absent", None)):
        token = token_of(ctx, name)
        assert jwt.get_unverified_header(token).get("kid") == kid
        assert verify(issuer, token)["sub"] == SUB
    assert len(jwt.get_unverified_header(token_of(ctx, "kid-10kb"))["kid"]) == 10 * 1024


def test_payload_tampering_keeps_a_genuine_signature_of_another_token(
    issuer: Issuer, ctx: AttackContext
) -> None:
    token = token_of(ctx, "payload-tampered")
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == SUB
    with pytest.raises(jwt.InvalidSignatureError):
        verify(issuer, token)


def test_signature_flip_changes_one_bit(ctx: AttackContext) -> None:
    original = b64url_decode(ctx.valid_token.split(".")[2])
    flipped = b64url_decode(token_of(ctx, "signature-flipped").split(".")[2])
    assert len(original) == len(flipped)
    diff = [a ^ b for a, b in zip(original, flipped, strict=True) if a != b]
    assert diff == [1]


def test_foreign_keys_sign_valid_tokens_the_issuer_does_not_know(
    issuer: Issuer, ctx: AttackContext
) -> None:
    for name in ("foreign-key", "foreign-key-known-kid", "jwk-embedded", "jku-listener"):
        token = token_of(ctx, name)
        with pytest.raises(jwt.InvalidSignatureError):
            verify(issuer, token)
    header = jwt.get_unverified_header(token_of(ctx, "jwk-embedded"))
    embedded = jwt.PyJWK(header["jwk"]).key
    assert isinstance(embedded, rsa.RSAPublicKey)
    claims = jwt.decode(
        token_of(ctx, "jwk-embedded"), embedded, algorithms=["RS256"], audience=ORIGIN
    )
    assert claims["sub"] == SUB


def test_psychic_signature_is_all_zero(ctx: AttackContext) -> None:
    token = token_of(ctx, "alg-es256-psychic")
    assert b64url_decode(token.split(".")[2]) == bytes(64)
    assert jwt.get_unverified_header(token)["alg"] == "ES256"


def test_claim_cases_change_only_their_claim(issuer: Issuer, ctx: AttackContext) -> None:
    unverified = {
        name: jwt.decode(token_of(ctx, name), options={"verify_signature": False})
        for name in ("exp-missing", "iss-missing", "aud-missing", "sub-missing", "sub-not-string")
    }
    assert "exp" not in unverified["exp-missing"]
    assert "iss" not in unverified["iss-missing"]
    assert "aud" not in unverified["aud-missing"]
    assert "sub" not in unverified["sub-missing"]
    assert unverified["sub-not-string"]["sub"] == 12345
    assert jwt.get_unverified_header(token_of(ctx, "alg-rs512"))["alg"] == "RS512"


def test_malformed_shapes(ctx: AttackContext) -> None:
    assert token_of(ctx, "two-segments").count(".") == 1
    assert token_of(ctx, "four-segments").count(".") == 3
    assert token_of(ctx, "five-segments").count(".") == 4
    assert len(token_of(ctx, "token-16kb")) >= 16 * 1024


def test_listener_serves_the_attacker_keys_and_counts(listener: AttackListener) -> None:
    before = listener.hits
    keys = httpx.get(f"{listener.url}/jwks.json").json()["keys"]
    assert keys[0]["kid"] == FOREIGN_KID
    assert httpx.get(f"{listener.url}/cert.pem").text.startswith("-----BEGIN CERTIFICATE")
    assert listener.hits == before + 2
    assert listener.requests[-2:] == ["/jwks.json", "/cert.pem"]


def test_judge() -> None:
    jku, none, big = BY_NAME["jku-listener"], BY_NAME["alg-none"], BY_NAME["token-16kb"]
    lower = BY_NAME["bearer-lowercase"]
    assert judge(none, 401) is Verdict.PASSED
    assert judge(none, 200) is Verdict.ACCEPTED
    assert judge(none, 500) is Verdict.SERVER_ERROR
    assert judge(none, 403) is Verdict.UNEXPECTED
    assert judge(none, None) is Verdict.NO_ANSWER
    assert judge(big, 431) is Verdict.PASSED
    assert judge(jku, 401, listener_hits=1) is Verdict.FETCHED
    assert judge(lower, 200) is Verdict.PASSED
    assert not Verdict.UNEXPECTED.failing
    assert Verdict.ACCEPTED.failing


def test_every_case_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "suites.md").read_text()
    missing = [a.name for a in ATTACKS if f"| `{a.name}` |" not in doc]
    assert missing == []
