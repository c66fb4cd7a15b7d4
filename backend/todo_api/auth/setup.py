"""Builds the request authenticator (token verifier + DPoP policy) from `Settings`."""

from __future__ import annotations

import secrets

from todo_api.auth.binding import DpopMode, RequestAuthenticator
from todo_api.auth.dpop import NonceIssuer, ProofVerifier, ReplayCache, SpentProofIds
from todo_api.auth.verifier import TokenVerifier
from todo_api.dpop_settings import DpopSettings


def request_authenticator(
    settings: DpopSettings,
    tokens: TokenVerifier,
    leeway: int,
    spent: SpentProofIds | None = None,
) -> RequestAuthenticator:
    """`spent` is used when `DPOP_REPLAY_STORE=database` (the default)."""
    mode = DpopMode(settings.dpop_mode)
    proofs = None
    if mode is not DpopMode.OFF:
        nonces = None
        if settings.dpop_nonce:
            secret = settings.dpop_nonce_secret
            key = secret.get_secret_value().encode() if secret else secrets.token_bytes(32)
            nonces = NonceIssuer(key, settings.dpop_nonce_lifetime_seconds)
        proofs = ProofVerifier(
            algorithms=settings.dpop_algorithms,
            max_age=settings.dpop_proof_max_age_seconds,
            leeway=leeway,
            replay=ReplayCache(settings.dpop_replay_cache_size),
            public_url=settings.dpop_public_api_url,
            nonces=nonces,
        )
    shared = spent if settings.dpop_replay_store == "database" else None
    return RequestAuthenticator(tokens, proofs, mode, shared)
