"""The tasks stack's harness: start the stack anywhere, mint tokens, attack it, test it.

Public names (loaded on first use, so ``import harness`` costs nothing):

- ``Stack``, ``ServiceFacts``, ``StackConfig``, ``Mode``, ``ModeChoice``, ``Trust`` -- what a
  stack is and how to start one;
- ``start_stack(mode, config)`` and ``choose(choice)`` -- start one with a provider;
- ``Issuer``, ``IssuerControl``, ``IssuerClient``, ``IssuerServer``, ``MintOptions`` -- the
  mock issuer;
- ``HarnessError`` and its subclasses -- every expected failure;
- the pytest plugin: ``harness.pytest_plugin`` (fixtures ``stack``, ``issuer``, ``api``,
  ``user``, ``other_user``, ``stack_fork``; helpers ``User``, ``make_user``, ``sign_up``,
  ``shared_stack``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.config import Mode, ModeChoice, StackConfig, Trust
    from harness.errors import HarnessError, IssuerError, ProviderError, UsageError
    from harness.issuer import Issuer, IssuerClient, IssuerControl, IssuerServer, MintOptions
    from harness.providers import start_stack
    from harness.registry import choose
    from harness.stack import ServiceFacts, Stack

_EXPORTS = {
    "Mode": "harness.config",
    "ModeChoice": "harness.config",
    "StackConfig": "harness.config",
    "Trust": "harness.config",
    "HarnessError": "harness.errors",
    "IssuerError": "harness.errors",
    "ProviderError": "harness.errors",
    "UsageError": "harness.errors",
    "Issuer": "harness.issuer",
    "IssuerClient": "harness.issuer",
    "IssuerControl": "harness.issuer",
    "IssuerServer": "harness.issuer",
    "MintOptions": "harness.issuer",
    "start_stack": "harness.providers",
    "choose": "harness.registry",
    "ServiceFacts": "harness.stack",
    "Stack": "harness.stack",
}
__all__ = [
    "HarnessError",
    "Issuer",
    "IssuerClient",
    "IssuerControl",
    "IssuerError",
    "IssuerServer",
    "MintOptions",
    "Mode",
    "ModeChoice",
    "ProviderError",
    "ServiceFacts",
    "Stack",
    "StackConfig",
    "Trust",
    "UsageError",
    "choose",
    "start_stack",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
