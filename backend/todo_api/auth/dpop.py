"""DPoP proof verification (RFC 9449 section 4.3): proof + request -> verified proof, or a refusal.

Knows nothing of routes, the database or how access tokens are verified: the caller hands
over the request's method and URL, the access token (for `ath`) and the thumbprint the
token is bound to (`cnf.jkt`). The proof's key comes from its own `jwk` header, which is
what DPoP is: the proof shows possession of that key, and the token names it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import heapq
import hmac
import json
import math
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import jwt
from jwt.exceptions import PyJWKError

PROOF_TYPE = "dpop+jwt"
MAX_PROOF_LENGTH = 8192
MAX_JTI_LENGTH = 256
# RSA proofs: small keys are weak, huge ones make every verification expensive.
RSA_MODULUS_BITS = (2048, 4096)
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# The key type (and curve) each JWS algorithm needs (RFC 7518 section 3, RFC 8037).
KEY_TYPES: Mapping[str, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", "Ed25519"),
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
}
# RFC 7638 section 3.2: the members a thumbprint covers, per key type.
THUMBPRINT_MEMBERS: Mapping[str, tuple[str, ...]] = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class DpopReason(StrEnum):
    """Why a proof (or the binding) was refused; logged as the audit line's `reason`."""

    MISSING_PROOF = "dpop_missing_proof"
    MULTIPLE_PROOFS = "dpop_multiple_proofs"
    MALFORMED_PROOF = "dpop_malformed_proof"
    INVALID_TYPE = "dpop_invalid_typ"
    ALGORITHM_NOT_ALLOWED = "dpop_algorithm_not_allowed"
    INVALID_KEY = "dpop_invalid_key"
    INVALID_SIGNATURE = "dpop_invalid_signature"
    MISSING_CLAIM = "dpop_missing_claim"
    INVALID_CLAIM = "dpop_invalid_claim"
    METHOD_MISMATCH = "dpop_method_mismatch"
    URL_MISMATCH = "dpop_url_mismatch"
    STALE = "dpop_stale"
    FUTURE = "dpop_future"
    REPLAYED = "dpop_replayed"
    ATH_MISMATCH = "dpop_ath_mismatch"
    KEY_MISMATCH = "dpop_key_mismatch"
    USE_NONCE = "dpop_use_nonce"


