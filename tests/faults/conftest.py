"""Fault-scenario fixtures. The suite runs as its own pytest invocation with its own stack
(``--stack-mode=local|containers``, no xdist): its tests stop and start that stack's
services one test at a time, so no other suite is disturbed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.stack import Stack


@pytest.fixture(autouse=True)
def services_restored(stack: Stack) -> Iterator[None]:
    """Whatever a scenario did, the next test starts with every service running."""
    yield
    for service, running in stack.running().items():
        if not running:
            stack.start(service)


@pytest.fixture
def own_stack(stack: Stack, request: pytest.FixtureRequest) -> Stack:
    """The stack this run started. Scenarios that stop its PostgreSQL or its backend must
    not break a stack that `harness up` left running for someone (``--stack-mode=saved``)."""
    if request.config.getoption("--stack-mode") == "saved":
        raise pytest.UsageError(
            "this scenario stops services of the stack: run it on its own stack "
            "(--stack-mode=local or containers), not on a saved one"
        )
    return stack


@pytest.fixture
def fork(stack_fork: Callable[..., Stack]) -> Callable[[float], Stack]:
    """A private issuer + backend (shared database) with a given JWKS cool-down."""
    return lambda cooldown: stack_fork(jwks_cooldown_seconds=cooldown)


_figures = pytest.StashKey[list[str]]()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[list[str]], None]:
    """Keep a scenario's figures (one line each) for the end-of-run summary."""
    return request.config.stash.setdefault(_figures, []).extend


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = config.stash.get(_figures, [])
    if lines:
        terminalreporter.write_sep("=", "load and fault figures")
        for line in lines:
            terminalreporter.write_line(line)
