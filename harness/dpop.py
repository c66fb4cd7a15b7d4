"""DPoP for clients and tests (RFC 9449): key files, RFC 7638 thumbprints, proofs.

A client holds a P-256 key, gets tokens whose ``cnf.jkt`` is that key's thumbprint, and
sends each request with ``Authorization: DPoP <token>`` and a fresh ``DPoP`` proof: a JWT
of type ``dpop+jwt`` signed by the key, carrying the public key in its header and ``htm``,
``htu``, ``iat``, ``jti`` and ``ath`` (the token's hash) in its claims. Every field can be
overridden, so the attack corpus builds its bad proofs here too.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from harness.encoding import b64url

PROOF_TYPE = "dpop+jwt"
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 JWK thumbprint (PyJWT has none): digest of the sorted required members."""
    members = _THUMBPRINT_MEMBERS[str(jwk["kty"])]
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest())


def access_token_hash(token: str) -> str:
    """``ath``: base64url of the SHA-256 of the token's ASCII bytes."""
    return b64url(hashlib.sha256(token.encode("ascii")).digest())


def htu(url: str) -> str:
    """The request URL without query and fragment, as ``htu`` carries it."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


@dataclass(frozen=True)
class DpopKey:
    """An ES256 (P-256) key pair a DPoP client proves possession of."""

    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls) -> DpopKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @property
    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(self.private_key.public_key()))
        return {name: jwk[name] for name in ("kty", "crv", "x", "y")}

    @property
    def private_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(self.private_key))
        return {name: jwk[name] for name in ("kty", "crv", "x", "y", "d")}

    @property
    def jkt(self) -> str:
        return thumbprint(self.public_jwk)

    def proof(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        iat: float | None = None,
        jti: str | None = None,
        nonce: str | None = None,
        claims: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        omit: Iterable[str] = (),
    ) -> str:
        """A proof for one request. ``claims``/``headers`` override fields (None: leave out)."""
        payload: dict[str, Any] = {
            "htm": method,
            "htu": htu(url),
            "iat": int(time.time() if iat is None else iat),
            "jti": jti or secrets.token_urlsafe(16),
        }
        if token is not None:
            payload["ath"] = access_token_hash(token)
        if nonce is not None:
            payload["nonce"] = nonce
        payload.update(claims or {})
        header: dict[str, Any] = {"typ": PROOF_TYPE, "jwk": self.public_jwk, **(headers or {})}
        for name in omit:
            payload.pop(name, None)
            header.pop(name, None)
        payload = {name: value for name, value in payload.items() if value is not None}
        header = {name: value for name, value in header.items() if value is not None}
        return jwt.encode(payload, self.private_key, algorithm="ES256", headers=header)

    def save(self, path: Path) -> None:
        """Write the private JWK, readable by the owner only, atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.private_jwk, fh)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> DpopKey:
        try:
            jwk = json.loads(path.read_text())
            key = ECAlgorithm.from_jwk(jwk)
        except (OSError, ValueError, KeyError, TypeError, jwt.InvalidKeyError) as exc:
            raise ValueError(f"unreadable DPoP key file {path}: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError(f"{path} does not hold a private P-256 key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> tuple[DpopKey, bool]:
        """The key in ``path``, or a new one saved there; True when it was created."""
        if path.exists():
            return cls.load(path), False
        key = cls.generate()
        key.save(path)
        return key, True


def bound_claims(jkt: str) -> dict[str, Any]:
    """The confirmation claim that binds a token to the key with thumbprint ``jkt``."""
    return {"cnf": {"jkt": jkt}}


def dpop_headers(key: DpopKey, token: str, method: str, url: str, **proof: Any) -> dict[str, str]:
    """``Authorization`` and ``DPoP`` headers for one request with a bound token."""
    return {
        "Authorization": f"DPoP {token}",
        "DPoP": key.proof(method, url, token=token, **proof),
    }
