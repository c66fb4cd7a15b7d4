"""Start services in dependency order, each as soon as what it needs is ready, in parallel."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from harness.services import SPECS, Condition

Progress = Callable[[str], None]


def start_in_order(
    services: Iterable[str],
    *,
    start: Callable[[str], None],
    wait_healthy: Callable[[str, threading.Event], None],
    progress: Progress,
) -> None:
    """For each service: wait for its dependencies (started or healthy, as its description
    says), ``start`` it, then ``wait_healthy(name, abandoned)``, which should give up once
    ``abandoned`` is set (another service failed). Services that do not need each other
    start at the same time. The first failure is raised once every thread has stopped."""
    names = list(services)
    started = {name: threading.Event() for name in names}
    healthy = {name: threading.Event() for name in names}
    failed = threading.Event()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def ready(dependency: str, condition: Condition) -> threading.Event:
        return healthy[dependency] if condition is Condition.HEALTHY else started[dependency]

    def run(name: str) -> None:
        try:
            for dependency, condition in SPECS[name].depends_on.items():
                if dependency not in started:
                    continue
                while not ready(dependency, condition).wait(0.05):
                    if failed.is_set():
                        return
            progress(f"{name}: starting")
            start(name)
            started[name].set()
            progress(f"{name}: waiting until healthy")
            wait_healthy(name, failed)
            healthy[name].set()
            progress(f"{name}: healthy")
        except BaseException as error:
            with lock:
                # The first failure is the cause; the others gave up because of it.
                errors.append(error)
            failed.set()

    with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="start") as pool:
        for future in [pool.submit(run, name) for name in names]:
            future.result()
    if errors:
        raise errors[0]
