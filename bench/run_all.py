"""`make bench`: run every benchmark once and write bench/RESULTS.md.

Each benchmark is its own process and prints one figure per line (label, value); those
lines go into RESULTS.md unchanged, under the machine's description and the date. Ratios
always compare variants measured side by side in the same process, so a busy machine
shifts both sides alike. Nothing here passes or fails on a figure; a benchmark that
crashes is recorded as such and makes the exit status 1.

    .venv/bin/python -m bench.run_all [--quick] [--suites] [--providers local,containers]

`--suites` adds `make contract` / `make e2e` wall times with 1 worker vs `-n auto`, and
the e2e suite split into 2 and 4 shards (several minutes each); `--quick` shortens every
benchmark for a smoke run.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from harness.config import Mode
from harness.registry import provider

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
PY = sys.executable
# No benchmark may run away with the run: the whole of `make bench` stays well under 15 min.
STEP_TIMEOUT = 600
# What the same load command measured before, shown next to every new run's figures.
EARLIER_LOAD = {
    "local": [
        "2026-11-25, sync request path: 210.3 req/s, p50 169.6 ms, p99 1001.0 ms, "
        "backend RSS 117.4 MiB",
        "2026-12-02, async path on SQLAlchemy's engine: 312.7 req/s, p50 110.5 ms, "
        "p99 738.7 ms, backend RSS 113.3 MiB",
    ],
    "containers": [
        "2026-11-25, sync request path: 175.0 req/s, p50 210.5 ms, p99 1174.6 ms, "
        "backend RSS 112.1 MiB",
        "2026-12-02, async path on SQLAlchemy's engine: 212.9 req/s, p50 152.3 ms, "
        "p99 1097.9 ms, backend RSS 111.0 MiB",
    ],
    "compose": [
        "2026-12-02, async path on SQLAlchemy's engine: 113.3 req/s, p50 303.3 ms, "
        "p99 1903.5 ms, backend RSS 111.2 MiB",
    ],
}


@dataclass
class Bench:
    title: str
    script: str
    args: list[str]
    about: str
    lines: list[str] = field(default_factory=list)
    seconds: float = 0.0
    status: int | None = None
    error: str = ""
    timeout: int = STEP_TIMEOUT

    @property
    def command(self) -> str:
        return " ".join([".venv/bin/python", "-m", self.module, *self.args])

    @property
    def module(self) -> str:
        return f"bench.{self.script.removesuffix('.py')}"


def plan(quick: bool, suites: bool, providers: list[str]) -> list[Bench]:
    seconds = "8" if quick else "20"
    benches = [
        Bench(
            "Auth overhead",
            "auth_overhead.py",
            ["--rounds", "3", "--requests", "100"] if quick else [],
            "Throughput of `GET /api/{uid}/tasks` with token verification vs. the same handler "
            "with the auth dependency overridden (in-process, one SQLite file), and of a "
            "DPoP-bound token with a fresh proof per request vs. the same as Bearer. "
            "Targets: ratio >= 0.90, DPoP/Bearer >= 0.85, one JWKS fetch.",
        ),
        Bench(
            "JWKS strategy",
            "jwks_strategy.py",
            ["--rounds", "2", "--requests", "50"] if quick else [],
            "The backend's key cache vs. the common mistake, a verifier that downloads the JWKS "
            "on every request (`PyJWKClient(cache_keys=False)` per request), same app and "
            "route, JWKS over loopback HTTP (the best case for the fetching verifier: a remote "
            "JWKS costs more). Also: requests still served while the JWKS endpoint fails.",
        ),
        Bench(
            "Token minting",
            "token_mint.py",
            ["--tokens", "200", "--processes", "3"] if quick else [],
            "Tokens/s of the harness issuer in-process and over its HTTP admin API; wall time "
            "of one `harness mint-token` process next to a bare interpreter start.",
        ),
        Bench(
            "Throughput and growth",
            "throughput.py",
            ["--rounds", "1", "--seconds", "2", "--fill-rows", "100000"] if quick else [],
            "The backend (`python -m todo_api.serve`, one worker) next to a reference app in the "
            "common FastAPI + SQLModel style (sync handlers, count + select per page, key lookup "
            "and RSA verification per request) and a bare FastAPI app, one throw-away "
            "PostgreSQL, wrk with 16 connections, rounds in rotating order. Then the list page "
            "of users with 20 / 1,000 / 10,000 rows, and writes once the table holds 1M rows. "
            "Targets: list >= 3x the reference, `/healthz` >= 0.9x the bare app, list p99 <= "
            "25 ms, 10,000-row page <= 1.5x the 20-row page.",
        ),
        Bench(
            "Stack start",
            "stack_start.py",
            ["--providers", ",".join(providers), "--runs", "1" if quick else "3"],
            "Time until every service of a stack answers its health check, warm (frontend "
            "build and images already exist), median of the runs; and the tear-down. "
            "Targets: local <= 5 s, containers <= 15 s.",
        ),
        Bench(
            "Dev loop",
            "dev_loop.py",
            ["--providers", ",".join(providers), "--runs", "1" if quick else "3"],
            "Seconds from saving a file to the change being served: a hot-reload stack "
            "(`make dev`) serving an edited page, a new page and an edited backend route, "
            "next to the rebuild path of a production stack (`make up` after the edit: "
            "frontend build or images rebuilt). Target: <= 3 s per hot-reload edit.",
        ),
    ]
    for name in providers:
        earlier = "; ".join(EARLIER_LOAD.get(name, []))
        benches.append(
            Bench(
                f"Load and memory ({name})",
                "load.py",
                ["--mode", name, "--users", "50", "--seconds", seconds],
                f"50 users, each with its own token, mixed CRUD for {seconds} s against a "
                f"fresh {name} stack, one request at a time per user (closed loop, no "
                "think time); the database is then compared with the client's ledger of "
                "acknowledged writes. Then the resident memory of the backend and frontend "
                "processes."
                + (f" Earlier runs of the same command: {earlier}." if earlier else ""),
            )
        )
    if suites:
        benches.append(
            Bench(
                "Suite wall time",
                "suite_time.py",
                ["--mode", "local"],
                "`make contract` and `make e2e` end to end (stack start included) with one "
                "xdist worker vs. `-n auto`, local provider.",
            )
        )
        benches.append(
            Bench(
                "Shard wall time",
                "suite_time.py",
                ["--mode", "local", "--suites", "e2e", "--workers", "auto", "--shards", "2,4"],
                "`make e2e SHARD=i/n` for n = 2 and 4, each shard run here one after the other "
                "(stack start included), next to the unsharded run: the longest shard over the "
                "unsharded run is the wall time a CI matrix of n machines would see. "
                "Target: longest of 4 shards <= 0.35.",
                # Seven whole e2e runs.
                timeout=3 * STEP_TIMEOUT,
            )
        )
    return benches


def run(bench: Bench) -> None:
    print(f"\n=== {bench.title}: {bench.command}", flush=True)
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            [PY, "-m", bench.module, *bench.args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.strip():
                bench.lines.append(line.rstrip())
        bench.status = process.wait(timeout=bench.timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        bench.status, bench.error = -1, f"killed after {bench.timeout} s"
    bench.seconds = time.monotonic() - started
    if bench.status and not bench.error:
        bench.error = f"exit status {bench.status}"


def _command(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "n/a"
    return done.stdout.strip() if done.returncode == 0 else "n/a"


def _proc_value(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "n/a"


def machine() -> list[tuple[str, str]]:
    os_name = "n/a"
    release = Path("/etc/os-release")
    if release.exists():
        match = re.search(r'^PRETTY_NAME="?([^"\n]*)', release.read_text(), re.M)
        os_name = match.group(1) if match else os_name
    kib = _proc_value("/proc/meminfo", "MemTotal").split()[0]
    memory = f"{int(kib) / 2**20:.1f} GiB" if kib.isdigit() else "n/a"
    commit = _command(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = _command(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        ("OS", f"{os_name}, Linux {platform.release()} {platform.machine()}"),
        ("CPU", f"{_proc_value('/proc/cpuinfo', 'model name')}, {os.cpu_count()} cores"),
        ("Memory", memory),
        ("Python", platform.python_version()),
        ("Node.js", _command(["node", "--version"])),
        ("Docker server", _command(["docker", "version", "--format", "{{.Server.Version}}"])),
        ("Commit", commit + (" (with uncommitted changes)" if dirty not in ("", "n/a") else "")),
        ("Load average at start (1/5/15 min)", f"{load} -- the machine is shared"),
    ]


def render(benches: list[Bench], started: datetime, total: float, options: str) -> str:
    out = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`bench/run_all.py{options}`) on "
        f"{started:%Y-%m-%d %H:%M} UTC in {total / 60:.1f} min. One run; every ratio compares "
        "variants measured side by side in the same process. Figures are informative: "
        "nothing is gated on them. How to read and rerun them: `docs/bench.md`.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *[f"| {name} | {value} |" for name, value in machine()],
    ]
    for bench in benches:
        outcome = f"{bench.seconds:.0f} s" + (f", FAILED: {bench.error}" if bench.error else "")
        out += [
            "",
            f"## {bench.title}",
            "",
            bench.about,
            "",
            f"`{bench.command}` ({outcome})",
            "",
            "```text",
            *(bench.lines or ["(no output)"]),
            "```",
        ]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke test)")
    parser.add_argument("--suites", action="store_true", help="also time make contract/e2e")
    parser.add_argument(
        "--providers", default=None, help="default: every provider this machine can run"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.providers:
        providers = [p.strip() for p in args.providers.split(",") if p.strip()]
    else:
        providers = [m.value for m in Mode if provider(m).unavailable() is None]
    options = "".join(
        [" --quick" if args.quick else "", " --suites" if args.suites else ""]
        + ([f" --providers {','.join(providers)}"] if args.providers else [])
    )
    started, clock = datetime.now(UTC), time.monotonic()
    benches = plan(args.quick, args.suites, providers)
    for bench in benches:
        run(bench)
    args.output.write_text(render(benches, started, time.monotonic() - clock, options))
    print(f"\nbench: wrote {args.output}")
    failed = [b.title for b in benches if b.error]
    if failed:
        print(f"bench: failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
