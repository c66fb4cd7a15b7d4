"""Start services in dependency order, each as soon as what it needs is ready, in parallel."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

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
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="start") as pool:
        futures = [pool.submit(run, name) for name in names]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error
