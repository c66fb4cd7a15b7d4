"""The mock token issuer: RS256 keys, Better-Auth-shaped tokens, one control interface.

- ``Issuer``: keys and minting (``keys.py``).
- ``IssuerControl`` / ``MintOptions``: the control interface and the mint signature.
- ``IssuerService``: the interface in-process; ``IssuerServer`` serves it over HTTP.
- ``IssuerClient``: the interface over HTTP.

Only the interface types load eagerly; the rest loads on first use, so a command that
talks to a running issuer imports no crypto and one that mints locally no HTTP stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.issuer.control import FailMode, IssuerControl, IssuerStats, MintOptions

if TYPE_CHECKING:
    from harness.issuer.client import IssuerClient
    from harness.issuer.keys import DEFAULT_TTL_SECONDS, RSA_ALGORITHMS, Issuer, SigningKey
    from harness.issuer.server import IssuerServer
    from harness.issuer.service import IssuerService

__all__ = [
    "DEFAULT_TTL_SECONDS",
    "RSA_ALGORITHMS",
    "FailMode",
    "Issuer",
    "IssuerClient",
    "IssuerControl",
    "IssuerServer",
    "IssuerService",
    "IssuerStats",
    "MintOptions",
    "SigningKey",
]

_LAZY = {
    "DEFAULT_TTL_SECONDS": "harness.issuer.keys",
    "RSA_ALGORITHMS": "harness.issuer.keys",
    "Issuer": "harness.issuer.keys",
    "SigningKey": "harness.issuer.keys",
    "IssuerClient": "harness.issuer.client",
    "IssuerServer": "harness.issuer.server",
    "IssuerService": "harness.issuer.service",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
