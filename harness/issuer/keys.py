"""RS256 key pairs and tokens shaped like Better Auth's.

Better Auth's JWT plugin signs with a header of only ``alg`` and ``kid`` and, with the
payload trimmed, exactly the claims ``iat, sub, exp, iss, aud`` (``iss`` = ``aud`` = the
app's origin). Tokens minted here default to that shape so the backend is tested against
what it will really receive; every part can be overridden to build bad tokens.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from typing_extensions import Unpack

from harness.errors import IssuerError
from harness.issuer.control import MintOptions

DEFAULT_TTL_SECONDS = 15 * 60
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    alg: str = "RS256"

    @classmethod
    def generate(cls, alg: str = "RS256") -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid=secrets.token_urlsafe(16), private_key=key, alg=alg)

    def public_jwk(self) -> dict[str, Any]:
        # Better Auth's JWKS entries carry kty, n, e, alg and kid (no "use").
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {"kty": jwk["kty"], "n": jwk["n"], "e": jwk["e"], "alg": self.alg, "kid": self.kid}

    def private_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class Issuer:
    """Holds the signing keys (current one last) and mints tokens. Thread-safe."""

    def __init__(
        self,
        issuer: str = "http://localhost:3000",
        audience: str | None = None,
        *,
        key_file: Path | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience or issuer
        self._key_file = key_file
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []
        if key_file is not None and key_file.exists():
            self._keys = _load_keys(key_file)
        if not self._keys:
            self._keys = [SigningKey.generate()]
            self._save()

    @property
    def kid(self) -> str:
        with self._lock:
            return self._keys[-1].kid

    @property
    def kids(self) -> list[str]:
        with self._lock:
            return [k.kid for k in self._keys]

    def key(self, kid: str | None = None) -> SigningKey:
        with self._lock:
            if kid is None:
                return self._keys[-1]
            for key in self._keys:
                if key.kid == kid:
                    return key
        raise KeyError(kid)

    def private_key(self, kid: str | None = None) -> rsa.RSAPrivateKey:
        return self.key(kid).private_key

    def public_key(self, kid: str | None = None) -> rsa.RSAPublicKey:
        return self.key(kid).private_key.public_key()

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {"keys": [k.public_jwk() for k in self._keys]}

    def rotate(self, *, keep_old: bool = True) -> str:
        """Add a new current key; the old ones stay published unless ``keep_old`` is false."""
        new = SigningKey.generate()
        with self._lock:
            self._keys = [*self._keys, new] if keep_old else [new]
        self._save()
        return new.kid

    def drop(self, kid: str) -> None:
        with self._lock:
            remaining = [k for k in self._keys if k.kid != kid]
            if len(remaining) == len(self._keys):
                raise KeyError(kid)
            if not remaining:
                raise ValueError("cannot drop the only key; rotate first")
            self._keys = remaining
        self._save()

    def claims(
        self,
        sub: str | None,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        claims: Mapping[str, Any] | None = None,
        nbf: float | None = None,
        iat: float | None = None,
        omit: Iterable[str] = (),
    ) -> dict[str, Any]:
        now = int(time.time())
        issued = int(iat) if iat is not None else now
        payload: dict[str, Any] = {
            "iat": issued,
            "sub": sub,
            "exp": int(now + ttl),
            "iss": self.issuer,
            "aud": self.audience,
        }
        if sub is None:
            del payload["sub"]
        if nbf is not None:
            payload["nbf"] = int(nbf)
        payload.update(claims or {})
        for name in omit:
            payload.pop(name, None)
        return payload

    def mint(self, sub: str | None, **options: Unpack[MintOptions]) -> str:
        """Sign a token. ``ttl`` may be negative (already expired); ``kid`` picks a key."""
        key = self.key(options.get("kid"))
        algorithm = options.get("alg") or key.alg
        if algorithm not in RSA_ALGORITHMS:
            raise ValueError(f"the issuer signs with RSA keys only, not {algorithm}")
        payload = self.claims(
            sub,
            ttl=options.get("ttl", DEFAULT_TTL_SECONDS),
            claims=options.get("claims"),
            nbf=options.get("nbf"),
            iat=options.get("iat"),
            omit=options.get("omit", ()),
        )
        # PyJWT drops a falsy "typ": Better Auth's header has none either.
        header: dict[str, Any] = {"kid": key.kid, "typ": None, **(options.get("headers") or {})}
        # Any other null field means "leave it out" (e.g. a token without a kid).
        header = {
            name: value for name, value in header.items() if value is not None or name == "typ"
        }
        return jwt.encode(payload, key.private_key, algorithm=algorithm, headers=header)

    def _save(self) -> None:
        if self._key_file is None:
            return
        with self._lock:
            data = {
                "keys": [{"kid": k.kid, "alg": k.alg, "pem": k.private_pem()} for k in self._keys]
            }
        self._key_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._key_file.with_suffix(".tmp")
        # Private keys: readable by the owner only, written atomically.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        tmp.replace(self._key_file)


def _load_keys(path: Path) -> list[SigningKey]:
    try:
        data = json.loads(path.read_text())
        keys = []
        for entry in data["keys"]:
            private = serialization.load_pem_private_key(entry["pem"].encode(), password=None)
            if not isinstance(private, rsa.RSAPrivateKey):
                raise ValueError("not an RSA key")
            keys.append(SigningKey(kid=entry["kid"], private_key=private, alg=entry["alg"]))
        return keys
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IssuerError(f"unreadable key file {path}: {exc}") from exc
