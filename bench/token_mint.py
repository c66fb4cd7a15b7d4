"""Token minting: tokens/s of the harness issuer, and the process time of `harness mint-token`.

Three figures side by side: minting in-process (`harness.issuer.Issuer.mint`), over the
issuer's HTTP admin API (`IssuerClient.mint`, what tests and the CLI use against a running
stack), and one `harness mint-token` process per token -- against a running issuer and with
local keys -- next to a bare interpreter start, so the CLI's own cost is visible. The CLI
runs with a private HARNESS_HOME, so no saved stack or key file of the user is touched.

    .venv/bin/python bench/token_mint.py [--tokens 500] [--processes 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.issuer import Issuer, IssuerClient, IssuerServer

HARNESS = Path(sys.executable).parent / "harness"


def rate(mint: Callable[[int], str], count: int) -> float:
    mint(-1)  # warm-up: first key use, connection set-up
    started = time.perf_counter()
    for n in range(count):
        mint(n)
    return count / (time.perf_counter() - started)


def process_seconds(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    """Median wall time of one process, after one unmeasured run (disk caches)."""
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        if run:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--processes", type=int, default=5, help="runs per process figure")
    args = parser.parse_args()

    issuer = Issuer()
    in_process = rate(lambda n: issuer.mint(f"user-{n}"), args.tokens)
    with IssuerServer(issuer) as server, IssuerClient(server.url) as client:
        over_http = rate(lambda n: client.mint(f"user-{n}"), args.tokens)
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "HARNESS_HOME": home}
            bare = process_seconds([sys.executable, "-c", "pass"], args.processes, env)
            cli = [str(HARNESS), "mint-token", "--sub", "user-1"]
            remote = process_seconds([*cli, "--issuer-url", server.url], args.processes, env)
            local = process_seconds(cli, args.processes, env)

    print(f"{'mint in-process':<44} {in_process:8.0f} tokens/s")
    print(f"{'mint over the issuer HTTP API':<44} {over_http:8.0f} tokens/s")
    print(f"{'ratio HTTP API / in-process':<44} {over_http / in_process:8.2f}")
    print(f"{'python -c pass (interpreter start)':<44} {bare * 1000:8.0f} ms")
    print(f"{'harness mint-token, running issuer':<44} {remote * 1000:8.0f} ms")
    print(f"{'harness mint-token, local keys':<44} {local * 1000:8.0f} ms")
    print(f"{'ratio mint-token / interpreter start':<44} {remote / bare:8.1f}")


if __name__ == "__main__":
    main()
