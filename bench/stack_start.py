"""Stack start per provider, warm: time until every service is healthy, and to tear down.

Warm means the frontend build (local) and the images (containers) already exist: both are
prepared, untimed, before the first measured start. Each provider starts ``--runs`` times
and the median is printed, with the containers/local ratio when both ran. A plain
``docker compose up --wait`` is measured the same way where Compose v2 is installed.
Issue targets: local <= 5 s, containers (warm) <= 15 s. Nothing is gated.

    .venv/bin/python bench/stack_start.py [--providers local,containers] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness.dockerd import docker_available, start_stack
from harness.stack import Mode, StackConfig

ROOT = Path(__file__).resolve().parent.parent
CONFIG = StackConfig(name="bench-start", auth_rate_limit=False)


def prepare(mode: Mode) -> None:
    if mode == "local":
        from harness.provider_local import ensure_frontend_build

        ensure_frontend_build(lambda line: print(line, file=sys.stderr))
    else:
        from harness.images import ensure_images

        ensure_images(progress=lambda line: print(line, file=sys.stderr))


def start_and_stop(mode: Mode) -> tuple[float, float]:
    started = time.perf_counter()
    stack = start_stack(mode, CONFIG)
    up = time.perf_counter() - started
    started = time.perf_counter()
    stack.down()
    return up, time.perf_counter() - started


def compose_available() -> bool:
    try:
        done = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def compose_up_wait() -> float:
    started = time.perf_counter()
    try:
        subprocess.run(
            ["docker", "compose", "-p", "bench-start", "up", "-d", "--wait"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started
    finally:
        subprocess.run(
            ["docker", "compose", "-p", "bench-start", "down", "-v"],
            cwd=ROOT,
            check=False,
            capture_output=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--providers", default="local,containers")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    wanted = [p.strip() for p in args.providers.split(",") if p.strip()]
    medians: dict[str, float] = {}
    for name in wanted:
        if name not in ("local", "containers"):
            raise SystemExit(f"unknown provider {name!r}")
        mode: Mode = "local" if name == "local" else "containers"
        if mode == "containers" and not docker_available():
            print(f"{'stack start, containers':<44} n/a (no Docker daemon answers)")
            continue
        prepare(mode)
        runs = [start_and_stop(mode) for _ in range(args.runs)]
        medians[name] = statistics.median(up for up, _ in runs)
        print(f"{f'stack start, {name} (warm, median)':<44} {medians[name]:8.2f} s")
        print(f"{f'stack start, {name} (fastest)':<44} {min(u for u, _ in runs):8.2f} s")
        print(
            f"{f'stack down, {name} (median)':<44} {statistics.median(d for _, d in runs):8.2f} s"
        )
    if "local" in medians and "containers" in medians:
        ratio = medians["containers"] / medians["local"]
        print(f"{'ratio containers / local start':<44} {ratio:8.2f}")
    if compose_available():
        compose = statistics.median(compose_up_wait() for _ in range(args.runs))
        print(f"{'docker compose up --wait (median)':<44} {compose:8.2f} s")
    else:
        print(f"{'docker compose up --wait':<44} n/a (Compose v2 not installed)")


if __name__ == "__main__":
    main()
