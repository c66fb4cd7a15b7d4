"""The malicious-token catalogue: every way a bearer token can be wrong, as data.

One source for the contract suite (``tests/contract/test_auth_matrix.py``) and for
``harness audit``. Each ``Attack`` has a name, a category, a builder that turns an
``AttackContext`` into an ``Authorization`` header value (``None``: send no header) and the
statuses that count as a correct answer. Tokens the issuer can sign (wrong claims, odd
headers, other RSA algorithms) are minted by the issuer the API trusts; the rest are
assembled by hand (``harness.attacks.tokens``).

Most cases are one ``GET`` with that header. A case may also shape the whole request
(``request``: the method, the subject whose path is asked for, more headers, a body) and
inspect the answer (``inspect``: a redirect to the attacker's host, a reflected origin, an
injected header), for flaws that only show in the request or the response around the token.
``send`` puts a case's ``Probe`` on the wire, for the contract suite and the audit alike.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from typing_extensions import Unpack

from harness.attacks.tokens import (
    FOREIGN_KID,
    assemble,
    bearer,
    foreign_certificate,
    foreign_ec_key,
    foreign_public_jwk,
    foreign_rsa_key,
    hs256,
)
from harness.encoding import b64url, b64url_decode, json_segment
from harness.issuer.control import MintOptions

REFUSED = frozenset({401})
# A very long header may be stopped by the HTTP server itself (431) before the app sees it.
REFUSED_OR_TOO_LARGE = frozenset({401, 431})
# A kid the key set may not have been asked for yet: a temporary 503 (with Retry-After) is a
# refusal too, and the right one while a fetch that could find a new key is not allowed yet.
REFUSED_OR_UNAVAILABLE = frozenset({401, 503})
# A path the API does not serve: not found, or refused before routing.
NOT_SERVED = frozenset({401, 404})
ACCEPTED = frozenset({200})
CREATED = frozenset({201})

# Secrets that show up in tutorials and default configs: an HS256 token signed with one of
# them must be refused because HS256 itself is not allowed, whatever the secret.
COMMON_SECRETS = ("secret", "your-256-bit-secret", "changeme", "password")
ATTACKER_ORIGIN = "https://attacker.invalid"
ATTACKER_HOST = "attacker.invalid"
INJECTED_HEADER = "X-Injected"
# Subjects that end up in a Location header: a header injection, and text outside Latin-1.
CRLF_SUFFIX = f"\r\n{INJECTED_HEADER}: 1"
UNICODE_SUFFIX = "-用户-ü"
# A NumericDate no real token has: the last second of the year 9999.
YEAR_9999 = 253402300799
# A NumericDate no real token has: the last second of the year 9999.


class Minter(Protocol):
    """What the corpus needs from an issuer: its ``mint`` (any ``IssuerControl`` or ``Issuer``)."""

    def mint(self, sub: str | None, **options: Unpack[MintOptions]) -> str: ...


@dataclass(frozen=True)
class AttackContext:
    """Everything a builder may use: a trusted issuer, a valid token and its public key."""

    sub: str
    issuer: Minter
    valid_token: str
    public_jwk: Mapping[str, Any]
    listener_url: str

    @classmethod
    def create(
        cls, issuer: Minter, jwks: Mapping[str, Any], sub: str, listener_url: str
    ) -> AttackContext:
        token = issuer.mint(sub)
        kid = jwt.get_unverified_header(token)["kid"]
        jwk = next((k for k in jwks.get("keys", []) if k.get("kid") == kid), None)
        if jwk is None:
            raise ValueError(f"the issuer's JWKS does not publish its signing key {kid!r}")
        return cls(sub, issuer, token, jwk, listener_url.rstrip("/"))

    @property
    def kid(self) -> str:
        return str(self.public_jwk["kid"])

    @property
    def header(self) -> dict[str, Any]:
        return jwt.get_unverified_header(self.valid_token)

    @property
    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(self.valid_token, options={"verify_signature": False})
        return claims

    def public_key(self) -> rsa.RSAPublicKey:
        key = RSAAlgorithm.from_jwk(dict(self.public_jwk))
        if not isinstance(key, rsa.RSAPublicKey):
            raise TypeError("the issuer's key is not an RSA public key")
        return key


Builder = Callable[[AttackContext], str | None]


@dataclass(frozen=True)
class Probe:
    """One request: ``GET`` of the subject's path with the Authorization values, unless a
    case says otherwise. Values are sent in order; several values mean several headers."""

    sub: str
    authorization: tuple[str, ...] = ()
    method: str = "GET"
    path_suffix: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    json: Any = None


RequestShaper = Callable[[AttackContext, Probe], Probe]
# A finding in an answer whose status alone looks fine (None: nothing wrong).
Inspector = Callable[[httpx.Response], str | None]


@dataclass(frozen=True)
class Attack:
    name: str
    category: str
    description: str
    build: Builder = field(repr=False)
    expect: frozenset[int] = REFUSED
    # The token points the server at the listener (jku, x5u): no request may arrive there.
    targets_listener: bool = False
    request: RequestShaper | None = field(default=None, repr=False)
    inspect: Inspector | None = field(default=None, repr=False)

    def probe(self, ctx: AttackContext) -> Probe:
        value = self.build(ctx)
        base = Probe(sub=ctx.sub, authorization=() if value is None else (value,))
        return self.request(ctx, base) if self.request is not None else base

    def finding(self, response: httpx.Response) -> str | None:
        return self.inspect(response) if self.inspect is not None else None

    @property
    def is_control(self) -> bool:
        """A case the API is meant to accept (documented behaviour, not an attack)."""
        return any(200 <= status < 300 for status in self.expect)

    @property
    def expect_label(self) -> str:
        return " or ".join(str(status) for status in sorted(self.expect))


def send(client: httpx.Client, path: str, probe: Probe) -> httpx.Response:
    """Send ``probe`` to ``path``, whose ``{sub}`` becomes the probe's (percent-encoded) subject."""
    url = path.replace("{sub}", quote(probe.sub, safe="")) + probe.path_suffix
    headers = [("Authorization", value) for value in probe.authorization]
    return client.request(probe.method, url, headers=[*headers, *probe.headers], json=probe.json)


