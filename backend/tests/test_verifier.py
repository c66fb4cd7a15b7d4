"""`todo_api.auth` alone: no routes, no database, a key source stub instead of HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from backend_support import signed
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm
from todo_api.auth import AuthRefused, JwksCache, Reason, TokenVerifier, bearer_token

from harness.issuer import Issuer

pytestmark = pytest.mark.anyio

ISSUER = "http://localhost:3000"


class StaticKeys(JwksCache):
    """A key source with fixed keys; `lookups` counts what the verifier asked for."""

    def __init__(self, jwks: dict[str, list[dict[str, str]]]) -> None:
        super().__init__("http://127.0.0.1:9/jwks", algorithms=["RS256", "EdDSA"])
        self.keys = {entry["kid"]: jwt.PyJWK(entry) for entry in jwks["keys"]}
        self.lookups = 0

    async def get(self, kid: str) -> jwt.PyJWK | None:
        self.lookups += 1
        return self.keys.get(kid)

    def peek(self, kid: str) -> jwt.PyJWK | None:
        return self.keys.get(kid)


def _ed25519_jwk(private: ed25519.Ed25519PrivateKey, kid: str) -> dict[str, str]:
    jwk: dict[str, str] = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    return {**jwk, "kid": kid, "alg": "EdDSA"}


def _claims(sub: str = "alice") -> dict[str, object]:
    now = int(time.time())
    return {"sub": sub, "iss": ISSUER, "aud": ISSUER, "iat": now, "exp": now + 600}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER   abc ", "abc"),
    ],
)
def test_bearer_scheme_is_case_insensitive(header: str, expected: str) -> None:
    assert bearer_token(header) == expected


@pytest.mark.parametrize("header", [None, "", "   ", "Bearer", "Basic abc", "Bearer a b"])
def test_bad_authorization_headers_are_refused(header: str | None) -> None:
    with pytest.raises(AuthRefused) as refused:
        bearer_token(header)
    assert refused.value.reason in {Reason.MISSING_TOKEN, Reason.MALFORMED_HEADER}
    assert not refused.value.temporary


async def test_eddsa_is_accepted_only_when_configured() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    keys = StaticKeys({"keys": [_ed25519_jwk(private, "ed")]})
    token = jwt.encode(_claims(), private, algorithm="EdDSA", headers={"kid": "ed"})

    eddsa = TokenVerifier(keys, issuer=ISSUER, audience=ISSUER, algorithms=["RS256", "EdDSA"])
    assert (await eddsa.verify(token)).sub == "alice"

    rs256_only = TokenVerifier(keys, issuer=ISSUER, audience=ISSUER, algorithms=["RS256"])
    with pytest.raises(AuthRefused) as refused:
        await rs256_only.verify(token)
    assert refused.value.reason is Reason.ALGORITHM_NOT_ALLOWED


async def test_token_alg_must_match_the_key_its_kid_names() -> None:
    rsa_issuer = Issuer(ISSUER)
    ed_private = ed25519.Ed25519PrivateKey.generate()
    keys = StaticKeys({"keys": [_ed25519_jwk(ed_private, "ed")]})
    # An RS256 token whose kid names the EdDSA key.
    token = rsa_issuer.mint("alice", headers={"kid": "ed"})
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=ISSUER, algorithms=["RS256", "EdDSA"])
    with pytest.raises(AuthRefused) as refused:
        await verifier.verify(token)
    assert refused.value.reason is Reason.KEY_ALGORITHM_MISMATCH


async def test_verified_tokens_are_cached_until_exp_or_key_change() -> None:
    issuer = Issuer(ISSUER)
    keys = StaticKeys(issuer.jwks())
    now = [time.time()]
    verifier = TokenVerifier(
        keys, issuer=ISSUER, audience=ISSUER, algorithms=["RS256"], wall_clock=lambda: now[0]
    )
    token = issuer.mint("alice", ttl=60)
    for _ in range(5):
        assert (await verifier.verify(token)).sub == "alice"
    assert keys.lookups == 1

    keys.version += 1  # the key set changed: verify afresh
    await verifier.verify(token)
    assert keys.lookups == 2

    # Past exp + leeway by the verifier's clock: the cache no longer answers, the token
    # goes through full verification again (where PyJWT applies its own clock).
    now[0] += 60 + 10
    await verifier.verify(token)
    assert keys.lookups == 3


async def test_cache_is_bounded() -> None:
    issuer = Issuer(ISSUER)
    keys = StaticKeys(issuer.jwks())
    verifier = TokenVerifier(
        keys, issuer=ISSUER, audience=ISSUER, algorithms=["RS256"], cache_size=2
    )
    tokens = [issuer.mint("alice", claims={"jti": str(n)}) for n in range(3)]
    for token in tokens:
        await verifier.verify(token)
    await verifier.verify(tokens[0])  # evicted by the third: verified again
    assert keys.lookups == 4
    await verifier.verify(tokens[2])  # still cached
    assert keys.lookups == 4


def _verifier(issuer: Issuer, **options: Any) -> tuple[TokenVerifier, StaticKeys]:
    keys = StaticKeys(issuer.jwks())
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=ISSUER, algorithms=["RS256"], **options)
    return verifier, keys


async def _refusal(verifier: TokenVerifier, token: str) -> Reason:
    with pytest.raises(AuthRefused) as refused:
        await verifier.verify(token)
    assert not refused.value.temporary
    return refused.value.reason


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        # PyJWT raises InvalidTokenError (not DecodeError) for these: it used to escape as a 500.
        ({"kid": 5}, Reason.MALFORMED_TOKEN),
        ({"kid": ["k"]}, Reason.MALFORMED_TOKEN),
        ({"kid": {"nested": "k"}}, Reason.MALFORMED_TOKEN),
        ({"crit": "exp"}, Reason.MALFORMED_TOKEN),
        ({"crit": []}, Reason.MALFORMED_TOKEN),
        ({"crit": [1]}, Reason.MALFORMED_TOKEN),
        ({"crit": ["exp"]}, Reason.MALFORMED_TOKEN),
        # Well-formed, but extensions this verifier does not implement (RFC 7515 4.1.11).
        ({"crit": ["b64"], "b64": True}, Reason.UNSUPPORTED_HEADER),
        ({"b64": True}, Reason.UNSUPPORTED_HEADER),
        ({"alg": ["RS256"]}, Reason.ALGORITHM_NOT_ALLOWED),
        ({"kid": None}, Reason.MALFORMED_TOKEN),
        ({"kid": "k" * 257}, Reason.MISSING_KID),
    ],
    ids=repr,
)
async def test_malformed_header_parameters_are_refused(
    extra: dict[str, Any], reason: Reason
) -> None:
    issuer = Issuer(ISSUER)
    verifier, _ = _verifier(issuer)
    header = {"alg": "RS256", "kid": issuer.kid, **extra}
    token = signed(header, issuer.claims("alice"), issuer.private_key())
    assert await _refusal(verifier, token) is reason


async def test_deeply_nested_header_is_a_malformed_token() -> None:
    issuer = Issuer(ISSUER)
    verifier, _ = _verifier(issuer)
    nested = "[" * 2000 + "]" * 2000
    token = signed(nested, issuer.claims("alice"), issuer.private_key())
    assert await _refusal(verifier, token) is Reason.MALFORMED_TOKEN


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda now: {"iat": now, "exp": now + 3601}, id="one-second-over"),
        pytest.param(lambda now: {"iat": now - 600, "exp": now + 3500}, id="old-iat"),
        pytest.param(lambda now: {"iat": now, "exp": 253402300799}, id="year-9999"),
        pytest.param(lambda now: {"iat": now, "exp": now + 10**9}, id="thirty-years"),
    ],
)
async def test_token_lifetime_is_capped(make: Callable[[int], dict[str, int]]) -> None:
    issuer = Issuer(ISSUER)
    verifier, _ = _verifier(issuer)
    token = issuer.mint("alice", claims=make(int(time.time())))
    assert await _refusal(verifier, token) is Reason.LIFETIME_TOO_LONG


async def test_lifetime_up_to_the_cap_is_accepted() -> None:
    issuer = Issuer(ISSUER)
    now = int(time.time())
    verifier, _ = _verifier(issuer, max_lifetime=600)
    assert (await verifier.verify(issuer.mint("alice", claims={"exp": now + 600}))).sub == "alice"
    assert await _refusal(verifier, issuer.mint("alice", claims={"exp": now + 601})) is (
        Reason.LIFETIME_TOO_LONG
    )


@pytest.mark.parametrize(
    "claims_json",
    [
        # JSON text, so values Python's json reads but no JSON number is: Infinity, NaN, 1e999.
        '{{"sub":"alice","iss":"{iss}","aud":"{iss}","iat":{now},"exp":Infinity}}',
        '{{"sub":"alice","iss":"{iss}","aud":"{iss}","iat":{now},"exp":NaN}}',
        '{{"sub":"alice","iss":"{iss}","aud":"{iss}","iat":{now},"exp":1e999}}',
        '{{"sub":"alice","iss":"{iss}","aud":"{iss}","iat":{now},"exp":1{zeros}}}',
        '{{"sub":"alice","iss":"{iss}","aud":"{iss}","iat":"{now}","exp":{exp}}}',
        '{{"sub":"alice","iss":"{iss}","aud":"{iss}","iat":true,"exp":{exp}}}',
        '{{"sub":"alice","iss":"{iss}","aud":"{iss}","iat":{now},"exp":"{exp}"}}',
        '{{"sub":"alice","iss":"{iss}","aud":"{iss}","iat":{now},"exp":{exp},"nbf":"0"}}',
        '{{"sub":"alice","iss":"{iss}","aud":"{iss}","iat":{now},"exp":{exp},"nbf":[]}}',
    ],
)
async def test_time_claims_must_be_json_numbers(claims_json: str) -> None:
    issuer = Issuer(ISSUER)
    verifier, _ = _verifier(issuer)
    now = int(time.time())
    text = claims_json.format(iss=ISSUER, now=now, exp=now + 600, zeros="0" * 400)
    token = signed({"alg": "RS256", "kid": issuer.kid}, text, issuer.private_key())
    assert await _refusal(verifier, token) in {
        Reason.INVALID_CLAIM,
        Reason.MALFORMED_TOKEN,
        Reason.LIFETIME_TOO_LONG,
    }


@pytest.mark.parametrize("sub", ["a\r\nSet-Cookie: x=1", "tab\there", "nul\x00", "\ud800", "\x85"])
async def test_subject_with_control_characters_is_refused(sub: str) -> None:
    issuer = Issuer(ISSUER)
    verifier, _ = _verifier(issuer)
    claims = {**issuer.claims("placeholder"), "sub": sub}
    token = signed({"alg": "RS256", "kid": issuer.kid}, claims, issuer.private_key())
    assert await _refusal(verifier, token) is Reason.INVALID_CLAIM


@pytest.mark.parametrize("sub", ["用户-ü", "a b", "x/y?z#w", "e\u0301"])
async def test_subject_may_be_any_printable_text(sub: str) -> None:
    issuer = Issuer(ISSUER)
    verifier, _ = _verifier(issuer)
    assert (await verifier.verify(issuer.mint(sub))).sub == sub


async def test_more_than_one_authorization_header_is_refused() -> None:
    issuer = Issuer(ISSUER)
    verifier, _ = _verifier(issuer)
    good = f"Bearer {issuer.mint('alice')}"
    assert (await verifier.authenticate([good])).sub == "alice"
    for values in ([good, good], [good, "Bearer x.y.z"], ["Bearer x.y.z", good]):
        with pytest.raises(AuthRefused) as refused:
            await verifier.authenticate(values)
        assert refused.value.reason is Reason.MALFORMED_HEADER
    with pytest.raises(AuthRefused) as refused:
        await verifier.authenticate([])
    assert refused.value.reason is Reason.MISSING_TOKEN


async def test_cached_token_is_verified_afresh_once_its_key_is_gone() -> None:
    issuer = Issuer(ISSUER)
    verifier, keys = _verifier(issuer)
    token = issuer.mint("alice")
    for _ in range(3):
        await verifier.verify(token)
    assert keys.lookups == 1  # answered from the cache
    del keys.keys[issuer.kid]  # the key set no longer publishes the key (version unchanged)
    assert await _refusal(verifier, token) is Reason.UNKNOWN_KID
