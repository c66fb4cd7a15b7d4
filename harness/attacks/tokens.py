"""Token assembly by hand, and the attacker's own keys.

Some attack tokens are assembled from base64url segments because a well-behaved library
refuses to build them (PyJWT will not sign HS256 with a PEM public key, which is the point).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from harness.encoding import b64url, json_segment

FOREIGN_KID = "attacker-key-1"


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