def _foreign_rs256(ctx: AttackContext, **header: Any) -> str:
    return jwt.encode(ctx.claims, foreign_rsa_key(), algorithm="RS256", headers=header)


# --- builders ----------------------------------------------------------------------


def _scheme(prefix: str) -> Builder:
    return lambda ctx: f"{prefix} {ctx.valid_token}"


def _alg_none(alg: str) -> Builder:
    def build(ctx: AttackContext) -> str:
        header = {"alg": alg, "kid": ctx.kid, "typ": "JWT"}
        return bearer(f"{json_segment(header)}.{json_segment(ctx.claims)}.")

    return build


def _signature_replaced(signature: str) -> Builder:
    def build(ctx: AttackContext) -> str:
        head, payload, _ = ctx.valid_token.split(".")
        return bearer(f"{head}.{payload}.{signature}")

    return build


def _signature_flipped(ctx: AttackContext) -> str:
    head, payload, signature = ctx.valid_token.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[0] ^= 0x01
    return bearer(f"{head}.{payload}.{b64url(bytes(raw))}")


def _payload_swapped(ctx: AttackContext) -> str:
    # The attacker holds a genuine token of their own and rewrites its subject to the victim.
    own = ctx.issuer.mint(f"attacker-{secrets.token_hex(4)}")
    head, _, signature = own.split(".")
    claims = {**jwt.decode(own, options={"verify_signature": False}), "sub": ctx.sub}
    return bearer(f"{head}.{json_segment(claims)}.{signature}")


