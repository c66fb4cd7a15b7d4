"""The DPoP (RFC 9449) cases: proofs that must not bind, and bound tokens used without a
proof, for the contract suite and `harness audit`.

A DPoP case is a whole request's credentials: ``Authorization`` and zero or more ``DPoP``
headers, sent to one method and URL. The context holds a key, a token bound to it and an
unbound one, all from the issuer the API trusts, so each case gets only its named defect
wrong. Expectations can differ by the API's ``DPOP_MODE`` (``optional`` or ``required``).
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.attacks.corpus import ACCEPTED, BY_NAME, REFUSED, Attack, AttackContext, Minter
from harness.attacks.tokens import assemble, hs256
from harness.dpop import DpopKey, access_token_hash, bound_claims, htu
from harness.encoding import b64url, json_segment

# The modes in which an API checks proofs (with DPOP_MODE=off it ignores them).
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
