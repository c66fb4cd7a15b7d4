"""The provider protocol and its registry: the one place a provider is chosen.

Each provider is one module under ``harness.providers``; the registry names it by its
dotted path (as a pytest11 entry point would), so choosing a provider imports only that
one -- a local stack never loads the Docker SDK -- and nothing here imports a provider
back. A new provider is one module plus one line in ``REGISTRY``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from harness.config import Mode, ModeChoice
from harness.errors import UsageError

if TYPE_CHECKING:
    from harness.config import StackConfig
    from harness.stack import Stack

Progress = Callable[[str], None]


class Provider(Protocol):
    """Starts, controls and removes stacks of one mode.

    Every method but ``up`` works on a ``Stack`` restored from its saved JSON in any
    process (``harness down`` in another shell, an xdist worker).
    """

    mode: Mode

    def unavailable(self) -> str | None:
        """None when this provider can run here, else one line saying why not."""
        ...

    def up(self, config: StackConfig, progress: Progress) -> Stack:
        """Start every service; return once all are healthy. On failure nothing is left."""
        ...

    def fork(self, stack: Stack, config: StackConfig) -> Stack:
        """A private issuer + backend on ``stack``'s database and frontend."""
        ...

    def down(self, stack: Stack) -> None:
        """Remove what ``up`` (or ``fork``) started: processes or containers, data, networks."""
        ...

    def stop(self, stack: Stack, service: str) -> None: ...

    def start(self, stack: Stack, service: str) -> None:
        """Start a stopped service again (same port, same data); return once healthy."""
        ...

    def running(self, stack: Stack) -> dict[str, bool]: ...

    def logs(self, stack: Stack, service: str) -> str: ...


REGISTRY: dict[Mode, str] = {
    Mode.LOCAL: "harness.providers.local:LocalProvider",
    Mode.CONTAINERS: "harness.providers.containers:ContainersProvider",
    Mode.COMPOSE: "harness.providers.compose:ComposeProvider",
}
# What `auto` tries, in order: test stacks want throw-away containers, else processes;
# a developer's stack (`harness up`) prefers Docker Compose where it is installed.
TEST_ORDER: tuple[Mode, ...] = (Mode.CONTAINERS, Mode.LOCAL)
DEVELOPMENT_ORDER: tuple[Mode, ...] = (Mode.COMPOSE, Mode.CONTAINERS, Mode.LOCAL)

_instances: dict[Mode, Provider] = {}


def provider(mode: Mode) -> Provider:
    """The provider for ``mode`` (imported on first use)."""
    found = _instances.get(mode)
    if found is None:
        module, _, name = REGISTRY[mode].partition(":")
        found = getattr(importlib.import_module(module), name)()
        _instances[mode] = found
    return found


def choose(choice: ModeChoice, order: Sequence[Mode] = TEST_ORDER) -> tuple[Mode, str]:
    """The one selection point: the mode to use and a sentence saying why (printed, so users
    know which provider ran). An explicit mode this machine cannot run is a UsageError."""
    if choice is not ModeChoice.AUTO:
        mode = Mode(choice.value)
        reason = provider(mode).unavailable()
        if reason is not None:
            raise UsageError(f"the {mode} provider cannot run here: {reason}")
        return mode, f"{mode} (asked for)"
    skipped: list[str] = []
    for mode in order:
        reason = provider(mode).unavailable()
        if reason is None:
            why = f"; {'; '.join(skipped)}" if skipped else ""
            return mode, f"{mode} (auto{why})"
        skipped.append(f"not {mode}: {reason}")
    raise UsageError("no provider can run here: " + "; ".join(skipped))