def _hs256_with(secret: Callable[[AttackContext], bytes]) -> Builder:
    def build(ctx: AttackContext) -> str:
        return bearer(hs256({"alg": "HS256", "kid": ctx.kid}, ctx.claims, secret(ctx)))

    return build


def _pem_spki(ctx: AttackContext) -> bytes:
    return ctx.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _pem_pkcs1(ctx: AttackContext) -> bytes:
    return ctx.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )


def _jwk_json(ctx: AttackContext) -> bytes:
    return json.dumps(dict(ctx.public_jwk)).encode()


def _embedded_jwk(ctx: AttackContext) -> str:
    return bearer(_foreign_rs256(ctx, kid=FOREIGN_KID, jwk=foreign_public_jwk()))


def _embedded_x5c(ctx: AttackContext) -> str:
    der = foreign_certificate().public_bytes(serialization.Encoding.DER)
    return bearer(_foreign_rs256(ctx, kid=FOREIGN_KID, x5c=[base64.b64encode(der).decode()]))


def _jku(ctx: AttackContext) -> str:
    return bearer(_foreign_rs256(ctx, kid=FOREIGN_KID, jku=f"{ctx.listener_url}/jwks.json"))


def _x5u(ctx: AttackContext) -> str:
    return bearer(_foreign_rs256(ctx, kid=FOREIGN_KID, x5u=f"{ctx.listener_url}/cert.pem"))


def _with_kid(kid: str | None) -> Builder:
    # Signed by the trusted key: only the kid is wrong, so only the kid lookup can refuse it.
    return lambda ctx: bearer(ctx.issuer.mint(ctx.sub, headers={"kid": kid}))


def _mint(**options: Any) -> Builder:
    return lambda ctx: bearer(ctx.issuer.mint(ctx.sub, **options))


def _mint_now(make: Callable[[int], dict[str, Any]]) -> Builder:
    """Mint with options computed from the current time (claims relative to "now")."""
    return lambda ctx: bearer(ctx.issuer.mint(ctx.sub, **make(int(time.time()))))


def _mint_for(sub: Any, claims: Mapping[str, Any] | None = None) -> Builder:
    return lambda ctx: bearer(ctx.issuer.mint(sub, claims=claims or {}))


def _foreign_key(kid: Callable[[AttackContext], str]) -> Builder:
    return lambda ctx: bearer(_foreign_rs256(ctx, kid=kid(ctx)))


def _es256_foreign(ctx: AttackContext) -> str:
    return bearer(
        jwt.encode(ctx.claims, foreign_ec_key(), algorithm="ES256", headers={"kid": ctx.kid})
    )


def _es256_psychic(ctx: AttackContext) -> str:
    # CVE-2022-21449: r = s = 0 (64 zero bytes in JOSE's raw r||s form).
    return bearer(assemble({"alg": "ES256", "kid": ctx.kid}, ctx.claims, bytes(64)))


def _segments(make: Callable[[AttackContext, list[str]], list[str]]) -> Builder:
    return lambda ctx: bearer(".".join(make(ctx, ctx.valid_token.split("."))))


def _jwe_shaped(ctx: AttackContext) -> str:
    header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": ctx.kid}
    parts = [json_segment(header)] + [b64url(secrets.token_bytes(n)) for n in (256, 12, 64, 16)]
    return bearer(".".join(parts))


def _oversized(ctx: AttackContext) -> str:
    head, _, signature = ctx.valid_token.split(".")
    claims = {**ctx.claims, "pad": "x" * 12 * 1024}  # about 16 KB once base64url-encoded
    return bearer(f"{head}.{json_segment(claims)}.{signature}")


def _constant(secret: str) -> Callable[[AttackContext], bytes]:
    return lambda _: secret.encode()


