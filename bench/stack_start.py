"""Stack start per provider, warm: time until every service is healthy, and to tear down.

Warm means the frontend build (local) and the images (containers, compose) already exist:
both are prepared, untimed, before the first measured start. Each provider starts
``--runs`` times and the median is printed, with the ratio to local. Targets: local <= 5 s,
containers (warm) <= 15 s. Nothing is gated.

    .venv/bin/python -m bench.stack_start [--providers local,containers,compose] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from harness.config import Mode, StackConfig
from harness.images import ensure_images
from harness.providers import start_stack
from harness.providers.local import ensure_frontend_build
from harness.registry import provider

CONFIG = StackConfig(name="bench-start", auth_rate_limit=False)


def prepare(mode: Mode) -> None:
    if mode is Mode.LOCAL:
        ensure_frontend_build(lambda line: print(line, file=sys.stderr))
    else:
        ensure_images(progress=lambda line: print(line, file=sys.stderr))


def start_and_stop(mode: Mode) -> tuple[float, float]:
    started = time.perf_counter()
    stack = start_stack(mode, CONFIG)
    up = time.perf_counter() - started
    started = time.perf_counter()
    stack.down()
    return up, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--providers", default="local,containers,compose")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    medians: dict[Mode, float] = {}
    for name in [p.strip() for p in args.providers.split(",") if p.strip()]:
        mode = Mode(name)
        reason = provider(mode).unavailable()
        if reason is not None:
            print(f"{f'stack start, {mode}':<44} n/a ({reason})")
            continue
        prepare(mode)
        runs = [start_and_stop(mode) for _ in range(args.runs)]
        medians[mode] = statistics.median(up for up, _ in runs)
        print(f"{f'stack start, {mode} (warm, median)':<44} {medians[mode]:8.2f} s")
        print(f"{f'stack start, {mode} (fastest)':<44} {min(u for u, _ in runs):8.2f} s")
        print(
            f"{f'stack down, {mode} (median)':<44} {statistics.median(d for _, d in runs):8.2f} s"
        )
    for other in (Mode.CONTAINERS, Mode.COMPOSE):
        if Mode.LOCAL in medians and other in medians:
            ratio = medians[other] / medians[Mode.LOCAL]
            print(f"{f'ratio {other} / local start':<44} {ratio:8.2f}")


if __name__ == "__main__":
    main()
