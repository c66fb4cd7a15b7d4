"""The attack corpus builds what each case claims to build (checked offline, no API)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from harness.attacks import (
    ATTACKER_ORIGIN,
    ATTACKS,
    BY_NAME,
    CRLF_SUFFIX,
    NOT_SERVED,
    REFUSED,
    REFUSED_OR_UNAVAILABLE,
    UNICODE_SUFFIX,
    YEAR_9999,
    AttackContext,
    AttackListener,
    Probe,
    Verdict,
    judge,
    send,
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
    assert controls == ["bearer-lowercase", "sub-unicode-location"]
    # A kid the key set may not have been asked for yet can get a temporary 503.
    may_be_unavailable = {
        "kid-unknown",
        "kid-path-traversal",
        "kid-sql-injection",
        "foreign-key",
        "jwk-embedded",
        "x5c-embedded",
        "jku-listener",
        "x5u-listener",
    }
    for attack in ATTACKS:
        if attack.name in may_be_unavailable:
            assert attack.expect == REFUSED_OR_UNAVAILABLE, attack.name
        elif attack.name.startswith("trailing-slash-"):
            assert attack.expect == NOT_SERVED, attack.name
        elif attack.name not in {"token-16kb", *controls}:
            assert attack.expect == REFUSED, attack.name


def test_corpus_covers_the_hardening_classes() -> None:
    names = {attack.name for attack in ATTACKS}
    assert {
        "kid-not-string",
        "kid-object",
        "kid-null",
        "alg-not-string",
        "crit-not-list",
        "crit-empty",
        "crit-unknown-extension",
        "b64-false",
        "header-array",
        "header-deeply-nested",
        "exp-year-9999",
        "exp-huge-integer",
        "iat-string",
        "sub-crlf",
        "sub-unicode-location",
        "authorization-twice-valid-first",
        "authorization-twice-valid-last",
        "trailing-slash-foreign-host",
        "trailing-slash-forwarded-host",
        "cors-attacker-origin",
    } <= names


def test_every_builder_produces_a_header(ctx: AttackContext) -> None:
    without = {
        "missing-header",
        "trailing-slash-foreign-host",
        "trailing-slash-forwarded-host",
        "cors-attacker-origin",
    }
    for attack in ATTACKS:
        value = attack.build(ctx)
        if attack.name in without:
            assert value is None
        else:
            assert isinstance(value, str), attack.name
            assert value, attack.name


def test_probes_default_to_one_get_of_the_subjects_path(ctx: AttackContext) -> None:
    probe = BY_NAME["alg-none"].probe(ctx)
    assert (probe.method, probe.sub, probe.path_suffix, probe.headers) == ("GET", SUB, "", ())
    assert probe.authorization == (BY_NAME["alg-none"].build(ctx),)
    assert BY_NAME["missing-header"].probe(ctx).authorization == ()


@pytest.mark.parametrize("valid_first", [True, False])
def test_duplicated_authorization_sends_two_genuine_tokens(
    issuer: Issuer, ctx: AttackContext, valid_first: bool
) -> None:
    name = "authorization-twice-valid-" + ("first" if valid_first else "last")
    probe = BY_NAME[name].probe(ctx)
    assert len(probe.authorization) == 2
    tokens = [value.removeprefix("Bearer ") for value in probe.authorization]
    subjects = [verify(issuer, token)["sub"] for token in tokens]
    assert (subjects[0] == SUB) is valid_first
    assert (subjects[1] == SUB) is not valid_first


def test_header_parameter_cases_keep_the_valid_payload(ctx: AttackContext) -> None:
    payload = ctx.valid_token.split(".")[1]
    headers = {
        "kid-not-string": {"alg": "RS256", "kid": 12345},
        "kid-null": {"alg": "RS256", "kid": None},
        "crit-not-list": {"alg": "RS256", "kid": ctx.kid, "crit": "exp"},
        "b64-false": {"alg": "RS256", "kid": ctx.kid, "b64": False, "crit": ["b64"]},
        "header-array": ["RS256", ctx.kid],
    }
    for name, header in headers.items():
        head, body, _ = token_of(ctx, name).split(".")
        assert body == payload, name
        assert json.loads(b64url_decode(head)) == header, name
    nested = b64url_decode(token_of(ctx, "header-deeply-nested").split(".")[0])
    assert nested == b"[" * 2000 + b"]" * 2000


def test_claim_and_subject_cases_are_signed_by_the_trusted_key(
    issuer: Issuer, ctx: AttackContext
) -> None:
    assert verify(issuer, token_of(ctx, "exp-year-9999"))["exp"] == YEAR_9999
    huge = jwt.decode(token_of(ctx, "exp-huge-integer"), options={"verify_signature": False})
    assert huge["exp"] == 10**400
    assert isinstance(verify(issuer, token_of(ctx, "iat-string"))["iat"], str)
    # PyJWT refuses to read an unknown critical extension: the signature is checked by hand.
    critical = token_of(ctx, "crit-unknown-extension")
    assert json.loads(b64url_decode(critical.split(".")[0]))["crit"] == ["urn:attacker:ext"]
    signing_input, _, signature = critical.rpartition(".")
    rs256 = RSAAlgorithm(RSAAlgorithm.SHA256)
    assert rs256.verify(signing_input.encode(), issuer.public_key(), b64url_decode(signature))
    for name, suffix in (("sub-crlf", CRLF_SUFFIX), ("sub-unicode-location", UNICODE_SUFFIX)):
        probe = BY_NAME[name].probe(ctx)
        assert (probe.method, probe.sub) == ("POST", SUB + suffix)
        token = probe.authorization[0].removeprefix("Bearer ")
        assert verify(issuer, token)["sub"] == SUB + suffix


def test_send_encodes_the_subject_and_repeats_headers() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    probe = Probe(
        sub="a/b\r\n用",
        authorization=("Bearer one", "Bearer two"),
        method="POST",
        path_suffix="/",
        headers=(("Host", "attacker.invalid"),),
        json={"title": "t"},
    )
    with httpx.Client(transport=httpx.MockTransport(record), base_url="http://api") as client:
        send(client, "/api/{sub}/tasks", probe)
    (request,) = seen
    assert request.url.raw_path == b"/api/a%2Fb%0D%0A%E7%94%A8/tasks/"
    assert request.headers.get_list("authorization") == ["Bearer one", "Bearer two"]
    assert request.headers["host"] == "attacker.invalid"
    assert json.loads(request.content) == {"title": "t"}


def test_inspectors_flag_what_they_name() -> None:
    slash, cors = BY_NAME["trailing-slash-foreign-host"], BY_NAME["cors-attacker-origin"]
    location = BY_NAME["sub-crlf"]

    def answer(status: int, **headers: str) -> httpx.Response:
        return httpx.Response(status, headers=headers)

    assert slash.finding(answer(307, location="http://attacker.invalid/api/x/tasks"))
    assert slash.finding(answer(307, location="/api/x/tasks")) is None
    assert slash.finding(answer(404)) is None
    assert cors.finding(answer(401, **{"access-control-allow-origin": ATTACKER_ORIGIN}))
    credentialed = {"access-control-allow-origin": "*", "access-control-allow-credentials": "true"}
    assert cors.finding(answer(401, **credentialed))
    assert (
        cors.finding(answer(401, **{"access-control-allow-origin": "http://localhost:3000"}))
        is None
    )
    assert location.finding(answer(201, **{"x-injected": "1"}))
    assert location.finding(answer(201, location="/api/x/tasks/1")) is None


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
    assert judge(none, 401, finding="redirects to the attacker") is Verdict.UNSAFE
    assert judge(BY_NAME["kid-unknown"], 503) is Verdict.PASSED
    assert not Verdict.UNEXPECTED.failing
    assert Verdict.ACCEPTED.failing
    assert Verdict.UNSAFE.failing


def test_every_case_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "suites.md").read_text()
    missing = [a.name for a in ATTACKS if f"| `{a.name}` |" not in doc]
    assert missing == []
