"""Authorization header -> verified identity, or a typed refusal.

Knows nothing of routes or the database. Trust comes only from configuration: the
algorithm list, the issuer, the audience and the JWKS URL. From the token header only
`alg` (checked against the list and against the key) and `kid` (a cache lookup) are
read; `jku`, `x5u`, `jwk` and friends are ignored.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import jwt
from jwt import exceptions as jwt_errors

from todo_api.auth.jwks_cache import JwksCache, JwksUnavailable

MAX_TOKEN_LENGTH = 8192
MAX_KID_LENGTH = 256
MAX_SUB_LENGTH = 255
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud")


class Reason(StrEnum):
    """Why a request was refused; logged in audit lines and documented in docs/backend.md."""

    MISSING_TOKEN = "missing_token"
    MALFORMED_HEADER = "malformed_header"
    MALFORMED_TOKEN = "malformed_token"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    MISSING_KID = "missing_kid"
    UNKNOWN_KID = "unknown_kid"
    KEY_ALGORITHM_MISMATCH = "key_algorithm_mismatch"
    INVALID_SIGNATURE = "invalid_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    INVALID_ISSUER = "invalid_issuer"
    INVALID_AUDIENCE = "invalid_audience"
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"
    JWKS_UNAVAILABLE = "jwks_unavailable"


class AuthRefused(Exception):
    """Token not accepted. `retry_after` is set only when the refusal is temporary."""

    def __init__(self, reason: Reason, retry_after: int | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.retry_after = retry_after

    @property
    def temporary(self) -> bool:
        return self.retry_after is not None


@dataclass(frozen=True, slots=True)
class Identity:
    sub: str
    expires_at: float
    claims: Mapping[str, Any] = field(repr=False)


_DECODE_ERRORS: tuple[tuple[type[Exception], Reason], ...] = (
    # Order matters: subclasses before their bases.
    (jwt_errors.ExpiredSignatureError, Reason.EXPIRED),
    (jwt_errors.ImmatureSignatureError, Reason.NOT_YET_VALID),
    (jwt_errors.InvalidIssuerError, Reason.INVALID_ISSUER),
    (jwt_errors.InvalidAudienceError, Reason.INVALID_AUDIENCE),
    (jwt_errors.MissingRequiredClaimError, Reason.MISSING_CLAIM),
    (jwt_errors.InvalidSignatureError, Reason.INVALID_SIGNATURE),
    (jwt_errors.InvalidAlgorithmError, Reason.ALGORITHM_NOT_ALLOWED),
    (jwt_errors.DecodeError, Reason.MALFORMED_TOKEN),
)


def bearer_token(authorization: str | None) -> str:
    """The credentials of an `Authorization: Bearer <token>` header.

    The scheme is matched case-insensitively (RFC 7235 section 2.1).
    """
    if authorization is None or not authorization.strip():
        raise AuthRefused(Reason.MISSING_TOKEN)
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise AuthRefused(Reason.MALFORMED_HEADER)
    return token


class TokenVerifier:
    def __init__(
        self,
        keys: JwksCache,
        *,
        issuer: str,
        audience: str,
        algorithms: Collection[str],
        leeway: int = 10,
        cache_size: int = 1024,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._algorithms = frozenset(algorithms)
        self._leeway = leeway
        self._cache_size = cache_size
        self._wall_clock = wall_clock
        # token -> identity; valid only for the key set it was verified against.
        self._verified: OrderedDict[str, Identity] = OrderedDict()
        self._verified_version = keys.version

    async def authenticate(self, authorization: str | None) -> Identity:
        return await self.verify(bearer_token(authorization))

    async def verify(self, token: str) -> Identity:
        cached = self._cached(token)
        if cached is not None:
            return cached
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthRefused(Reason.MALFORMED_TOKEN)
        try:
            header = jwt.get_unverified_header(token)
        except jwt_errors.DecodeError:
            raise AuthRefused(Reason.MALFORMED_TOKEN) from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise AuthRefused(Reason.ALGORITHM_NOT_ALLOWED)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
            raise AuthRefused(Reason.MISSING_KID)
        try:
            key = await self._keys.get(kid)
        except JwksUnavailable as exc:
            raise AuthRefused(Reason.JWKS_UNAVAILABLE, retry_after=exc.retry_after) from None
        if key is None:
            raise AuthRefused(Reason.UNKNOWN_KID)
        if key.algorithm_name != alg:
            raise AuthRefused(Reason.KEY_ALGORITHM_MISMATCH)
        claims = self._decode(token, key, alg)
        identity = Identity(sub=claims["sub"], expires_at=float(claims["exp"]), claims=claims)
        self._remember(token, identity)
        return identity

    def _decode(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt_errors.InvalidTokenError as exc:
            for error_type, reason in _DECODE_ERRORS:
                if isinstance(exc, error_type):
                    raise AuthRefused(reason) from None
            raise AuthRefused(Reason.INVALID_CLAIM) from None
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub.strip() or len(sub) > MAX_SUB_LENGTH:
            raise AuthRefused(Reason.INVALID_CLAIM)
        if isinstance(claims["exp"], bool) or not isinstance(claims["exp"], int | float):
            raise AuthRefused(Reason.INVALID_CLAIM)
        return claims

    def _cached(self, token: str) -> Identity | None:
        if self._verified_version != self._keys.version:
            # Keys changed (rotation or revocation): everything is verified afresh.
            self._verified.clear()
            self._verified_version = self._keys.version
            return None
        identity = self._verified.get(token)
        if identity is None:
            return None
        if self._wall_clock() >= identity.expires_at + self._leeway:
            del self._verified[token]
            return None
        self._verified.move_to_end(token)
        return identity

    def _remember(self, token: str, identity: Identity) -> None:
        if self._cache_size <= 0 or self._verified_version != self._keys.version:
            return
        self._verified[token] = identity
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
