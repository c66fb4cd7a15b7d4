"""Suite wall time: `make contract` and `make e2e` with one xdist worker vs. `-n auto`,
and split into shards (`SHARD=i/n`) as a CI matrix runs them.

Each run is the whole make target -- stack start, tests, tear-down -- exactly as a
developer runs it, so the figures include the stack's start. Slow (minutes per run):
`bench/run_all.py` runs it only with `--suites`. A failing suite is reported, not hidden:
its time is printed with the exit status.

With `--shards 2,4` each shard of n runs here one after the other (`-n auto` each, like the
unsharded run next to it); the figure is the longest shard over the unsharded run: the
wall time a matrix of n machines would see, start-up included.

    .venv/bin/python bench/suite_time.py [--mode local] [--suites contract,e2e]
        [--workers 1,auto] [--shards 2,4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = ("1", "auto")
DEBIAN_CHROMIUM = "/usr/bin/chromium"


def browser_env() -> dict[str, str]:
    """As `.ci/run` does: Debian's Chromium when present and no browser is chosen."""
    env = dict(os.environ)
    if "HARNESS_CHROMIUM" not in env and Path(DEBIAN_CHROMIUM).exists():
        env["HARNESS_CHROMIUM"] = DEBIAN_CHROMIUM
    return env


def run(target: str, workers: str, mode: str, shard: str = "") -> tuple[float, int]:
    shard_args = [f"SHARD={shard}"] if shard else []
    # Reports of benchmark runs are not the developer's test results.
    results = f"RESULTS={tempfile.gettempdir()}/bench-suite-time"
    started = time.perf_counter()
    done = subprocess.run(
        [
            *("make", "--no-print-directory", target),
            *(f"WORKERS={workers}", f"MODE={mode}", results, *shard_args),
        ],
        cwd=ROOT,
        env={**browser_env(), "PYTEST_ADDOPTS": "-p no:cacheprovider"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - started, done.returncode


def report(label: str, elapsed: float, status: int) -> None:
    verdict = "" if status == 0 else f"  (exit {status}: suite failed)"
    print(f"{label:<44} {elapsed:8.1f} s{verdict}", flush=True)


def shard_figures(target: str, mode: str, baseline: float, counts: list[int]) -> None:
    """Each shard of n, one after the other; the longest over the unsharded run."""
    for total in counts:
        longest = 0.0
        for index in range(1, total + 1):
            elapsed, status = run(target, "auto", mode, f"{index}/{total}")
            longest = max(longest, elapsed)
            report(f"make {target} {mode} SHARD={index}/{total}", elapsed, status)
        label = f"longest of {total} {target} shards / unsharded"
        print(f"{label:<44} {longest / baseline:8.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mode", default="local", choices=("local", "containers", "auto"))
    parser.add_argument("--suites", default="contract,e2e")
    parser.add_argument("--workers", default=",".join(WORKERS), help="xdist settings to time")
    parser.add_argument("--shards", default="", help="shard counts to time, e.g. 2,4")
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    workers_list = [w.strip() for w in args.workers.split(",") if w.strip()]
    shard_counts = [int(n) for n in args.shards.split(",") if n.strip()]
    if shard_counts and "auto" not in workers_list:
        workers_list.append("auto")  # the unsharded run the shards are compared with
    for target in [s.strip() for s in args.suites.split(",") if s.strip()]:
        seconds: dict[str, float] = {}
        for workers in workers_list:
            elapsed, status = run(target, workers, args.mode)
            seconds[workers] = elapsed
            shown = f"-n {workers}" + (f" ({cpus} cpus)" if workers == "auto" else "")
            report(f"make {target} {args.mode}, {shown}", elapsed, status)
        if "1" in seconds and "auto" in seconds:
            ratio = seconds["1"] / seconds["auto"]
            print(f"{f'speed-up {target}, -n auto vs -n 1':<44} {ratio:8.2f}", flush=True)
        if shard_counts:
            shard_figures(target, args.mode, seconds["auto"], shard_counts)


if __name__ == "__main__":
    main()