def _header_replaced(header: Callable[[AttackContext], Any]) -> Builder:
    """The valid token's payload and signature under another header (any JSON, or raw text
    as a ``str``): a verifier must refuse it while reading the header, not crash on it."""

    def build(ctx: AttackContext) -> str:
        _, payload, signature = ctx.valid_token.split(".")
        value = header(ctx)
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return bearer(f"{b64url(text.encode())}.{payload}.{signature}")

    return build


def _with_params(**params: Any) -> Callable[[AttackContext], dict[str, Any]]:
    return lambda ctx: {"alg": "RS256", "kid": ctx.kid, **params}


def _odd_subject(ctx: AttackContext, suffix: str) -> str:
    return f"{ctx.sub}{suffix}"


def _as_subject(suffix: str) -> Builder:
    """A token of the trusted issuer for the subject ``sub + suffix``."""
    return lambda ctx: bearer(ctx.issuer.mint(_odd_subject(ctx, suffix)))


def _create_on_own_path(suffix: str) -> RequestShaper:
    """A create (POST) on the path of the subject ``sub + suffix``: what the answer's
    Location is built from."""
    return lambda ctx, probe: Probe(
        sub=_odd_subject(ctx, suffix),
        authorization=probe.authorization,
        method="POST",
        json={"title": "audit"},
    )


def _location_is_clean(response: httpx.Response) -> str | None:
    if INJECTED_HEADER.lower() in response.headers:
        return f"the subject injected a {INJECTED_HEADER} header"
    location = response.headers.get("location")
    if location is not None and not (location.isascii() and location.isprintable()):
        return "Location is not printable ASCII"
    return None


def _duplicated(valid_first: bool) -> RequestShaper:
    def shape(ctx: AttackContext, probe: Probe) -> Probe:
        other = bearer(ctx.issuer.mint(f"other-{secrets.token_hex(4)}"))
        values = (*probe.authorization, other) if valid_first else (other, *probe.authorization)
        return Probe(sub=probe.sub, authorization=values)

    return shape


def _with_headers(*headers: tuple[str, str], suffix: str = "") -> RequestShaper:
    return lambda _, probe: Probe(
        sub=probe.sub, authorization=probe.authorization, path_suffix=suffix, headers=headers
    )


def _no_redirect_to_attacker(response: httpx.Response) -> str | None:
    location = response.headers.get("location", "")
    if response.is_redirect and urlsplit(location).hostname == ATTACKER_HOST:
        return f"redirects to the attacker's host ({location})"
    return None


def _origin_not_granted(response: httpx.Response) -> str | None:
    allowed = response.headers.get("access-control-allow-origin")
    if allowed in (ATTACKER_ORIGIN, "null") or (
        allowed == "*" and response.headers.get("access-control-allow-credentials") == "true"
    ):
        return f"Access-Control-Allow-Origin: {allowed} for the attacker's origin"
    return None


