"""Authorization header -> verified identity, or a typed refusal.

Knows nothing of routes or the database. Trust comes only from configuration: the
algorithm list, the issuer, the audience and the JWKS URL. From the token header only
`alg` (checked against the list and against the key) and `kid` (a cache lookup) are
read; `jku`, `x5u`, `jwk` and friends are ignored, and `crit`/`b64` (extensions this
verifier does not implement) make the token unacceptable (RFC 7515 section 4.1.11).

Every way a token can be wrong ends as `AuthRefused`: PyJWT's whole exception
hierarchy is caught where the token is parsed or decoded, and the claims this service
relies on are checked for type and range here, so no client input reaches a 500.
"""

from __future__ import annotations

import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import jwt
from jwt import exceptions as jwt_errors

from todo_api.auth.jwks_cache import MAX_KID_LENGTH, JwksCache, JwksUnavailable

MAX_TOKEN_LENGTH = 8192
MAX_SUB_LENGTH = 255
DEFAULT_MAX_LIFETIME = 3600
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud")
TIME_CLAIMS = ("exp", "iat", "nbf")
# Far beyond any real date, and every integer up to it is exact as a float.
MAX_NUMERIC_DATE = 2**53
UNSUPPORTED_HEADER_PARAMETERS = ("crit", "b64")
# Control characters and lone surrogates: a subject holding them cannot be a path segment,
# a header value or UTF-8, so no issuer the API trusts has a reason to send one.
_FORBIDDEN_SUB_CATEGORIES = frozenset({"Cc", "Cs"})


class Reason(StrEnum):
    """Why a request was refused; logged in audit lines and documented in docs/backend.md."""

    MISSING_TOKEN = "missing_token"
    MALFORMED_HEADER = "malformed_header"
    MALFORMED_TOKEN = "malformed_token"
    UNSUPPORTED_HEADER = "unsupported_header"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    MISSING_KID = "missing_kid"
    UNKNOWN_KID = "unknown_kid"
    KEY_ALGORITHM_MISMATCH = "key_algorithm_mismatch"
    INVALID_SIGNATURE = "invalid_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    LIFETIME_TOO_LONG = "lifetime_too_long"
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


@dataclass(frozen=True, slots=True)
class _Verified:
    """A verified token: valid while its key is still the one the key set publishes."""

    identity: Identity
    kid: str
    key: jwt.PyJWK


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


def single_header(values: Sequence[str]) -> str | None:
    """The one Authorization header of a request; more than one is ambiguous, so refused.

    Servers and proxies disagree on which of several copies counts (first, last, or all
    joined with commas), so accepting one would let a proxy check a different token than
    the one this service verifies.
    """
    if len(values) > 1:
        raise AuthRefused(Reason.MALFORMED_HEADER)
    return values[0] if values else None


class TokenVerifier:
    def __init__(
        self,
        keys: JwksCache,
        *,
        issuer: str,
        audience: str,
        algorithms: Collection[str],
        leeway: int = 10,
        max_lifetime: int = DEFAULT_MAX_LIFETIME,
        cache_size: int = 1024,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._algorithms = frozenset(algorithms)
        self._leeway = leeway
        self._max_lifetime = max_lifetime
        self._cache_size = cache_size
        self._wall_clock = wall_clock
        # token -> verified entry; dropped with the key set it was verified against.
        self._verified: OrderedDict[str, _Verified] = OrderedDict()
        self._verified_version = keys.version

    async def authenticate(self, authorization: Sequence[str]) -> Identity:
        """Verify a request's Authorization header values (all of them: duplicates refused)."""
        return await self.verify(bearer_token(single_header(authorization)))

    async def verify(self, token: str) -> Identity:
        cached = self._cached(token)
        if cached is not None:
            return cached
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthRefused(Reason.MALFORMED_TOKEN)
        alg, kid = self._header(token)
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
        self._remember(token, _Verified(identity, kid, key))
        return identity

    def _header(self, token: str) -> tuple[str, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt_errors.PyJWTError:
            # DecodeError for bad segments, InvalidTokenError for a mistyped kid or crit.
            raise AuthRefused(Reason.MALFORMED_TOKEN) from None
        if any(name in header for name in UNSUPPORTED_HEADER_PARAMETERS):
            raise AuthRefused(Reason.UNSUPPORTED_HEADER)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise AuthRefused(Reason.ALGORITHM_NOT_ALLOWED)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
            raise AuthRefused(Reason.MISSING_KID)
        return alg, kid

    def _decode(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS), "enforce_minimum_key_length": True},
            )
        except jwt_errors.PyJWTError as exc:
            for error_type, reason in _DECODE_ERRORS:
                if isinstance(exc, error_type):
                    raise AuthRefused(reason) from None
            raise AuthRefused(Reason.INVALID_CLAIM) from None
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        """What PyJWT leaves open: claim types it coerces, the subject's shape, lifetime."""
        sub = claims["sub"]
        if (
            not isinstance(sub, str)
            or not sub.strip()
            or len(sub) > MAX_SUB_LENGTH
            or any(unicodedata.category(char) in _FORBIDDEN_SUB_CATEGORIES for char in sub)
        ):
            raise AuthRefused(Reason.INVALID_CLAIM)
        # NumericDate is a JSON number (RFC 7519 section 2); PyJWT also takes "900" or true.
        for name in TIME_CLAIMS:
            if name in claims and not _is_numeric_date(claims[name]):
                raise AuthRefused(Reason.INVALID_CLAIM)
        exp, iat = claims["exp"], claims["iat"]
        # A stolen token must not outlive the cap, however it was minted: measured from
        # its own iat and from now (an iat in the past does not buy a longer life).
        if exp - iat > self._max_lifetime or exp - self._wall_clock() > (
            self._max_lifetime + self._leeway
        ):
            raise AuthRefused(Reason.LIFETIME_TOO_LONG)

    def _cached(self, token: str) -> Identity | None:
        if self._verified_version != self._keys.version:
            # Keys changed (rotation or revocation): everything is verified afresh.
            self._verified.clear()
            self._verified_version = self._keys.version
            return None
        entry = self._verified.get(token)
        if entry is None:
            return None
        # The key set decides, not the cache: a key removed at the issuer ends its tokens
        # once the set is refreshed (peek starts that refresh when the set is due).
        if self._wall_clock() >= entry.identity.expires_at + self._leeway or (
            self._keys.peek(entry.kid) is not entry.key
        ):
            del self._verified[token]
            return None
        self._verified.move_to_end(token)
        return entry.identity

    def _remember(self, token: str, entry: _Verified) -> None:
        if self._cache_size <= 0 or self._verified_version != self._keys.version:
            return
        self._verified[token] = entry
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)


def _is_numeric_date(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    # Also false for NaN and the infinities (Python's json reads them); no float conversion
    # of a huge int, which would overflow.
    return abs(value) <= MAX_NUMERIC_DATE
