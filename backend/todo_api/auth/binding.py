"""Request credentials -> verified identity, with the token binding policy (`DPOP_MODE`).

- `off`: the bearer flow only, exactly as without DPoP (`cnf` is not looked at).
- `optional`: `Bearer` for unbound tokens, `DPoP` + a proof for bound ones; a bound token
  presented as `Bearer` is refused (RFC 9449 section 7.2).
- `required`: only `DPoP` with a bound token and a valid proof.

Like the token verifier it knows nothing of routes or the database: it turns the
request's `Authorization` and `DPoP` headers, method and URL into an `Identity` or a
typed `Refusal` that says which challenge to send.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from todo_api.auth.dpop import DpopReason, DpopRefused, ProofVerifier, SpentProofIds
from todo_api.auth.verifier import (
    AuthRefused,
    Identity,
    Reason,
    TokenVerifier,
    bearer_token,
    single_header,
)

Scheme = Literal["Bearer", "DPoP"]
ErrorCode = Literal["invalid_token", "invalid_dpop_proof", "use_dpop_nonce"]


class DpopMode(StrEnum):
    OFF = "off"
    OPTIONAL = "optional"
    REQUIRED = "required"


class BindingReason(StrEnum):
    BOUND_TOKEN_AS_BEARER = "bound_token_as_bearer"
    TOKEN_NOT_BOUND = "token_not_bound"
    INVALID_CNF = "invalid_cnf"
    DPOP_REQUIRED = "dpop_required"


class Refusal(Exception):
    """A 401 (or, with `retry_after`, a 503) and the challenge scheme that goes with it."""

    def __init__(
        self,
        reason: str,
        scheme: Scheme,
        error: ErrorCode = "invalid_token",
        retry_after: int | None = None,
        nonce: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = str(reason)
        self.scheme = scheme
        self.error = error
        self.retry_after = retry_after
        # A fresh server nonce for the client's next proof (`DPoP-Nonce`).
        self.nonce = nonce


@dataclass(frozen=True, slots=True)
class RequestCredentials:
    # Every Authorization header value (more than one is refused as ambiguous).
    authorization: Sequence[str]
    proofs: Sequence[str]
    method: str
    url: str


def bound_thumbprint(identity: Identity) -> str | None:
    """The token's `cnf.jkt` (RFC 9449 section 6.1), None for an unbound token."""
    if "cnf" not in identity.claims:
        return None
    cnf = identity.claims["cnf"]
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if not isinstance(jkt, str) or not jkt:
        # A confirmation we cannot check must not be ignored.
        raise Refusal(BindingReason.INVALID_CNF, "DPoP")
    return jkt


class RequestAuthenticator:
    """`spent`: where every process of the deployment records accepted proof ids; None
    when this process is the only one (its verifier's cache is then enough)."""

    def __init__(
        self,
        tokens: TokenVerifier,
        proofs: ProofVerifier | None,
        mode: DpopMode,
        spent: SpentProofIds | None = None,
    ) -> None:
        if mode is not DpopMode.OFF and proofs is None:
            raise ValueError("DPoP needs a proof verifier")
        self.tokens = tokens
        self.proofs = proofs
        self.mode = mode
        self.spent = spent

    @property
    def algorithms(self) -> tuple[str, ...]:
        return self.proofs.algorithms if self.proofs is not None else ()

    async def authenticate(self, request: RequestCredentials) -> Identity:
        # Bearer stays the challenge of the optional mode, so its clients see what they know.
        default: Scheme = "DPoP" if self.mode is DpopMode.REQUIRED else "Bearer"
        try:
            authorization = single_header(request.authorization)
        except AuthRefused as refused:
            raise Refusal(refused.reason, default) from None
        if self.mode is DpopMode.OFF:
            return await self._token(lambda: bearer_token(authorization), "Bearer")
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        if scheme.lower() == "dpop":
            return await self._bound(credentials.strip(), request)
        if scheme.lower() == "bearer" and self.mode is DpopMode.REQUIRED:
            raise Refusal(BindingReason.DPOP_REQUIRED, "DPoP")
        identity = await self._token(lambda: bearer_token(authorization), default)
        if bound_thumbprint(identity) is not None:
            raise Refusal(BindingReason.BOUND_TOKEN_AS_BEARER, "Bearer")
        return identity

    async def _bound(self, token: str, request: RequestCredentials) -> Identity:
        assert self.proofs is not None
        if not token or " " in token:
            raise Refusal(Reason.MALFORMED_HEADER, "DPoP")
        identity = await self._token(lambda: token, "DPoP")
        jkt = bound_thumbprint(identity)
        if jkt is None:
            raise Refusal(BindingReason.TOKEN_NOT_BOUND, "DPoP")
        if not request.proofs:
            raise Refusal(DpopReason.MISSING_PROOF, "DPoP", "invalid_dpop_proof")
        if len(request.proofs) > 1:
            raise Refusal(DpopReason.MULTIPLE_PROOFS, "DPoP", "invalid_dpop_proof")
        try:
            proof = self.proofs.verify(
                request.proofs[0],
                method=request.method,
                url=request.url,
                access_token=token,
                jkt=jkt,
            )
            # Last, like the verifier's own check: an invalid proof cannot burn an id.
            if self.spent is not None and not await self.spent.use(
                proof.replay_key, proof.spent_until
            ):
                raise DpopRefused(DpopReason.REPLAYED)
        except DpopRefused as refused:
            if refused.reason is DpopReason.USE_NONCE and self.proofs.nonces is not None:
                nonce = self.proofs.nonces.issue()
                raise Refusal(refused.reason, "DPoP", "use_dpop_nonce", nonce=nonce) from None
            raise Refusal(refused.reason, "DPoP", "invalid_dpop_proof") from None
        return identity

    async def _token(self, extract: Callable[[], str], scheme: Scheme) -> Identity:
        """`extract` returns the token or raises `AuthRefused` (malformed header)."""
        try:
            return await self.tokens.verify(extract())
        except AuthRefused as refused:
            raise Refusal(refused.reason, scheme, retry_after=refused.retry_after) from None