def _attacks() -> list[Attack]:
    a = Attack
    hour = 3600
    corpus = [
        # -- the Authorization header itself
        a("missing-header", "header", "no Authorization header at all", lambda _: None),
        # Trailing whitespace is not part of a header value (RFC 9110 5.5): "Bearer " arrives
        # as "Bearer", and HTTP clients refuse to send it otherwise.
        a("empty-bearer", "header", "'Bearer' with no token", lambda _: "Bearer"),
        a("basic-scheme", "header", "a valid token under the Basic scheme", _scheme("Basic")),
        a("token-scheme", "header", "a valid token under the Token scheme", _scheme("Token")),
        a(
            "bearer-lowercase",
            "header",
            "'bearer' in lower case: accepted, schemes are case-insensitive (RFC 7235 2.1)",
            _scheme("bearer"),
            expect=ACCEPTED,
        ),
        # -- unsigned tokens
        *(
            a(f"alg-{alg}", "alg-none", f"alg '{alg}' with an empty signature", _alg_none(alg))
            for alg in ("none", "None", "NONE", "nOnE")
        ),
        # -- signature tampering
        a(
            "signature-stripped",
            "signature",
            "valid header and payload, signature removed",
            _signature_replaced(""),
        ),
        a("signature-null", "signature", "signature segment 'null'", _signature_replaced("null")),
        a("signature-flipped", "signature", "one bit of the signature flipped", _signature_flipped),
        a(
            "payload-tampered",
            "signature",
            "the attacker's own genuine token with sub rewritten to the victim",
            _payload_swapped,
        ),
        # -- algorithm confusion: HS256 keyed with public material or guessable secrets
        a(
            "hs256-public-key-pem",
            "alg-confusion",
            "HS256, HMAC key = the issuer's public key as SPKI PEM",
            _hs256_with(_pem_spki),
        ),
        a(
            "hs256-public-key-pkcs1",
            "alg-confusion",
            "HS256, HMAC key = the issuer's public key as PKCS#1 PEM",
            _hs256_with(_pem_pkcs1),
        ),
        a(
            "hs256-public-jwk-json",
            "alg-confusion",
            "HS256, HMAC key = the issuer's JWK as published (JSON)",
            _hs256_with(_jwk_json),
        ),
        a(
            "hs256-empty-secret",
            "alg-confusion",
            "HS256 with an empty secret",
            _hs256_with(_constant("")),
        ),
        *(
            a(
                f"hs256-secret-{secret}",
                "alg-confusion",
                f"HS256 with the common secret '{secret}'",
                _hs256_with(_constant(secret)),
            )
            for secret in COMMON_SECRETS
        ),
        # -- header parameters that try to bring their own key
        # (The attacker's own kid: the trusted key set may be asked for it, see kid-unknown.)
        a(
            "jwk-embedded",
            "key-injection",
            "attacker key embedded as 'jwk'",
            _embedded_jwk,
            expect=REFUSED_OR_UNAVAILABLE,
        ),
        a(
            "x5c-embedded",
            "key-injection",
            "attacker certificate in 'x5c'",
            _embedded_x5c,
            expect=REFUSED_OR_UNAVAILABLE,
        ),
        a(
            "jku-listener",
            "key-injection",
            "'jku' points at the attacker's JWKS (a listener on 127.0.0.1)",
            _jku,
            expect=REFUSED_OR_UNAVAILABLE,
            targets_listener=True,
        ),
        a(
            "x5u-listener",
            "key-injection",
            "'x5u' points at the attacker's certificate (a listener on 127.0.0.1)",
            _x5u,
            expect=REFUSED_OR_UNAVAILABLE,
            targets_listener=True,
        ),
        # -- kid (the trusted key signs; only the kid is wrong)
        a(
            "kid-unknown",
            "kid",
            "a kid the JWKS does not publish",
            _with_kid("no-such-key"),
            expect=REFUSED_OR_UNAVAILABLE,
        ),
        a("kid-empty", "kid", "kid ''", _with_kid("")),
        a(
            "kid-path-traversal",
            "kid",
            "kid '../../../../dev/null'",
            _with_kid("../../../../../../dev/null"),
            expect=REFUSED_OR_UNAVAILABLE,
        ),
        a(
            "kid-sql-injection",
            "kid",
            "kid with an SQL injection",
            _with_kid("x' UNION SELECT 'secret' --"),
            expect=REFUSED_OR_UNAVAILABLE,
        ),
        a("kid-10kb", "kid", "a 10 KB kid", _with_kid("k" * 10 * 1024)),
        a("kid-absent", "kid", "no kid header", _with_kid(None)),
        # -- keys the API does not trust
        a(
            "foreign-key",
            "foreign-key",
            "RS256 from an attacker key with its own kid",
            _foreign_key(lambda _: FOREIGN_KID),
            expect=REFUSED_OR_UNAVAILABLE,
        ),
        a(
            "foreign-key-known-kid",
            "foreign-key",
            "RS256 from an attacker key, claiming the trusted kid",
            _foreign_key(lambda ctx: ctx.kid),
        ),
        # -- JOSE header parameters of the wrong type or meaning (signature left as minted)
        a(
            "kid-not-string",
            "jose-header",
            "kid is a number",
            _header_replaced(_with_params(kid=12345)),
        ),
        a(
            "kid-object",
            "jose-header",
            "kid is an object (a NoSQL operator)",
            _header_replaced(_with_params(kid={"$ne": ""})),
        ),
        a("kid-null", "jose-header", "kid is null", _header_replaced(_with_params(kid=None))),
        a(
            "alg-not-string",
            "jose-header",
            "alg is a list",
            _header_replaced(lambda ctx: {"alg": ["RS256"], "kid": ctx.kid}),
        ),
        a(
            "crit-not-list",
            "jose-header",
            "crit is a string",
            _header_replaced(_with_params(crit="exp")),
        ),
        a(
            "crit-empty",
            "jose-header",
            "crit is an empty list",
            _header_replaced(_with_params(crit=[])),
        ),
        a(
            "crit-unknown-extension",
            "jose-header",
            "crit names an extension no verifier knows (trusted key's signature)",
            _mint(headers={"crit": ["urn:attacker:ext"], "urn:attacker:ext": True}),
        ),
        a(
            "b64-false",
            "jose-header",
            "b64=false listed in crit: an unencoded payload (RFC 7797)",
            _header_replaced(_with_params(b64=False, crit=["b64"])),
        ),
        a(
            "header-array",
            "jose-header",
            "the header is a JSON array",
            _header_replaced(lambda ctx: ["RS256", ctx.kid]),
        ),
        a(
            "header-deeply-nested",
            "jose-header",
            "the header nests 2,000 arrays (a parser's recursion limit)",
            _header_replaced(lambda _: "[" * 2000 + "]" * 2000),
        ),
        # -- time claims
        a("exp-past", "claims", "expired an hour ago", _mint(ttl=-hour)),
        a("exp-missing", "claims", "no exp", _mint(omit=["exp"])),
        a(
            "exp-string",
            "claims",
            "exp as a string",
            _mint_now(lambda now: {"claims": {"exp": str(now + 900)}}),
        ),
        a(
            "exp-year-9999",
            "claims",
            "exp in the year 9999 (no cap on the token's lifetime)",
            _mint(claims={"exp": YEAR_9999}),
        ),
        a(
            "exp-huge-integer",
            "claims",
            "exp a 401-digit integer (beyond any float)",
            _mint(claims={"exp": 10**400}),
        ),
        a(
            "iat-string",
            "claims",
            "iat as a string",
            _mint_now(lambda now: {"claims": {"iat": str(now)}}),
        ),
        a("nbf-future", "claims", "nbf an hour ahead", _mint_now(lambda now: {"nbf": now + hour})),
        a("iat-future", "claims", "iat an hour ahead", _mint_now(lambda now: {"iat": now + hour})),
        # -- issuer and audience
        a("iss-wrong", "claims", "another issuer", _mint(claims={"iss": ATTACKER_ORIGIN})),
        a("iss-missing", "claims", "no iss", _mint(omit=["iss"])),
        a("aud-wrong", "claims", "another audience", _mint(claims={"aud": ATTACKER_ORIGIN})),
        a("aud-missing", "claims", "no aud", _mint(omit=["aud"])),
        a(
            "aud-list-without-ours",
            "claims",
            "an audience list without ours",
            _mint(claims={"aud": [ATTACKER_ORIGIN, "https://other.invalid"]}),
        ),
        # -- subject
        a("sub-missing", "claims", "no sub", _mint_for(None)),
        a("sub-not-string", "claims", "sub as a number", _mint_for(None, {"sub": 12345})),
        a("sub-empty", "claims", "sub ''", _mint_for("")),
        a(
            "sub-crlf",
            "subject",
            "sub with CR/LF and a header after it, creating a task on its own path",
            _as_subject(CRLF_SUFFIX),
            request=_create_on_own_path(CRLF_SUFFIX),
            inspect=_location_is_clean,
        ),
        a(
            "sub-unicode-location",
            "subject",
            "sub outside Latin-1 creating a task: 201 with an ASCII Location (control)",
            _as_subject(UNICODE_SUFFIX),
            expect=CREATED,
            request=_create_on_own_path(UNICODE_SUFFIX),
            inspect=_location_is_clean,
        ),
        # -- the request around the token
        a(
            "authorization-twice-valid-first",
            "request",
            "two Authorization headers, the valid token first",
            _scheme("Bearer"),
            request=_duplicated(valid_first=True),
        ),
        a(
            "authorization-twice-valid-last",
            "request",
            "two Authorization headers, the valid token last",
            _scheme("Bearer"),
            request=_duplicated(valid_first=False),
        ),
        a(
            "trailing-slash-foreign-host",
            "request",
            "the path with a trailing slash and Host: attacker.invalid (no token)",
            lambda _: None,
            expect=NOT_SERVED,
            request=_with_headers(("Host", ATTACKER_HOST), suffix="/"),
            inspect=_no_redirect_to_attacker,
        ),
        a(
            "trailing-slash-forwarded-host",
            "request",
            "the path with a trailing slash and X-Forwarded-Host: attacker.invalid (no token)",
            lambda _: None,
            expect=NOT_SERVED,
            request=_with_headers(("X-Forwarded-Host", ATTACKER_HOST), suffix="/"),
            inspect=_no_redirect_to_attacker,
        ),
        a(
            "cors-attacker-origin",
            "request",
            "Origin: the attacker's site (no token): no CORS grant for it",
            lambda _: None,
            request=_with_headers(("Origin", ATTACKER_ORIGIN)),
            inspect=_origin_not_granted,
        ),
        # -- algorithms the API does not allow (signed with the trusted key where possible)
        a("alg-rs512", "alg-not-allowed", "RS512 by the trusted key", _mint(alg="RS512")),
        a("alg-ps256", "alg-not-allowed", "PS256 by the trusted key", _mint(alg="PS256")),
        a("alg-es256", "alg-not-allowed", "ES256 from an attacker EC key", _es256_foreign),
        a(
            "alg-es256-psychic",
            "alg-not-allowed",
            "ES256 with an all-zero 'psychic' signature (CVE-2022-21449)",
            _es256_psychic,
        ),
        # -- malformed tokens
        a(
            "header-not-json",
            "malformed",
            "header segment is not JSON",
            _segments(lambda _, p: [b64url(b"not json"), p[1], p[2]]),
        ),
        a(
            "payload-not-json",
            "malformed",
            "payload segment is not JSON",
            _segments(lambda _, p: [p[0], b64url(b"not json"), p[2]]),
        ),
        a(
            "bad-base64",
            "malformed",
            "payload segment is not base64url",
            _segments(lambda _, p: [p[0], "!!!*not*base64*!!!", p[2]]),
        ),
        a("two-segments", "malformed", "header.payload", _segments(lambda _, p: p[:2])),
        a("four-segments", "malformed", "an extra segment", _segments(lambda _, p: [*p, p[2]])),
        a("five-segments", "malformed", "a JWE-shaped token", _jwe_shaped),
        a(
            "token-16kb",
            "malformed",
            "a 16 KB token",
            _oversized,
            expect=REFUSED_OR_TOO_LARGE,
        ),
    ]
    names = [attack.name for attack in corpus]
    if len(names) != len(set(names)):
        raise RuntimeError("attack names must be unique")
    return corpus


ATTACKS: tuple[Attack, ...] = tuple(_attacks())
BY_NAME: dict[str, Attack] = {attack.name: attack for attack in ATTACKS}
