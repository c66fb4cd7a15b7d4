"""Suite wall time: `make contract` and `make e2e` with one xdist worker vs. `-n auto`.

Each run is the whole make target -- stack start, tests, tear-down -- exactly as a
developer runs it, so the figures include the stack's start. Slow (minutes per run):
`bench/run_all.py` runs it only with `--suites`. A failing suite is reported, not hidden:
its time is printed with the exit status.

    .venv/bin/python bench/suite_time.py [--mode local] [--suites contract,e2e]
"""

from __future__ import annotations

import argparse
import os
import subprocess
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


def run(target: str, workers: str, mode: str) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(
        ["make", "--no-print-directory", target, f"WORKERS={workers}", f"MODE={mode}"],
        cwd=ROOT,
        env={**browser_env(), "PYTEST_ADDOPTS": "-p no:cacheprovider"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mode", default="local", choices=("local", "containers", "auto"))
    parser.add_argument("--suites", default="contract,e2e")
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    for target in [s.strip() for s in args.suites.split(",") if s.strip()]:
        seconds: dict[str, float] = {}
        for workers in WORKERS:
            elapsed, status = run(target, workers, args.mode)
            seconds[workers] = elapsed
            shown = f"-n {workers}" + (f" ({cpus} cpus)" if workers == "auto" else "")
            verdict = "" if status == 0 else f"  (exit {status}: suite failed)"
            label = f"make {target} {args.mode}, {shown}"
            print(f"{label:<44} {elapsed:8.1f} s{verdict}", flush=True)
        ratio = seconds["1"] / seconds["auto"]
        print(f"{f'speed-up {target}, -n auto vs -n 1':<44} {ratio:8.2f}", flush=True)


if __name__ == "__main__":
    main()
