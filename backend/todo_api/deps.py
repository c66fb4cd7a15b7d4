"""FastAPI dependencies: the verified identity, the path owner check, the task store.

All are coroutines: FastAPI runs a plain `def` dependency in the threadpool, a hop that
costs more than anything these do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase

from todo_api.auth import Identity, Reason
from todo_api.auth.binding import BindingReason, Refusal, RequestAuthenticator, RequestCredentials
from todo_api.auth.dpop import DpopReason
from todo_api.errors import BEARER_CHALLENGE, ApiError
from todo_api.logs import audit, logger
from todo_api.store import TaskStore

_MESSAGES: dict[str, str] = {
    Reason.MISSING_TOKEN: "A bearer token is required.",
    Reason.MALFORMED_HEADER: "The Authorization header must be 'Bearer <token>'.",
    Reason.EXPIRED: "The token has expired.",
    BindingReason.BOUND_TOKEN_AS_BEARER: (
        "This token is bound to a key: send it as 'DPoP <token>' with a proof."
    ),
    BindingReason.DPOP_REQUIRED: "A DPoP-bound token and a DPoP proof are required.",
    DpopReason.USE_NONCE: "Make a new DPoP proof with the nonce in the DPoP-Nonce header.",
}


def challenge(refusal: Refusal, algorithms: Sequence[str]) -> str:
    """`WWW-Authenticate` of a 401 (RFC 6750 section 3, RFC 9449 section 7.1)."""
    if refusal.scheme == "Bearer":
        return BEARER_CHALLENGE
    return f'DPoP error="{refusal.error}", algs="{" ".join(algorithms)}"'


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


class BearerAuthentication(SecurityBase):
    """The `get_identity` dependency: the HTTP bearer scheme of the OpenAPI document, and the
    verification itself. (FastAPI's `HTTPBearer` beside it would be one more dependency to
    resolve per request, parsing a header the authenticator parses anyway.)"""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(
            bearerFormat="JWT",
            description="RS256 access token from Better Auth (`authClient.token()`).",
        )
        self.scheme_name = "HTTPBearer"

    async def __call__(self, request: Request) -> Identity:
        authenticator: RequestAuthenticator = request.app.state.authenticator
        proofs = request.headers.getlist("dpop")
        try:
            return await authenticator.authenticate(
                RequestCredentials(
                    authorization=request.headers.getlist("authorization"),
                    proofs=proofs,
                    method=request.method,
                    # Only a proof is checked against the URL; building it costs ~5 us.
                    url=str(request.url) if proofs else "",
                )
            )
        except Refusal as refusal:
            if refusal.retry_after is not None:
                logger.warning("signing keys unavailable", extra={"reason": refusal.reason})
                raise ApiError(
                    503,
                    "jwks_unavailable",
                    "The token's signing key cannot be fetched right now; retry later.",
                    headers={"Retry-After": str(refusal.retry_after)},
                ) from None
            audit(
                "auth_failed",
                sub=None,
                path_user_id=request.path_params.get("user_id"),
                method=request.method,
                path=request.url.path,
                client_ip=client_ip(request),
                reason=refusal.reason,
            )
            headers = {"WWW-Authenticate": challenge(refusal, authenticator.algorithms)}
            if refusal.nonce is not None:
                headers["DPoP-Nonce"] = refusal.nonce
            raise ApiError(
                401,
                refusal.error,
                _MESSAGES.get(refusal.reason, "The token is not valid."),
                headers=headers,
            ) from None


get_identity = BearerAuthentication()

CurrentIdentity = Annotated[Identity, Depends(get_identity)]


async def require_owner(
    request: Request,
    identity: CurrentIdentity,
    user_id: Annotated[str, Path(description="Must equal the token's `sub`.")],
) -> str:
    """The path's user id, once it is known to be the caller's own (checked before any DB work)."""
    if identity.sub != user_id:
        audit(
            "access_denied",
            sub=identity.sub,
            path_user_id=user_id,
            method=request.method,
            path=request.url.path,
            client_ip=client_ip(request),
        )
        raise ApiError(403, "forbidden", "You may only access your own tasks.")
    return user_id


OwnerId = Annotated[str, Depends(require_owner)]


async def get_store(request: Request) -> TaskStore:
    store: TaskStore = request.app.state.tasks
    return store


Store = Annotated[TaskStore, Depends(get_store)]
