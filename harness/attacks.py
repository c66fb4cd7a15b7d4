"""The malicious-token catalogue: every way a bearer token can be wrong, as data.

One source for the contract suite (``tests/contract/test_auth_matrix.py``) and for
``harness audit``. Each ``Attack`` has a name, a category, a builder that turns an
``AttackContext`` into an ``Authorization`` header value (``None``: send no header) and the
statuses that count as a correct answer. Tokens the issuer can sign (wrong claims, odd
headers, other RSA algorithms) are minted by the issuer the API trusts; the rest are
assembled by hand from base64url segments, because a well-behaved library refuses to
build them (PyJWT will not sign HS256 with a PEM public key, which is the point).

``AttackListener`` is a small HTTP server on 127.0.0.1 that the ``jku``/``x5u`` tokens
point at: a verifier that follows those headers would fetch from it, so any request it
receives is a finding.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from harness.dpop import DpopKey, access_token_hash, bound_claims, htu

REFUSED = frozenset({401})
# A very long header may be stopped by the HTTP server itself (431) before the app sees it.
REFUSED_OR_TOO_LARGE = frozenset({401, 431})
ACCEPTED = frozenset({200})

# Secrets that show up in tutorials and default configs: an HS256 token signed with one of
# them must be refused because HS256 itself is not allowed, whatever the secret.
COMMON_SECRETS = ("secret", "your-256-bit-secret", "changeme", "password")
ATTACKER_ORIGIN = "https://attacker.invalid"
FOREIGN_KID = "attacker-key-1"


class Minter(Protocol):
    """What the corpus needs from an issuer: ``IssuerClient.mint`` / ``Issuer.mint``."""

    def mint(
        self,
        sub: str | None,
        *,
        ttl: float = ...,
        claims: Mapping[str, Any] | None = ...,
        headers: Mapping[str, Any] | None = ...,
        kid: str | None = ...,
        alg: str | None = ...,
        nbf: float | None = ...,
        iat: float | None = ...,
        omit: Iterable[str] = ...,
    ) -> str: ...


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
class Attack:
    name: str
    category: str
    description: str
    build: Builder = field(repr=False)
    expect: frozenset[int] = REFUSED
    # The token points the server at the listener (jku, x5u): no request may arrive there.
    targets_listener: bool = False

    @property
    def is_control(self) -> bool:
        """A case the API is meant to accept (documented behaviour, not an attack)."""
        return any(200 <= status < 300 for status in self.expect)

    @property
    def expect_label(self) -> str:
        return " or ".join(str(status) for status in sorted(self.expect))


class Verdict(StrEnum):
    PASSED = "passed"
    ACCEPTED = "accepted"
    SERVER_ERROR = "server_error"
    FETCHED = "fetched_attacker_url"
    NO_ANSWER = "no_answer"
    UNEXPECTED = "unexpected_status"

    @property
    def failing(self) -> bool:
        """Findings that make an audit fail; an unexpected 4xx is reported but still a refusal."""
        return self not in (Verdict.PASSED, Verdict.UNEXPECTED)


def judge(attack: Attack, status: int | None, listener_hits: int = 0) -> Verdict:
    if attack.targets_listener and listener_hits:
        return Verdict.FETCHED
    if status is None:
        return Verdict.NO_ANSWER
    if status in attack.expect:
        return Verdict.PASSED
    if status >= 500:
        return Verdict.SERVER_ERROR
    if 200 <= status < 300:
        return Verdict.ACCEPTED
    return Verdict.UNEXPECTED


# --- token assembly ------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def json_segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def assemble(header: Mapping[str, Any], claims: Mapping[str, Any], signature: bytes) -> str:
    return f"{json_segment(header)}.{json_segment(claims)}.{b64url(signature)}"


def hs256(header: Mapping[str, Any], claims: Mapping[str, Any], secret: bytes) -> str:
    """HS256 by hand: HMAC-SHA256 over ``header.payload`` with any bytes as the secret."""
    signing_input = f"{json_segment(header)}.{json_segment(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def bearer(token: str) -> str:
    return f"Bearer {token}"


@functools.cache
def foreign_rsa_key() -> rsa.RSAPrivateKey:
    """An attacker's RSA key: valid signatures, but not from a key the API trusts."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def foreign_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def foreign_public_jwk() -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(foreign_rsa_key().public_key()))
    return {"kty": "RSA", "n": jwk["n"], "e": jwk["e"], "alg": "RS256", "kid": FOREIGN_KID}


