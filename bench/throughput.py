"""Backend throughput next to the common FastAPI + SQLModel style, and the cost of growth.

One throw-away PostgreSQL cluster (`harness.postgres.TempPostgres`), one database, and three
servers on free loopback ports, one uvicorn worker each: the backend (`python -m
todo_api.serve`, `WEB_CONCURRENCY=1`), the reference app in the common style
(`bench/reference_app.py`: sync SQLModel, count + select per page, per-request key lookup)
and a bare FastAPI app with one health route (`bench/bare_app.py`). wrk (a closed-loop C
client) drives each route with 16 connections; the variants of a route are measured in
rounds, in rotating order, so a busy machine shifts both sides alike. Ratios are medians of
the per-round ratios.

Figures: list (a user's 20 rows), create, toggle and `/healthz` -- req/s, p50, p99 and the
ratio backend / reference (or / bare). Growth: the list page of users with 20, 1,000 and
10,000 rows; then create and toggle again once the table holds 1,000,000 rows across users.
Targets (not gated): list >= 3x the reference, `/healthz` >= 0.9x the bare app, list p99
<= 25 ms, 10,000-row page <= 1.5x the 20-row page, writes at 1M rows >= 0.9x.

    .venv/bin/python bench/throughput.py [--rounds 3] [--seconds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from harness.issuer import Issuer, IssuerServer
from harness.postgres import TempPostgres
from harness.waiting import http_ok, wait_for

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ORIGIN = "http://localhost:3000"
BACKEND = "backend"
REFERENCE = "reference"
BARE = "bare"
BARE_QUIET = "bare, no access log"
BACKEND_QUIET = "backend, LOG_LEVEL=WARNING"
GROWTH_SIZES = (20, 1_000, 10_000)
LIST_ROWS = 20
TOGGLE_ROWS = 500
FILLED_ROWS = 1_000_000
FILLER_USERS = 1_000

# wrk's summary as one parseable line (latencies in microseconds).
LUA_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def figure(name: str, value: str) -> str:
    """One figure per line, label first: what `bench/run_all.py` and other tools read."""
    return f"{name:<44} {value}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Run:
    """One wrk run: successful throughput and latency percentiles."""

    rps: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Route:
    """A request shape, as a wrk Lua script."""

    name: str
    script: str


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lua_headers(token: str | None, json_body: bool = False) -> str:
    lines = []
    if token is not None:
        lines.append(f'wrk.headers["Authorization"] = {lua_string("Bearer " + token)}')
    if json_body:
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    return "\n".join(lines)


def get_route(name: str, path: str, token: str | None) -> Route:
    return Route(name, f"wrk.path = {lua_string(path)}\n{lua_headers(token)}\n")


def create_route(user: str, token: str) -> Route:
    body = lua_string('{"title": "bench task", "description": "written by wrk"}')
    script = (
        f'wrk.method = "POST"\nwrk.path = {lua_string(f"/api/{user}/tasks")}\n'
        f"wrk.body = {body}\n{lua_headers(token, json_body=True)}\n"
    )
    return Route("create", script)


def toggle_route(user: str, token: str, task_ids: Sequence[str]) -> Route:
    # Round robin over many rows: 16 connections never queue on one row's lock.
    ids = ", ".join(lua_string(task_id) for task_id in task_ids)
    script = (
        f"{lua_headers(token)}\nlocal ids = {{{ids}}}\nlocal next_id = 0\n"
        "request = function()\n  next_id = next_id % #ids + 1\n"
        f'  return wrk.format("PATCH", {lua_string(f"/api/{user}/tasks/")} .. ids[next_id]'
        ' .. "/complete")\nend\n'
    )
    return Route("toggle", script)


def wrk(base_url: str, route: Route, connections: int, seconds: int, workdir: Path) -> Run:
    script = workdir / f"{route.name}.lua"
    script.write_text(route.script + LUA_REPORT)
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base_url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    result = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    requests, duration_us, p50_us, p99_us, errors = (int(part) for part in result.split()[1:])
    if errors:
        raise RuntimeError(f"{route.name} at {base_url}: {errors} failed of {requests} requests")
    return Run(requests / (duration_us / 1e6), p50_us / 1000, p99_us / 1000)


@contextmanager
def server(name: str, command: list[str], env: dict[str, str], logs: Path) -> Iterator[str]:
    """Start a server process on a free port; yield its base URL once /healthz answers."""
    port = free_port()
    log = (logs / f"{name}.log").open("w")
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: http_ok(f"{base}/healthz", timeout=1),
            what=f"{name} (see {logs / f'{name}.log'})",
            timeout=60,
            interval=0.05,
            gone=lambda: None if process.poll() is None else "exited during start-up",
        )
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


SEED = """
INSERT INTO task (id, user_id, title, description, completed, created_at, updated_at)
SELECT gen_random_uuid(), %(user)s, 'seeded task ' || i, '', i %% 3 = 0,
       now() - i * interval '1 second', now() - i * interval '1 second'
