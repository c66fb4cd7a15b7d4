"""Bearer token verification: header in, verified identity or typed refusal out."""

from todo_api.auth.jwks_cache import JwksCache, JwksUnavailable
from todo_api.auth.verifier import AuthRefused, Identity, Reason, TokenVerifier, bearer_token

__all__ = [
    "AuthRefused",
    "Identity",
    "JwksCache",
    "JwksUnavailable",
    "Reason",
    "TokenVerifier",
    "bearer_token",
]