@functools.cache
def foreign_certificate() -> x509.Certificate:
    """A self-signed certificate for the attacker's key (for ``x5u`` and ``x5c``)."""
    key = foreign_rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker.invalid")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )


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
    return lambda ctx: bearer(ctx.issuer.mint(sub, claims=claims))


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
        a("jwk-embedded", "key-injection", "attacker key embedded as 'jwk'", _embedded_jwk),
        a("x5c-embedded", "key-injection", "attacker certificate in 'x5c'", _embedded_x5c),
        a(
            "jku-listener",
            "key-injection",
            "'jku' points at the attacker's JWKS (a listener on 127.0.0.1)",
            _jku,
            targets_listener=True,
        ),
        a(
            "x5u-listener",
            "key-injection",
            "'x5u' points at the attacker's certificate (a listener on 127.0.0.1)",
            _x5u,
            targets_listener=True,
        ),
        # -- kid (the trusted key signs; only the kid is wrong)
        a("kid-unknown", "kid", "a kid the JWKS does not publish", _with_kid("no-such-key")),
        a("kid-empty", "kid", "kid ''", _with_kid("")),
        a(
            "kid-path-traversal",
            "kid",
            "kid '../../../../dev/null'",
            _with_kid("../../../../../../dev/null"),
        ),
        a(
            "kid-sql-injection",
            "kid",
            "kid with an SQL injection",
            _with_kid("x' UNION SELECT 'secret' --"),
        ),
        a("kid-10kb", "kid", "a 10 KB kid", _with_kid("k" * 10 * 1024)),
        a("kid-absent", "kid", "no kid header", _with_kid(None)),
        # -- keys the API does not trust
        a(
            "foreign-key",
            "foreign-key",
            "RS256 from an attacker key with its own kid",
            _foreign_key(lambda _: FOREIGN_KID),
        ),
        a(
            "foreign-key-known-kid",
            "foreign-key",
            "RS256 from an attacker key, claiming the trusted kid",
            _foreign_key(lambda ctx: ctx.kid),
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


# --- the listener ------------------------------------------------------------------


class AttackListener:
    """An HTTP server on 127.0.0.1 serving the attacker's JWKS and certificate.

    It records every request: a verifier that follows ``jku``/``x5u`` shows up here.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[str] = []
        self._lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener._record(self.path)
                if self.path.startswith("/cert.pem"):
                    body = foreign_certificate().public_bytes(serialization.Encoding.PEM)
                    kind = "application/x-pem-file"
                else:
                    body = json.dumps({"keys": [foreign_public_jwk()]}).encode()
                    kind = "application/json"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # recorded in `requests`; no console noise

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _record(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    @property
    def hits(self) -> int:
        with self._lock:
            return len(self.requests)

    def start(self) -> AttackListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> AttackListener:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


# --- DPoP (RFC 9449): proofs that must not bind, and bound tokens used without a proof ---
#
# A DPoP case is a whole request's credentials: ``Authorization`` and zero or more ``DPoP``
# headers, sent to one method and URL. The context holds a key, a token bound to it and an
# unbound one, all from the issuer the API trusts, so each case gets only its named defect
# wrong. Expectations can differ by the API's ``DPOP_MODE`` (``optional`` or ``required``).

DpopMode = Literal["optional", "required"]
Headers = list[tuple[str, str]]
STALE_SECONDS = 600


@dataclass(frozen=True)
class DpopContext:
    sub: str
    issuer: Minter
    key: DpopKey
    bound_token: str
    unbound_token: str
    method: str
    url: str

    @classmethod
    def create(cls, issuer: Minter, sub: str, url: str, method: str = "GET") -> DpopContext:
        key = DpopKey.generate()
        bound = issuer.mint(sub, claims=bound_claims(key.jkt))
        return cls(sub, issuer, key, bound, issuer.mint(sub), method, url)

    def proof(self, token: str | None = None, *, key: DpopKey | None = None, **fields: Any) -> str:
        """A proof for this request (of ``token``, default the bound one), fields overridden."""
        signer = key or self.key
        return signer.proof(self.method, self.url, token=token or self.bound_token, **fields)

    def claims(self) -> dict[str, Any]:
        """The claims of a correct proof, for proofs assembled by hand."""
        return {
            "htm": self.method,
            "htu": htu(self.url),
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(16),
            "ath": access_token_hash(self.bound_token),
        }

    def with_proof(self, proof: str) -> Headers:
        return [("Authorization", f"DPoP {self.bound_token}"), ("DPoP", proof)]


DpopBuilder = Callable[[DpopContext], Headers]


@dataclass(frozen=True)
class DpopAttack:
    name: str
    category: str
    description: str
    build: DpopBuilder = field(repr=False)
    expect: frozenset[int] = REFUSED
    # Expectation when the API requires DPoP, if it differs.
    expect_required: frozenset[int] | None = None
    # Send the same request twice: the first must be accepted, the second is the attack.
    replay: bool = False

    def expected(self, mode: DpopMode) -> frozenset[int]:
        if mode == "required" and self.expect_required is not None:
            return self.expect_required
        return self.expect

    def is_control(self, mode: DpopMode) -> bool:
        return any(200 <= status < 300 for status in self.expected(mode))

    def as_attack(self, mode: DpopMode) -> Attack:
        """The same case in the shape `judge` and the reports use."""
        return Attack(self.name, self.category, self.description, _no_header, self.expected(mode))


def _no_header(_: AttackContext) -> None:
    return None


@functools.cache
def foreign_dpop_key() -> DpopKey:
    return DpopKey.generate()


def _dpop_proof(**fields: Any) -> DpopBuilder:
    return lambda ctx: ctx.with_proof(ctx.proof(**fields))


def _dpop_proof_now(make: Callable[[int], dict[str, Any]]) -> DpopBuilder:
    return lambda ctx: ctx.with_proof(ctx.proof(**make(int(time.time()))))


def _dpop_assembled(alg: str, jwk: Callable[[DpopContext], Mapping[str, Any]]) -> DpopBuilder:
    """A proof of type dpop+jwt with ``alg``, whose signature is made by hand (or absent)."""

    def build(ctx: DpopContext) -> Headers:
        header = {"typ": "dpop+jwt", "alg": alg, "jwk": dict(jwk(ctx))}
        if alg == "HS256":
            proof = hs256(header, ctx.claims(), b"dpop-shared-secret")
        elif alg == "ES256":  # CVE-2022-21449: r = s = 0
            proof = assemble(header, ctx.claims(), bytes(64))
        else:
            proof = f"{json_segment(header)}.{json_segment(ctx.claims())}."
        return ctx.with_proof(proof)

    return build


def _oct_jwk(_: DpopContext) -> Mapping[str, Any]:
    return {"kty": "oct", "k": b64url(b"dpop-shared-secret")}


def _replayed(ctx: DpopContext) -> Headers:
    return ctx.with_proof(ctx.proof())


def _two_proofs(ctx: DpopContext) -> Headers:
    return [*ctx.with_proof(ctx.proof()), ("DPoP", ctx.proof())]


def _dpop_attacks() -> list[DpopAttack]:
    a = DpopAttack
    elsewhere = "https://attacker.invalid/api/tasks"
    corpus = [
        # -- controls: what a correct client does
        a(
            "dpop-valid",
            "dpop-control",
            "bound token with a fresh proof (control: accepted)",
            _replayed,
            expect=ACCEPTED,
        ),
        a(
            "dpop-bearer-unbound",
            "dpop-control",
            "an unbound token as Bearer (accepted when optional, refused when required)",
            lambda ctx: [("Authorization", f"Bearer {ctx.unbound_token}")],
            expect=ACCEPTED,
            expect_required=REFUSED,
        ),
        # -- the binding itself
        a(
            "dpop-bound-as-bearer",
            "dpop-binding",
            "the bound token as Bearer, no proof (a stolen token replayed)",
            lambda ctx: [("Authorization", f"Bearer {ctx.bound_token}")],
        ),
        a(
            "dpop-bound-as-bearer-with-proof",
            "dpop-binding",
            "the bound token as Bearer next to a valid proof",
            lambda ctx: [("Authorization", f"Bearer {ctx.bound_token}"), ("DPoP", ctx.proof())],
        ),
        a(
            "dpop-unbound-token",
            "dpop-binding",
            "an unbound token under the DPoP scheme with a valid proof",
            lambda ctx: [
                ("Authorization", f"DPoP {ctx.unbound_token}"),
                ("DPoP", ctx.proof(ctx.unbound_token)),
            ],
        ),
        a(
            "dpop-wrong-key",
            "dpop-binding",
            "a valid proof by another key (the thief's own)",
            lambda ctx: ctx.with_proof(ctx.proof(key=foreign_dpop_key())),
        ),
        # -- the proof is missing or not one
        a(
            "dpop-missing-proof",
            "dpop-proof",
            "DPoP scheme without a DPoP header",
            lambda ctx: [("Authorization", f"DPoP {ctx.bound_token}")],
        ),
        a("dpop-two-proofs", "dpop-proof", "two DPoP headers", _two_proofs),
        a(
            "dpop-not-a-jwt",
            "dpop-proof",
            "DPoP header is not a JWT",
            lambda ctx: ctx.with_proof("x"),
        ),
        a("dpop-typ-jwt", "dpop-proof", "typ 'JWT'", _dpop_proof(headers={"typ": "JWT"})),
        a("dpop-typ-missing", "dpop-proof", "no typ", _dpop_proof(omit=["typ"])),
        # -- replay and freshness
        a(
            "dpop-replayed",
            "dpop-replay",
            "a proof accepted once, sent again",
            _replayed,
            replay=True,
        ),
        a(
            "dpop-iat-stale",
            "dpop-replay",
            f"iat {STALE_SECONDS} s ago",
            _dpop_proof_now(lambda now: {"iat": now - STALE_SECONDS}),
        ),
        a(
            "dpop-iat-future",
            "dpop-replay",
            f"iat {STALE_SECONDS} s ahead",
            _dpop_proof_now(lambda now: {"iat": now + STALE_SECONDS}),
        ),
        a("dpop-iat-missing", "dpop-replay", "no iat", _dpop_proof(omit=["iat"])),
        a("dpop-jti-missing", "dpop-replay", "no jti", _dpop_proof(omit=["jti"])),
        # -- the request the proof names
        a(
            "dpop-wrong-method",
            "dpop-request",
            "htm of another method",
            lambda ctx: ctx.with_proof(ctx.proof(claims={"htm": "DELETE"})),
        ),
        a(
            "dpop-wrong-url",
            "dpop-request",
            "htu of another URL",
            _dpop_proof(claims={"htu": elsewhere}),
        ),
        a(
            "dpop-wrong-path",
            "dpop-request",
            "htu of another path on the same API",
            lambda ctx: ctx.with_proof(ctx.proof(claims={"htu": htu(ctx.url) + "/other"})),
        ),
        a(
            "dpop-ath-mismatch",
            "dpop-request",
            "ath of another token",
            lambda ctx: ctx.with_proof(ctx.proof(ctx.unbound_token)),
        ),
        a("dpop-ath-missing", "dpop-request", "no ath", _dpop_proof(omit=["ath"])),
        # -- the proof's algorithm and key
        a(
            "dpop-alg-none",
            "dpop-key",
            "alg 'none', no signature",
            _dpop_assembled("none", lambda ctx: ctx.key.public_jwk),
        ),
        a(
            "dpop-alg-hs256",
            "dpop-key",
            "HS256 with a symmetric ('oct') key in the header",
            _dpop_assembled("HS256", _oct_jwk),
        ),
        a(
            "dpop-es256-psychic",
            "dpop-key",
            "ES256 with an all-zero signature (CVE-2022-21449)",
            _dpop_assembled("ES256", lambda ctx: ctx.key.public_jwk),
        ),
        a(
            "dpop-private-key-in-header",
            "dpop-key",
            "the header's jwk carries the private key ('d')",
            lambda ctx: ctx.with_proof(ctx.proof(headers={"jwk": ctx.key.private_jwk})),
        ),
        a(
            "dpop-jwk-swapped",
            "dpop-key",
            "header names the bound key, another key signs",
            lambda ctx: ctx.with_proof(
                ctx.proof(key=foreign_dpop_key(), headers={"jwk": ctx.key.public_jwk})
            ),
        ),
        a("dpop-jwk-missing", "dpop-key", "no jwk in the header", _dpop_proof(omit=["jwk"])),
    ]
    names = [attack.name for attack in corpus]
    if len(names) != len(set(names)) or set(names) & set(BY_NAME):
        raise RuntimeError("attack names must be unique")
    return corpus


DPOP_ATTACKS: tuple[DpopAttack, ...] = tuple(_dpop_attacks())
DPOP_BY_NAME: dict[str, DpopAttack] = {attack.name: attack for attack in DPOP_ATTACKS}
