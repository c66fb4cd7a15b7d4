"""The issuer's one control interface, implemented in-process (``IssuerService``, and so
``IssuerServer``) and over HTTP (``IssuerClient``). Tests and tools written against
``IssuerControl`` run unchanged against either.

``MintOptions`` is the mint signature, defined once: ``Issuer.mint``, both implementations
and the HTTP body of ``POST /admin/mint`` take exactly these names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, TypedDict

from typing_extensions import Unpack

FailMode = Literal["error", "hang"]
FAIL_MODES: tuple[FailMode, ...] = ("error", "hang")


class MintOptions(TypedDict, total=False):
    """How a token differs from the Better Auth shape (all optional)."""

    # Lifetime in seconds; negative: already expired.
    ttl: float
    # Claims added or replacing the defaults (iat, sub, exp, iss, aud).
    claims: Mapping[str, Any]
    # Header fields added; a None value removes the field (e.g. {"kid": None}).
    headers: Mapping[str, Any]
    # Sign with this key (default: the current one).
    kid: str | None
    # An RSA algorithm other than the key's own (RS384, PS256, ...).
    alg: str | None
    nbf: float | None
    iat: float | None
    # Claims to leave out.
    omit: Sequence[str]


_MINT_TYPES: dict[str, tuple[type, ...]] = {
    "ttl": (int, float),
    "claims": (dict,),
    "headers": (dict,),
    "kid": (str, type(None)),
    "alg": (str, type(None)),
    "nbf": (int, float, type(None)),
    "iat": (int, float, type(None)),
    "omit": (list,),
}


def parse_mint_request(body: Mapping[str, Any]) -> tuple[str | None, MintOptions]:
    """The ``POST /admin/mint`` body as ``(sub, options)``; ValueError names a bad field."""
    if "sub" not in body:
        raise ValueError("sub is required (null for a token without a sub claim)")
    sub = body["sub"]
    if sub is not None and not isinstance(sub, str):
        raise ValueError("sub must be a string or null")
    options: dict[str, Any] = {}
    for name, value in body.items():
        if name == "sub":
            continue
        allowed = _MINT_TYPES.get(name)
        if allowed is None:
            raise ValueError(f"unknown mint option {name!r}")
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise ValueError(f"mint option {name!r} has the wrong type")
        options[name] = value
    return sub, MintOptions(**options)  # type: ignore[typeddict-item]


def mint_request(sub: str | None, options: MintOptions) -> dict[str, Any]:
    """``(sub, options)`` as the JSON body of ``POST /admin/mint``."""
    body: dict[str, Any] = {"sub": sub}
    for name, value in options.items():
        if isinstance(value, Mapping):
            value = dict(value)
        elif name == "omit":
            value = list(value)  # type: ignore[call-overload]
        body[name] = value
    return body


@dataclass(frozen=True)
class IssuerStats:
    """What the issuer reports about itself (``GET /admin/stats``)."""

    # Fetches of the JWKS endpoints by verifiers (the control interface's `jwks()` is not counted).
    jwks_hits: int
    kids: list[str]
    current_kid: str
    failing: FailMode | None
    failing_for: float
    issuer: str
    audience: str
    upstream_jwks: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IssuerStats:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


class IssuerControl(Protocol):
    """Mint tokens, change keys, break the JWKS endpoints for a while, read the counters."""

    def mint(self, sub: str | None, **options: Unpack[MintOptions]) -> str:
        """A signed token for ``sub`` (None: no sub claim)."""
        ...

    def jwks(self) -> dict[str, Any]:
        """The issuer's own public keys, ``{"keys": [...]}``."""
        ...

    def rotate(self, *, keep_old: bool = True) -> str:
        """Add a new current key (the old ones stay published unless ``keep_old`` is false);
        returns its kid."""
        ...

    def drop(self, kid: str) -> None:
        """Stop publishing (and signing with) a key."""
        ...

    def fail(self, seconds: float, mode: FailMode = "error") -> None:
        """For ``seconds`` the JWKS endpoints answer 503 (``error``) or hold requests (``hang``)."""
        ...

    def recover(self) -> None:
        """End an injected failure now."""
        ...

    def reset(self) -> None:
        """Zero the counters and end any failure."""
        ...

    def stats(self) -> IssuerStats: ...

    @property
    def kid(self) -> str:
        """The current signing key's id."""
        ...

    @property
    def jwks_hits(self) -> int:
        """How often verifiers fetched the JWKS."""
        ...
