"""The stack as plain processes on 127.0.0.1: a throw-away PostgreSQL cluster, the mock
issuer, uvicorn and Next.js's standalone server. The fast inner loop; no Docker needed.

Every process runs in its own session so it (and its children) can be stopped as a group;
what is needed to stop or restart it is kept in ``Stack.resources`` so another process
(``harness down``) can do it too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.ports import free_port, http_ok, port_busy
from harness.postgres import TempPostgres
from harness.stack import ProviderError, Stack, StackConfig, state_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
FRONTEND_DIR = REPO_ROOT / "frontend"
DATABASE = "tasks"


def standalone_server() -> Path:
    return FRONTEND_DIR / ".next" / "standalone" / "server.js"


# Not build inputs: dependencies, outputs, tests and files tools rewrite as they run.
_NOT_BUILD_INPUTS = ("node_modules", ".next", "tests", "coverage", "test-results")
_NOT_BUILD_SUFFIXES = (".tsbuildinfo", ".db")


def _newest_source_mtime() -> float:
    newest = 0.0
    for path in FRONTEND_DIR.rglob("*"):
        parts = path.relative_to(FRONTEND_DIR).parts
        if parts and parts[0] in _NOT_BUILD_INPUTS:
            continue
        if path.name == "next-env.d.ts" or path.name.endswith(_NOT_BUILD_SUFFIXES):
            continue
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
    return newest


def ensure_frontend_build(progress: Callable[[str], None]) -> Path:
    """Build the frontend (``npm run build``) when its standalone output is missing or stale."""
    server = standalone_server()
    if server.exists() and server.stat().st_mtime >= _newest_source_mtime():
        return server
    if not (FRONTEND_DIR / "node_modules").exists():
        raise ProviderError("frontend dependencies are missing: run `make install`")
    progress("frontend: building (npm run build, about a minute)")
    log = state_dir() / "logs" / "frontend-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        done = subprocess.run(
            ["npm", "run", "build"],
            cwd=FRONTEND_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NEXT_TELEMETRY_DISABLED": "1"},
            check=False,
        )
    if done.returncode != 0 or not server.exists():
        raise ProviderError(f"frontend build failed; last lines of {log}:\n" + _tail(log))
    return server


def _pick(port: int) -> int:
    if port and port_busy(port):
        raise ProviderError(f"port {port} is busy on 127.0.0.1: stop what uses it or pick another")
    return port or free_port()


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _launch(spec: dict[str, Any]) -> int:
    log = Path(spec["log"])
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **spec["env"]}
    with log.open("ab") as out:
        process = subprocess.Popen(
            spec["cmd"],
            cwd=spec.get("cwd"),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process.pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0): reap it if it has exited.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def _terminate(pid: int, timeout: float = 10.0) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)


def _wait_healthy(name: str, spec: dict[str, Any], pid: int, timeout: float) -> None:
    def ready() -> bool:
        if not _alive(pid):
            raise ProviderError(
                f"{name} exited during start-up; last lines of {spec['log']}:\n"
                + _tail(Path(spec["log"]))
            )
        return http_ok(spec["health"], timeout=1.0)

    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise ProviderError(
                f"{name} not healthy after {timeout:.0f}s ({spec['health']}); "
                f"last lines of {spec['log']}:\n" + _tail(Path(spec["log"]))
            )
        time.sleep(0.1)


def _issuer_spec(
    stack: Stack, port: int, run_dir: Path, logs: Path, upstream: str
) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}"
    return {
        "cmd": [
            sys.executable,
            "-m",
            "harness.issuer_server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--issuer",
            stack.jwt_issuer,
            "--audience",
            stack.jwt_audience,
            "--key-file",
            str(run_dir / f"issuer-keys-{port}.json"),
            "--upstream-jwks",
            upstream,
        ],
        "env": {},
        "health": f"{url}/healthz",
        "log": str(logs / f"issuer-{port}.log"),
    }


def _backend_spec(
    stack: Stack, port: int, run_dir: Path, logs: Path, config: StackConfig
) -> dict[str, Any]:
    return {
        "cmd": [
            sys.executable,
            "-m",
            "uvicorn",
            "todo_api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        "cwd": str(run_dir),
        "env": {
            "DATABASE_URL": stack.database_url,
            "JWKS_URL": stack.jwks_url,
            "JWT_ISSUER": stack.jwt_issuer,
            "JWT_AUDIENCE": stack.jwt_audience,
            "CORS_ORIGINS": stack.frontend_url,
            "JWKS_COOLDOWN_SECONDS": str(config.jwks_cooldown_seconds),
            "DPOP_MODE": config.dpop_mode,
            "LOG_LEVEL": "INFO",
        },
        "health": f"http://localhost:{port}/readyz",
        "log": str(logs / f"backend-{port}.log"),
    }


def up(config: StackConfig, progress: Callable[[str], None] = lambda _: None) -> Stack:
    """Start postgres, issuer, frontend and backend; return once all are healthy."""
    server = ensure_frontend_build(progress)
    node = shutil.which("node")
    if node is None:
        raise ProviderError("node is not installed: the frontend needs Node.js >= 20.9")

    run_id = f"{config.name}-{uuid.uuid4().hex[:8]}"
    run_dir = state_dir() / "runs" / run_id
    logs = state_dir() / "logs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)

    frontend_port = _pick(config.frontend_port)
    backend_port = _pick(config.backend_port)
    issuer_port = _pick(config.issuer_port)
    frontend_url = f"http://localhost:{frontend_port}"
    backend_url = f"http://localhost:{backend_port}"
    issuer_url = f"http://127.0.0.1:{issuer_port}"

    resources: dict[str, Any] = {"run_dir": str(run_dir), "logs": str(logs), "services": {}}
    stack = Stack(
        mode="local",
        frontend_url=frontend_url,
        backend_url=backend_url,
        database_url="",
        issuer_url=issuer_url,
        jwt_issuer=frontend_url,
        jwt_audience=frontend_url,
        trust=config.trust,
        jwks_url="",
        resources=resources,
    )
    try:
        progress("postgres: creating a throw-away cluster")
        pg = TempPostgres(port=_pick(config.postgres_port), root=run_dir).start()
        resources["postgres"] = {
            "datadir": str(pg.datadir),
            "port": pg.port,
            "log": str(pg.log_file),
        }
        stack.database_url = pg.create_database(DATABASE)
        node_db_url = pg.url_for(DATABASE, "postgres")

        better_auth_jwks = f"http://127.0.0.1:{frontend_port}/api/auth/jwks"
        stack.jwks_url = f"{issuer_url}/jwks" if config.trust == "both" else better_auth_jwks
        specs: dict[str, dict[str, Any]] = {
            "issuer": _issuer_spec(stack, issuer_port, run_dir, logs, better_auth_jwks),
            "frontend": {
                "cmd": [node, str(server)],
                "cwd": str(server.parent),
                "env": {
                    "PORT": str(frontend_port),
                    "HOSTNAME": "127.0.0.1",
                    "NODE_ENV": "production",
                    "NEXT_TELEMETRY_DISABLED": "1",
                    "DATABASE_URL": node_db_url,
                    "BETTER_AUTH_URL": frontend_url,
                    "BETTER_AUTH_SECRET": config.auth_secret,
                    "NEXT_PUBLIC_BETTER_AUTH_URL": f"{frontend_url}/api/auth",
                    "NEXT_PUBLIC_API_URL": backend_url,
                    "JWT_ISSUER": frontend_url,
                    "JWT_AUDIENCE": frontend_url,
                    "JWT_EXPIRATION": config.jwt_expiration,
                    "AUTH_RATE_LIMIT": "on" if config.auth_rate_limit else "off",
                    "DPOP_MODE": config.dpop_mode,
                },
                "health": f"{frontend_url}/api/health",
                "log": str(logs / "frontend.log"),
            },
            "backend": _backend_spec(stack, backend_port, run_dir, logs, config),
        }
        for name in ("issuer", "frontend", "backend"):
            progress(f"{name}: starting")
            spec = specs[name]
            resources["services"][name] = spec
            spec["pid"] = _launch(spec)
        for name in ("issuer", "frontend", "backend"):
            progress(f"{name}: waiting for {specs[name]['health']}")
            _wait_healthy(name, specs[name], specs[name]["pid"], timeout=60)
    except BaseException:
        LocalController(stack).down()
        raise
    return stack


def fork(stack: Stack, config: StackConfig) -> Stack:
    """A second issuer and backend on the same database and frontend.

    For tests that change keys or the JWKS's availability without disturbing tests that
    share the main stack. ``down()`` on the fork stops only what the fork started.
    """
    run_dir = Path(stack.resources["run_dir"])
    logs = Path(stack.resources["logs"])
    issuer_port, backend_port = free_port(), free_port()
    issuer_url = f"http://127.0.0.1:{issuer_port}"
    forked = stack.with_own_issuer(
        issuer_url=issuer_url,
        backend_url=f"http://localhost:{backend_port}",
        resources={"run_dir": str(run_dir), "logs": str(logs), "services": {}, "fork": True},
    )
    upstream = stack.frontend_url.replace("localhost", "127.0.0.1") + "/api/auth/jwks"
    specs = {
        "issuer": _issuer_spec(forked, issuer_port, run_dir, logs, upstream),
        "backend": _backend_spec(forked, backend_port, run_dir, logs, config),
    }
    try:
        for name, spec in specs.items():
            forked.resources["services"][name] = spec
            spec["pid"] = _launch(spec)
            _wait_healthy(name, spec, spec["pid"], timeout=60)
    except BaseException:
        LocalController(forked).down()
        raise
    return forked


class LocalController:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.resources = stack.resources

    def _postgres(self) -> TempPostgres | None:
        info = self.resources.get("postgres")
        if not info:
            return None
        return TempPostgres.attach(Path(info["datadir"]), int(info["port"]))

    def logs(self, service: str) -> str:
        if service == "postgres":
            info = self.resources.get("postgres") or {}
            path = Path(info.get("log", "/nonexistent"))
        else:
            spec = self.resources.get("services", {}).get(service)
            if spec is None:
                raise KeyError(f"unknown service {service!r}")
            path = Path(spec["log"])
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_service(self, service: str) -> None:
        if service == "postgres":
            pg = self._postgres()
            if pg is not None:
                pg.stop("fast")
            return
        spec = self.resources["services"][service]
        _terminate(int(spec["pid"]))

    def start_service(self, service: str) -> None:
        if service == "postgres":
            pg = self._postgres()
            if pg is not None:
                pg.start()
            return
        spec = self.resources["services"][service]
        if _alive(int(spec["pid"])):
            return
        spec["pid"] = _launch(spec)
        _wait_healthy(service, spec, spec["pid"], timeout=60)

    def fork(self, config: StackConfig) -> Stack:
        return fork(self.stack, config)

    def running(self) -> dict[str, bool]:
        state = {
            name: _alive(int(spec["pid"]))
            for name, spec in self.resources.get("services", {}).items()
            if "pid" in spec
        }
        pg = self._postgres()
        state["postgres"] = bool(pg and pg.running())
        return state

    def down(self) -> None:
        for name in ("backend", "frontend", "issuer"):
            spec = self.resources.get("services", {}).get(name)
            if spec and "pid" in spec:
                _terminate(int(spec["pid"]))
        if self.resources.get("fork"):
            return
        pg = self._postgres()
        if pg is not None:
            pg.remove()
        run_dir = self.resources.get("run_dir")
        if run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
