"""Services start in dependency order, in parallel where they can, and fail as one."""

from __future__ import annotations

import threading
import time

import pytest

from harness.errors import ProviderError
from harness.providers.startup import start_in_order

SERVICES = ["postgres", "issuer", "backend", "frontend"]


def test_dependencies_first_independent_services_together() -> None:
    events: list[str] = []
    lock = threading.Lock()
    issuer_started = threading.Event()

    def start(name: str) -> None:
        with lock:
            events.append(f"start {name}")
        if name == "issuer":
            issuer_started.set()
        if name == "postgres":
            # The issuer needs nothing: it starts while PostgreSQL is still starting.
            assert issuer_started.wait(5)

    def healthy(name: str, _: threading.Event) -> None:
        time.sleep(0.05)
        with lock:
            events.append(f"healthy {name}")

    start_in_order(SERVICES, start=start, wait_healthy=healthy, progress=lambda _: None)

    assert events.index("start backend") > events.index("healthy postgres")  # HEALTHY
    assert events.index("start frontend") > events.index("start postgres")  # STARTED
    assert events.index("start issuer") < events.index("healthy postgres")
    assert sorted(e for e in events if e.startswith("healthy")) == sorted(
        f"healthy {n}" for n in SERVICES
    )


def test_the_first_failure_is_raised_and_dependents_never_start() -> None:
    started: list[str] = []

    def start(name: str) -> None:
        started.append(name)
        if name == "postgres":
            raise ProviderError("postgres did not start")

    def healthy(name: str, abandoned: threading.Event) -> None:
        # The issuer's wait gives up once another service failed.
        if not abandoned.wait(5):
            raise AssertionError("never told to give up")
        raise ProviderError(f"{name}: start-up abandoned")

    with pytest.raises(ProviderError, match="postgres did not start"):
        start_in_order(SERVICES, start=start, wait_healthy=healthy, progress=lambda _: None)
    assert "backend" not in started
    assert "frontend" not in started
