"""The stack as plain processes on 127.0.0.1: a throw-away PostgreSQL cluster, the mock
issuer, uvicorn and Next.js. The fast inner loop; no Docker needed.

Production mode runs the frontend's standalone build (rebuilt first when older than its
sources); hot reload runs ``next dev`` and ``uvicorn --reload`` on the sources under
``StackConfig.source_root``. Every process runs in its own session and is stopped as a
group; its pid and log are in the stack's ``ServiceFacts``, so another process
(``harness down``) can stop it too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import uuid
from dataclasses import replace
from pathlib import Path

from harness import processes
from harness.config import Mode, StackConfig, Trust
from harness.errors import ProviderError
from harness.paths import REPO_ROOT, source_root
from harness.ports import pick_ports
from harness.postgres import TempPostgres, find_bindir
from harness.providers.startup import start_in_order
from harness.registry import Progress
from harness.services import (
    DATABASE,
    SPECS,
    Secrets,
    Topology,
    backend_environment,
    backend_serve_arguments,
    database_url,
    frontend_dev_command,
    frontend_environment,
    issuer_arguments,
)
from harness.settings import state_dir
from harness.stack import ServiceFacts, Stack, service_names
from harness.waiting import http_ok, wait_for

START_TIMEOUT = 90.0
# Not build inputs: dependencies, outputs, tests and files tools rewrite as they run
# (the Makefile's FRONTEND_SOURCES skips the same).
_NOT_BUILD_INPUTS = ("node_modules", ".next", "tests", "coverage", "test-results")
_NOT_BUILD_SUFFIXES = (".tsbuildinfo", ".db")


def standalone_server(frontend: Path) -> Path:
    return frontend / ".next" / "standalone" / "server.js"


def _newest_source_mtime(frontend: Path) -> float:
    newest = 0.0
    for path in frontend.rglob("*"):
        parts = path.relative_to(frontend).parts
        if parts and parts[0] in _NOT_BUILD_INPUTS:
            continue
        if path.name == "next-env.d.ts" or path.name.endswith(_NOT_BUILD_SUFFIXES):
            continue
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
    return newest


def ensure_frontend_build(progress: Progress, root: Path = REPO_ROOT) -> Path:
    """Build the frontend (``npm run build``) when its standalone output is missing or stale;
    stacks starting together in one process build it once."""
    with _BUILDING:
        return _ensure_frontend_build(progress, root)


_BUILDING = threading.Lock()


def _ensure_frontend_build(progress: Progress, root: Path) -> Path:
    frontend = root / "frontend"
    server = standalone_server(frontend)
    if server.exists() and server.stat().st_mtime >= _newest_source_mtime(frontend):
        return server
    _require_node_modules(frontend)
    progress("frontend: building (npm run build, about a minute)")
    log = state_dir() / "logs" / "frontend-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        done = subprocess.run(
            ["npm", "run", "build"],
            cwd=frontend,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NEXT_TELEMETRY_DISABLED": "1"},
            check=False,
        )
    if done.returncode != 0 or not server.exists():
        raise ProviderError(f"frontend build failed; last lines of {log}:\n" + _tail_file(log, 20))
    return server


def _require_node_modules(frontend: Path) -> None:
    if not (frontend / "node_modules").exists():
        raise ProviderError(f"{frontend}/node_modules is missing: run `make install`")


def _tail_file(path: Path, lines: int) -> str:
    return "\n".join(processes.read_log(path).splitlines()[-lines:]) or "(no output)"


def _topology(ports: dict[str, int]) -> Topology:
    frontend = f"http://localhost:{ports['frontend']}"
    return Topology(
        frontend_origin=frontend,
        backend_origin=f"http://localhost:{ports['backend']}",
        # Trust authentication: the cluster listens on loopback only.
        database_url=database_url("127.0.0.1", ports["postgres"], None),
        better_auth_jwks=f"http://127.0.0.1:{ports['frontend']}/api/auth/jwks",
        issuer_jwks=f"http://127.0.0.1:{ports['issuer']}/jwks",
        listen_host="127.0.0.1",
        frontend_port=ports["frontend"],
    )


def _stack_topology(stack: Stack) -> Topology:
    """The addresses of a started stack or fork (a fork has only its issuer and backend)."""
    frontend_port = int(stack.frontend_url.rsplit(":", 1)[1])
    return Topology(
        frontend_origin=stack.frontend_url,
        backend_origin=stack.backend_url,
        database_url=stack.database_url.replace("postgresql+psycopg://", "postgresql://"),
        better_auth_jwks=f"http://127.0.0.1:{frontend_port}/api/auth/jwks",
        issuer_jwks=f"{stack.issuer_url}/jwks",
        listen_host="127.0.0.1",
        frontend_port=frontend_port,
    )


class _Launch:
    """How one service of a local stack runs: command, environment, directory."""

    def __init__(self, stack: Stack, topology: Topology) -> None:
        self.stack = stack
        self.topology = topology
        self.config = stack.config
        self.root = source_root(stack.config)
        assert stack.run_dir is not None
        self.run_dir = Path(stack.run_dir)

    def spec(self, service: str) -> tuple[list[str], dict[str, str], Path]:
        port = self.stack.services[service].port
        if service == "issuer":
            key_file = str(self.run_dir / f"issuer-keys-{port}.json")
            command = [sys.executable, "-m", "harness.issuer", "--host", "127.0.0.1"]
            command += ["--port", str(port), *issuer_arguments(self.topology, key_file)]
            return command, {}, self.run_dir
        if service == "backend":
            env = backend_environment(self.topology, self.config)
            backend = self.root / "backend"
            # The sources under source_root, whatever copy of them the venv installed.
            env["PYTHONPATH"] = str(backend)
            dirs = [str(backend / d) for d in SPECS["backend"].reload_sources]
            reload = dirs if self.config.hot_reload else []
            command = [sys.executable, *backend_serve_arguments("127.0.0.1", port, reload)]
            return command, env, self.run_dir
        if service == "frontend":
            env = frontend_environment(self.topology, self.config, self.stack.secrets)
            frontend = self.root / "frontend"
            node = shutil.which("node")
            if node is None:
                raise ProviderError("node is not installed: the frontend needs Node.js >= 20.9")
            if self.config.hot_reload:
                _require_node_modules(frontend)
                return [node, *frontend_dev_command("127.0.0.1", port)[1:]], env, frontend
            server = standalone_server(frontend)
            return [node, str(server)], env, server.parent
        raise ProviderError(f"unknown service {service!r}")


class LocalProvider:
    mode = Mode.LOCAL

    def unavailable(self) -> str | None:
        if shutil.which("node") is None:
            return "node is not installed (Node.js >= 20.9)"
        try:
            find_bindir()
        except ProviderError as exc:
            return str(exc)
        return None

    def up(self, config: StackConfig, progress: Progress) -> Stack:
        root = source_root(config)
        if not config.hot_reload:
            ensure_frontend_build(progress, root)
        run_id = f"{config.name}-{uuid.uuid4().hex[:8]}"
        run_dir = state_dir() / "runs" / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        ports = pick_ports(
            {
                "postgres": config.postgres_port,
                "issuer": config.issuer_port,
                "backend": config.backend_port,
                "frontend": config.frontend_port,
            }
        )
        topology = _topology(ports)
        stack = Stack(
            mode=Mode.LOCAL,
            config=config,
            run_id=run_id,
            frontend_url=topology.frontend_origin,
            backend_url=topology.backend_origin,
            database_url=topology.database_url.replace("postgresql://", "postgresql+psycopg://"),
            issuer_url=f"http://127.0.0.1:{ports['issuer']}",
            jwt_issuer=topology.frontend_origin,
            jwt_audience=topology.frontend_origin,
            jwks_url=topology.jwks_url(config.trust),
            # The cluster trusts loopback connections: no password to keep.
            secrets=Secrets.generate(),
            services={
                "postgres": ServiceFacts(url=topology.database_url, port=ports["postgres"]),
                "issuer": ServiceFacts(
                    url=f"http://127.0.0.1:{ports['issuer']}", port=ports["issuer"]
                ),
                "backend": ServiceFacts(url=topology.backend_origin, port=ports["backend"]),
                "frontend": ServiceFacts(url=topology.frontend_origin, port=ports["frontend"]),
            },
            run_dir=str(run_dir),
        )
        self._start_all(stack, progress)
        return stack

    def _start_all(self, stack: Stack, progress: Progress) -> None:
        """Start every service of a described stack; on failure remove all of it."""
        try:
            start_in_order(
                service_names(stack),
                start=lambda name: self._start(stack, name),
                wait_healthy=lambda name, abandoned: self._wait(stack, name, abandoned),
                progress=progress,
            )
        except BaseException:
            self.down(stack)
            raise

    def fork(self, stack: Stack, config: StackConfig) -> Stack:
        ports = pick_ports({"issuer": 0, "backend": 0})
        backend_url = f"http://localhost:{ports['backend']}"
        issuer_url = f"http://127.0.0.1:{ports['issuer']}"
        forked = Stack(
            mode=Mode.LOCAL,
            # A fork's backend trusts its own issuer, which also serves Better Auth's keys.
            config=replace(config, trust=Trust.BOTH, hot_reload=False),
            run_id=f"{stack.run_id}-fork-{uuid.uuid4().hex[:6]}",
            frontend_url=stack.frontend_url,
            backend_url=backend_url,
            database_url=stack.database_url,
            issuer_url=issuer_url,
            jwt_issuer=stack.jwt_issuer,
            jwt_audience=stack.jwt_audience,
            jwks_url=f"{issuer_url}/jwks",
            secrets=stack.secrets,
            services={
                "issuer": ServiceFacts(url=issuer_url, port=ports["issuer"]),
                "backend": ServiceFacts(url=backend_url, port=ports["backend"]),
            },
            run_dir=stack.run_dir,
            fork_of=stack.run_id,
        )
        self._start_all(forked, lambda _: None)
        return forked

    def down(self, stack: Stack) -> None:
        for name in reversed(service_names(stack)):
            if name != "postgres":
                pid = stack.services[name].pid
                if pid is not None:
                    processes.terminate(pid)
        if stack.fork_of is not None:
            return
        pg = self._postgres(stack)
        if pg is not None:
            pg.remove()
        if stack.run_dir:
            shutil.rmtree(stack.run_dir, ignore_errors=True)

    def stop(self, stack: Stack, service: str) -> None:
        facts = stack.facts(service)
        if service == "postgres":
            pg = self._postgres(stack)
            if pg is not None:
                pg.stop("fast")
        elif facts.pid is not None:
            processes.terminate(facts.pid)

    def start(self, stack: Stack, service: str) -> None:
        facts = stack.facts(service)
        if service == "postgres":
            pg = self._postgres(stack)
            if pg is not None and not pg.running():
                pg.start()
            return
        if facts.pid is not None and processes.alive(facts.pid):
            return
        self._start(stack, service)
        self._wait(stack, service, threading.Event())

    def running(self, stack: Stack) -> dict[str, bool]:
        state: dict[str, bool] = {}
        for name in service_names(stack):
            if name == "postgres":
                pg = self._postgres(stack)
                state[name] = bool(pg and pg.running())
            else:
                pid = stack.services[name].pid
                state[name] = pid is not None and processes.alive(pid)
        return state

    def logs(self, stack: Stack, service: str) -> str:
        return processes.read_log(stack.facts(service).log)

    # -- one service -------------------------------------------------------------------

    def _postgres(self, stack: Stack) -> TempPostgres | None:
        facts = stack.services.get("postgres")
        if facts is None or facts.data_dir is None:
            return None
        return TempPostgres.attach(Path(facts.data_dir), facts.port)

    def _start(self, stack: Stack, service: str) -> None:
        facts = stack.services[service]
        assert stack.run_dir is not None
        if service == "postgres":
            pg = TempPostgres(port=facts.port, root=Path(stack.run_dir))
            facts.data_dir = str(pg.init().datadir)
            facts.log = str(pg.log_file)
            pg.start()
            pg.create_database(DATABASE)
            return
        command, env, cwd = _Launch(stack, _stack_topology(stack)).spec(service)
        logs = state_dir() / "logs" / stack.run_id
        facts.log = str(logs / f"{service}-{facts.port}.log")
        facts.pid = processes.launch(command, env=env, log=Path(facts.log), cwd=cwd)

    def _wait(self, stack: Stack, service: str, abandoned: threading.Event) -> None:
        facts = stack.services[service]
        if service == "postgres":
            return  # `pg_ctl start -w` returned once it accepts connections
        health = SPECS[service].health
        assert health is not None

        def gone() -> str | None:
            if abandoned.is_set():
                return "start-up abandoned (another service failed)"
            if facts.pid is not None and not processes.alive(facts.pid):
                return f"exited during start-up (log: {facts.log})"
            return None

        wait_for(
            lambda: http_ok(f"{facts.url}{health}", timeout=1.0),
            what=f"{service} ({facts.url}{health})",
            timeout=START_TIMEOUT,
            gone=gone,
            logs=lambda: processes.read_log(facts.log),
        )
