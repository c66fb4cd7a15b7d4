"""Builds the request authenticator (token verifier + DPoP policy) from `Settings`."""

from __future__ import annotations

from todo_api.auth.binding import DpopMode, RequestAuthenticator
from todo_api.auth.dpop import ProofVerifier, ReplayCache
from todo_api.auth.verifier import TokenVerifier
from todo_api.dpop_settings import DpopSettings


def request_authenticator(
    settings: DpopSettings, tokens: TokenVerifier, leeway: int
) -> RequestAuthenticator:
    mode = DpopMode(settings.dpop_mode)
    proofs = None
    if mode is not DpopMode.OFF:
        proofs = ProofVerifier(
            algorithms=settings.dpop_algorithms,
            max_age=settings.dpop_proof_max_age_seconds,
            leeway=leeway,
            replay=ReplayCache(settings.dpop_replay_cache_size),
            public_url=settings.dpop_public_api_url,
        )
    return RequestAuthenticator(tokens, proofs, mode)
