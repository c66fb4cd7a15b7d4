"""`todo_api.auth` alone: no routes, no database, a key source stub instead of HTTP."""

from __future__ import annotations

import json
import time

import jwt
import pytest
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