FROM generate_series(1, %(rows)s) AS i
"""
FILL = """
INSERT INTO task (id, user_id, title, description, completed, created_at, updated_at)
SELECT gen_random_uuid(), 'filler-' || (i %% %(users)s), 'filler task ' || i, '', i %% 2 = 0,
       now() - i * interval '1 millisecond', now() - i * interval '1 millisecond'
FROM generate_series(1, %(rows)s) AS i
"""


def plain(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def seed(database_url: str, user: str, rows: int) -> list[str]:
    """Give `user` `rows` tasks (the triggers keep its count); return their ids."""
    with psycopg.connect(plain(database_url), autocommit=True) as conn:
        conn.execute(SEED, {"user": user, "rows": rows})
        conn.execute("VACUUM ANALYZE task")
        found = conn.execute("SELECT id FROM task WHERE user_id = %s", (user,)).fetchall()
    return [str(row[0]) for row in found]


def fill(database_url: str, rows: int) -> int:
    """Grow the table to `rows` rows across many users; return the row count."""
    with psycopg.connect(plain(database_url), autocommit=True) as conn:
        counted = conn.execute("SELECT count(*) FROM task").fetchone()
        missing = rows - (int(counted[0]) if counted else 0)
        if missing > 0:
            conn.execute(FILL, {"users": FILLER_USERS, "rows": missing})
        conn.execute("VACUUM ANALYZE task")
        total = conn.execute("SELECT count(*) FROM task").fetchone()
    return int(total[0]) if total else 0


class Rounds:
    """wrk runs of each (route, variant); each round rotates the order of the variants."""

    def __init__(self, connections: int, seconds: int, workdir: Path) -> None:
        self.connections = connections
        self.seconds = seconds
        self.workdir = workdir
        self.runs: dict[tuple[str, str], list[Run]] = {}

    def warm(self, targets: dict[str, tuple[str, Route]]) -> None:
        """Pools, prepared statements, the verified-token cache: not part of any figure."""
        for base, route in targets.values():
            wrk(base, route, self.connections, 1, self.workdir)

    def measure(self, name: str, targets: dict[str, tuple[str, Route]], rounds: int) -> None:
        self.warm(targets)
        variants = list(targets)
        for index in range(rounds):
            shift = index % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                base, route = targets[variant]
                run = wrk(base, route, self.connections, self.seconds, self.workdir)
                self.runs.setdefault((name, variant), []).append(run)

    def median(self, name: str, variant: str, field: str) -> float:
        return statistics.median(float(getattr(run, field)) for run in self.runs[(name, variant)])

    def ratio(self, a: tuple[str, str], b: tuple[str, str], field: str) -> float:
        """Median of the per-round ratios a / b (each pair measured back to back)."""
        pairs = zip(self.runs[a], self.runs[b], strict=True)
        return statistics.median(float(getattr(x, field) / getattr(y, field)) for x, y in pairs)

    def lines(self, name: str, variant: str, label: str) -> list[str]:
        return [
            figure(f"{label} throughput", f"{self.median(name, variant, 'rps'):.0f} req/s"),
            figure(f"{label} p50", f"{self.median(name, variant, 'p50_ms'):.2f} ms"),
            figure(f"{label} p99", f"{self.median(name, variant, 'p99_ms'):.2f} ms"),
        ]


@dataclass(frozen=True)
class Servers:
    backend: str
    backend_quiet: str
    reference: str
    bare: str
    bare_quiet: str


@contextmanager
def servers(env: dict[str, str], logs: Path) -> Iterator[Servers]:
    uvicorn = [PY, "-m", "uvicorn"]
    with (
        server(BACKEND, [PY, "-m", "todo_api.serve"], env, logs) as backend,
        # The same without access lines: what the log costs, next to the bare app's.
        server(
            "backend-quiet", [PY, "-m", "todo_api.serve"], {**env, "LOG_LEVEL": "WARNING"}, logs
        ) as backend_quiet,
        # As such apps are usually run: uvicorn's defaults, its access log included.
        server(REFERENCE, [*uvicorn, "bench.reference_app:app"], env, logs) as reference,
        server(BARE, [*uvicorn, "bench.bare_app:app"], env, logs) as bare,
        server(
            "bare-quiet", [*uvicorn, "--no-access-log", "bench.bare_app:app"], env, logs
        ) as quiet,
    ):
        yield Servers(backend, backend_quiet, reference, bare, quiet)


def compare(rounds: Rounds, urls: Servers, routes: dict[str, Route], count: int) -> list[str]:
    """list, create, toggle: backend vs reference; /healthz: backend vs the bare app."""
    lines: list[str] = []
    for name, route in routes.items():
        targets = {BACKEND: (urls.backend, route), REFERENCE: (urls.reference, route)}
        rounds.measure(name, targets, count)
        label = f"list {LIST_ROWS} rows" if name == "list" else name
        lines += rounds.lines(name, BACKEND, f"{label}, backend")
        lines += rounds.lines(name, REFERENCE, f"{label}, reference")
        ratio = rounds.ratio((name, BACKEND), (name, REFERENCE), "rps")
        target = " (target >= 3)" if name == "list" else ""
        lines.append(figure(f"ratio {name} backend / reference", f"{ratio:.2f}{target}"))
    p99 = rounds.median("list", BACKEND, "p99_ms")
    lines.append(
        figure(f"list p99, {rounds.connections} connections", f"{p99:.2f} ms (target <= 25)")
    )
    health = get_route("healthz", "/healthz", None)
    targets = {
        BACKEND: (urls.backend, health),
        BARE: (urls.bare, health),
        BACKEND_QUIET: (urls.backend_quiet, health),
        BARE_QUIET: (urls.bare_quiet, health),
    }
    rounds.measure("healthz", targets, count)
    lines += rounds.lines("healthz", BACKEND, "healthz, backend")
    lines += rounds.lines("healthz", BARE, "healthz, bare FastAPI")
    lines += rounds.lines("healthz", BACKEND_QUIET, "healthz, backend, no access log")
    lines += rounds.lines("healthz", BARE_QUIET, "healthz, bare, no access log")
    # Each with its access log (uvicorn's for the bare app), then both without.
    pairs = ((BACKEND, BARE, " (target >= 0.9)"), (BACKEND_QUIET, BARE_QUIET, ""))
    for ours, theirs, target in pairs:
        ratio = rounds.ratio(("healthz", ours), ("healthz", theirs), "rps")
        lines.append(figure(f"ratio healthz {ours} / {theirs}", f"{ratio:.2f}{target}"))
    return lines


def growth(
    rounds: Rounds, backend: str, users: dict[int, tuple[str, str]], count: int
) -> list[str]:
    """The list page of users with 20, 1,000 and 10,000 rows (latency at the same load)."""
    targets = {
        # The same page (20 rows) for every user: only the table behind it grows.
        f"{size} rows": (
            backend,
            get_route(f"grow-{size}", f"/api/{user}/tasks?limit={LIST_ROWS}", token),
        )
        for size, (user, token) in users.items()
    }
    rounds.measure("growth", targets, count)
    lines = []
    for size in users:
        for field, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
            value = rounds.median("growth", f"{size} rows", field)
            lines.append(figure(f"list page, user with {size:,} rows, {label}", f"{value:.2f} ms"))
    largest, smallest = max(users), min(users)
    ratio = rounds.ratio(("growth", f"{largest} rows"), ("growth", f"{smallest} rows"), "p50_ms")
    lines.append(figure(f"ratio p50 {largest:,} / {smallest} rows", f"{ratio:.2f} (target <= 1.5)"))
    return lines


def writes_at_size(
    rounds: Rounds, backend: str, routes: dict[str, Route], database_url: str, rows: int, count: int
) -> list[str]:
    """create and toggle again once the table holds `rows` rows across users."""
    started = time.monotonic()
    total = fill(database_url, rows)
    lines = [figure("table rows", f"{total:,} (filled in {time.monotonic() - started:.0f} s)")]
    for name in ("create", "toggle"):
        rounds.measure(f"{name}-filled", {BACKEND: (backend, routes[name])}, count)
        lines += rounds.lines(f"{name}-filled", BACKEND, f"{name} at {total:,} rows, backend")
        ratio = rounds.ratio((f"{name}-filled", BACKEND), (name, BACKEND), "rps")
        lines.append(figure(f"ratio {name} at {total:,} rows / at start", f"{ratio:.2f}"))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="runs per route and variant")
    parser.add_argument("--seconds", type=int, default=3, help="length of one wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--fill-rows", type=int, default=FILLED_ROWS, help="table size, last step")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    issuer = Issuer(ORIGIN)
    tag = uuid.uuid4().hex[:8]
    users = {name: f"bench-{name}-{tag}" for name in ("list", "create", "toggle")}
    tokens = {name: issuer.mint(user, ttl=3600) for name, user in users.items()}
    grow_users = {size: f"bench-grow-{size}-{tag}" for size in GROWTH_SIZES}
    with (
        tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp,
        TempPostgres() as cluster,
        IssuerServer(issuer) as jwks,
    ):
        workdir = Path(tmp)
        database_url = cluster.create_database("bench")
        env = {
            "DATABASE_URL": database_url,
            "JWKS_URL": jwks.jwks_url,
            "JWT_ISSUER": ORIGIN,
            "JWT_AUDIENCE": ORIGIN,
            "LOG_LEVEL": "INFO",
            "WEB_CONCURRENCY": "1",  # one process each: like compared with like
        }
        with servers(env, workdir) as urls:  # the backend migrates before it answers
            seed(database_url, users["list"], LIST_ROWS)
            toggle_ids = seed(database_url, users["toggle"], TOGGLE_ROWS)
            for size, user in grow_users.items():
                seed(database_url, user, size)
            routes = {
                "list": get_route("list", f"/api/{users['list']}/tasks", tokens["list"]),
                "create": create_route(users["create"], tokens["create"]),
                "toggle": toggle_route(users["toggle"], tokens["toggle"], toggle_ids),
            }
            rounds = Rounds(args.connections, args.seconds, workdir)
            lines = compare(rounds, urls, routes, args.rounds)
            grown = {size: (user, issuer.mint(user, ttl=3600)) for size, user in grow_users.items()}
            lines += growth(rounds, urls.backend, grown, args.rounds)
            lines += writes_at_size(
                rounds, urls.backend, routes, database_url, args.fill_rows, args.rounds
            )
    for line in lines:
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