class DpopRefused(Exception):
    def __init__(self, reason: DpopReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    jkt: str
    jti: str
    iat: int
    # Until when the id must stay spent (the end of the proof's acceptance window).
    spent_until: float

    @property
    def replay_key(self) -> str:
        return f"{self.jkt}.{self.jti}"


class SpentProofIds(Protocol):
    """Proof ids accepted by any process of the deployment (e.g. in the database)."""

    async def use(self, key: str, expires_at: float) -> bool:
        """Record `key` until `expires_at`; False when some process already did."""
        ...


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_token_hash(token: str) -> str:
    """`ath`: base64url(SHA-256(ASCII(token))) (RFC 9449 section 4.2)."""
    return b64url(hashlib.sha256(token.encode("ascii", "replace")).digest())


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint. PyJWT has none, so it is built here (a sorted JSON digest)."""
    members = THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(name), str) for name in members):
        raise ValueError("not a public EC, OKP or RSA JWK")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest())


def _target(url: str) -> tuple[str, str, int | None, str] | None:
    """Scheme, host, port and path of a URL, normalised (RFC 3986 section 6.2.2 and 6.2.3);
    None when it is not one (e.g. a port that is not a number).

    Query and fragment are ignored on both sides (RFC 9449 section 4.3, check 9).
    """
    try:
        parts = urlsplit(url)
        explicit_port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    port = explicit_port if explicit_port is not None else _DEFAULT_PORTS.get(scheme)
    if not scheme or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port, unquote(parts.path) or "/"


class NonceIssuer:
    """Server nonces (RFC 9449 section 8): HMAC-signed issue times, so any process holding the
    secret checks them without storing anything. A proof carrying a valid nonce is fresh by
    the server's clock, whatever the client's clock says."""

    def __init__(self, secret: bytes, lifetime: int, clock: Callable[[], float] = time.time):
        self._secret = secret
        self.lifetime = lifetime
        self._clock = clock

    def _mac(self, issued: bytes) -> bytes:
        return hmac.new(self._secret, issued, hashlib.sha256).digest()[:16]

    def issue(self) -> str:
        issued = int(self._clock()).to_bytes(8, "big")
        return b64url(issued + self._mac(issued))

    def issued_at(self, nonce: object) -> int | None:
        """When a still-valid nonce was issued; None for anything else."""
        if not isinstance(nonce, str) or len(nonce) != 32:
            return None
        try:
            raw = _b64url_decode(nonce)
        except ValueError:
            return None
        issued, mac = raw[:8], raw[8:]
        if not hmac.compare_digest(mac, self._mac(issued)):
            return None
        at = int.from_bytes(issued, "big")
        now = self._clock()
        return at if now - self.lifetime <= at <= now + 1 else None


class ReplayCache:
    """The proof ids this process accepted within the acceptance window; each is accepted
    once. Other processes of the deployment see them through `SpentProofIds`.

    Bounded and exact: when full, the entry closest to its expiry is dropped and from then on
    proofs that would expire no later than it are refused, so a dropped id can never be
    accepted again (`cachetools.TTLCache` would drop entries silently, making them
    replayable). Check-and-insert happens under one lock: of concurrent replays, one passes.
    """

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.time) -> None:
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._floor = float("-inf")

    def __len__(self) -> int:
        return len(self._expiry)

    def use(self, key: str, expires_at: float) -> bool:
        """Record `key` until `expires_at`; False when it was seen (or may have been)."""
        with self._lock:
            now = self._clock()
            while self._heap and self._heap[0][0] < now:
                del self._expiry[heapq.heappop(self._heap)[1]]
            if expires_at <= self._floor or key in self._expiry:
                return False
            self._expiry[key] = expires_at
            heapq.heappush(self._heap, (expires_at, key))
            while len(self._expiry) > self._max:
                dropped_at, dropped = heapq.heappop(self._heap)
                self._floor = max(self._floor, dropped_at)
                del self._expiry[dropped]
            return True


def _is_number(value: object) -> bool:
    """A JSON number that can be a time: Python's json also reads NaN and Infinity."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _b64url_decode(segment: str) -> bytes:
    """Strict base64url: alphabet only, no padding, canonical (re-encodes to itself)."""
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise ValueError("not base64url")
    decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if b64url(decoded) != segment:
        raise ValueError("not canonical base64url")
    return decoded


def _unverified_header(proof: str) -> dict[str, Any]:
    """The header, read before the signature is checked (it names the key)."""
    head, dot, _ = proof.partition(".")
    try:
        header = json.loads(_b64url_decode(head))
    except ValueError:
        raise DpopRefused(DpopReason.MALFORMED_PROOF) from None
    if not dot or not isinstance(header, dict):
        raise DpopRefused(DpopReason.MALFORMED_PROOF)
    return header


def _public_key(header: Mapping[str, Any], alg: str) -> tuple[jwt.PyJWK, str]:
    """The proof's own key (a public JWK of the algorithm's type) and its thumbprint."""
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or PRIVATE_JWK_MEMBERS & jwk.keys():
        raise DpopRefused(DpopReason.INVALID_KEY)
    kty, crv = KEY_TYPES[alg]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise DpopRefused(DpopReason.INVALID_KEY)
    if jwk.get("alg", alg) != alg or jwk.get("use", "sig") != "sig":
        raise DpopRefused(DpopReason.INVALID_KEY)
    try:
        return _load_key(json.dumps(jwk, sort_keys=True), alg)
    except (PyJWKError, jwt.PyJWTError, ValueError, TypeError):
        raise DpopRefused(DpopReason.INVALID_KEY) from None


@functools.lru_cache(maxsize=1024)
def _load_key(canonical_jwk: str, alg: str) -> tuple[jwt.PyJWK, str]:
    """Key and thumbprint of a JWK; a client sends the same key with every proof."""
    jwk = json.loads(canonical_jwk)
    key = jwt.PyJWK(jwk, algorithm=alg)
    if KEY_TYPES[alg][0] == "RSA":
        bits = getattr(key.key, "key_size", 0)
        if not RSA_MODULUS_BITS[0] <= bits <= RSA_MODULUS_BITS[1]:
            raise ValueError("RSA modulus size out of bounds")
    return key, jwk_thumbprint(jwk)


class ProofVerifier:
    """Checks one `DPoP` header against the request it came with.

    `public_url`: the API's base URL as clients address it (behind a proxy that rewrites the
    host or scheme); `htu` is then compared with it plus the request path.
    """

    def __init__(
        self,
        *,
        algorithms: Collection[str],
        max_age: int,
        leeway: int,
        replay: ReplayCache,
        public_url: str | None = None,
        nonces: NonceIssuer | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        unknown = set(algorithms) - KEY_TYPES.keys()
        if unknown:
            raise ValueError(f"not an asymmetric JWS algorithm: {sorted(unknown)}")
        self.algorithms = tuple(algorithms)
        self._max_age = max_age
        self._leeway = leeway
        self._replay = replay
        self._public_url = public_url.rstrip("/") if public_url else None
        self.nonces = nonces
        self._wall_clock = wall_clock

    def expected_url(self, request_url: str) -> str:
        if self._public_url is None:
            return request_url
        return self._public_url + (urlsplit(request_url).path or "/")

    def verify(
        self,
        proof: str,
        *,
        method: str,
        url: str,
        access_token: str | None,
        jkt: str | None,
    ) -> VerifiedProof:
        """Every check of RFC 9449 section 4.3 (the nonce, section 8, when nonces are on);
        the `jti` is spent last."""
        if not proof or len(proof) > MAX_PROOF_LENGTH:
            raise DpopRefused(DpopReason.MALFORMED_PROOF)
        header = _unverified_header(proof)
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() != PROOF_TYPE:
            raise DpopRefused(DpopReason.INVALID_TYPE)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise DpopRefused(DpopReason.ALGORITHM_NOT_ALLOWED)
        key, thumbprint = _public_key(header, alg)
        claims = self._decode(proof, key)
        if claims["htm"] != method:
            raise DpopRefused(DpopReason.METHOD_MISMATCH)
        target = _target(claims["htu"])
        if target is None or target != _target(self.expected_url(url)):
            raise DpopRefused(DpopReason.URL_MISMATCH)
        iat: float = claims["iat"]
        spent_until = iat + self._max_age + self._leeway
        if self.nonces is not None:
            # Freshness comes from the server's nonce, so a client's clock may be off.
            issued = self.nonces.issued_at(claims.get("nonce"))
            if issued is None:
                raise DpopRefused(DpopReason.USE_NONCE)
            spent_until = issued + self.nonces.lifetime + self._leeway
        else:
            now = self._wall_clock()
            if iat > now + self._leeway:
                raise DpopRefused(DpopReason.FUTURE)
            if iat < now - self._max_age - self._leeway:
                raise DpopRefused(DpopReason.STALE)
        if access_token is not None:
            ath = claims.get("ath")
            if not isinstance(ath, str) or not hmac.compare_digest(
                ath, access_token_hash(access_token)
            ):
                raise DpopRefused(DpopReason.ATH_MISMATCH)
        if jkt is not None and not hmac.compare_digest(thumbprint, jkt):
            raise DpopRefused(DpopReason.KEY_MISMATCH)
        # Spent only once everything else holds: an invalid proof cannot burn an id.
        verified = VerifiedProof(thumbprint, claims["jti"], int(iat), spent_until)
        if not self._replay.use(verified.replay_key, spent_until):
            raise DpopRefused(DpopReason.REPLAYED)
        return verified

    def _decode(self, proof: str, key: jwt.PyJWK) -> dict[str, Any]:
        """Signature and claim types. The compact form is split here with C-speed base64:
        PyJWT's parser checks each character in Python, half of a proof's cost; PyJWT's
        algorithm object (from `jwt.PyJWK`) still verifies the signature."""
        parts = proof.split(".")
        if len(parts) != 3:
            raise DpopRefused(DpopReason.MALFORMED_PROOF)
        try:
            _, payload, signature = (_b64url_decode(part) for part in parts)
            claims = json.loads(payload)
        except ValueError:
            raise DpopRefused(DpopReason.MALFORMED_PROOF) from None
        signing_input = f"{parts[0]}.{parts[1]}".encode()
        try:
            valid = key.Algorithm.verify(signing_input, key.key, signature)
        except ValueError:  # e.g. a raw EC signature of the wrong length
            valid = False
        if not valid:
            raise DpopRefused(DpopReason.INVALID_SIGNATURE)
        if not isinstance(claims, dict):
            raise DpopRefused(DpopReason.MALFORMED_PROOF)
        if any(name not in claims for name in ("iat", "jti", "htm", "htu")):
            raise DpopRefused(DpopReason.MISSING_CLAIM)
        iat, jti, exp = claims["iat"], claims["jti"], claims.get("exp")
        if not _is_number(iat):
            raise DpopRefused(DpopReason.INVALID_CLAIM)
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            raise DpopRefused(DpopReason.INVALID_CLAIM)
        if not isinstance(claims["htm"], str) or not isinstance(claims["htu"], str):
            raise DpopRefused(DpopReason.INVALID_CLAIM)
        if exp is not None:
            if not _is_number(exp):
                raise DpopRefused(DpopReason.INVALID_CLAIM)
            if exp < self._wall_clock() - self._leeway:
                raise DpopRefused(DpopReason.STALE)
        return claims
