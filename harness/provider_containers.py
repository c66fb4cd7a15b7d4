"""The stack in Docker containers (testcontainers): postgres, issuer, backend and frontend
on one private network, each publishing its port on 127.0.0.1 only.

Host ports are chosen before anything starts, so Better Auth's base URL, the tokens'
``iss``/``aud`` and the backend's CORS origin all name the published frontend origin from
the first request, while the backend fetches the JWKS over the network by service alias.

Ryuk (testcontainers' reaper) is disabled: its image cannot be pulled without a registry,
and it would remove a stack that ``harness up`` must leave running. Instead everything is
labelled (``tasks-harness.stack=<name>``, ``tasks-harness.run=<run id>``) and its ids are
kept in ``Stack.resources``, so ``harness down`` in another process -- or a failed
start-up -- removes containers, network and volume.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from harness.images import ensure_images
from harness.launch import docker_available
from harness.ports import free_port, http_ok, port_busy
from harness.stack import ProviderError, Stack, StackConfig

LABEL_STACK = "tasks-harness.stack"
LABEL_RUN = "tasks-harness.run"
LABEL_FORK = "tasks-harness.fork"
LABEL_SERVICE = "tasks-harness.service"

DATABASE = "tasks"
PG_USER = "postgres"
# A fixed password: the database is reachable only on loopback and the private network.
PG_PASSWORD = "harness"
PORTS = {"postgres": 5432, "issuer": 9000, "backend": 8000, "frontend": 3000}
START_TIMEOUT = 120.0
STOP_TIMEOUT = 10

Progress = Callable[[str], None]


def _docker_client() -> Any:
    import docker

    return docker.from_env()


def _not_found() -> type[Exception]:
    from docker.errors import NotFound

    found: type[Exception] = NotFound
    return found


def configure_testcontainers() -> None:
    """No Ryuk (no registry to pull it from, and it would reap a stack meant to outlive
    this process); published ports are reached on loopback."""
    os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"
    os.environ["TESTCONTAINERS_HOST_OVERRIDE"] = "127.0.0.1"
    # The config object reads the environment at import time: set it as well.
    from testcontainers.core.config import testcontainers_config

    testcontainers_config.ryuk_disabled = True
    testcontainers_config.tc_host_override = "127.0.0.1"


def _pick_ports(wanted: dict[str, int]) -> dict[str, int]:
    """Host ports per service: the configured one (must be free) or a free one, distinct."""
    chosen: dict[str, int] = {}
    for service, port in wanted.items():
        if port:
            if port_busy(port) or port in chosen.values():
                raise ProviderError(
                    f"port {port} ({service}) is busy on 127.0.0.1: stop what uses it "
                    "or pick another"
                )
            chosen[service] = port
    for service, port in wanted.items():
        if not port:
            candidate = free_port()
            while candidate in chosen.values():
                candidate = free_port()
            chosen[service] = candidate
    return chosen


def _safe_name(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", name).strip("-.") or "harness"


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def _pg_ready(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


def _healthy(info: dict[str, Any]) -> bool:
    if info.get("pg_url"):
        return _pg_ready(str(info["pg_url"]))
    return http_ok(str(info["probe"]), timeout=1.0)


def _wait_healthy(client: Any, service: str, info: dict[str, Any], timeout: float) -> None:
    """Poll the service's health probe; fail fast, with its logs, if the container exits."""
    deadline = time.monotonic() + timeout
    while not _healthy(info):
        container = client.containers.get(info["id"])
        if container.status in ("exited", "dead"):
            code = container.attrs.get("State", {}).get("ExitCode")
            raise ProviderError(
                f"{service} container exited during start-up (exit {code}); last lines:\n"
                + _tail(container.logs().decode(errors="replace"))
            )
        if time.monotonic() > deadline:
            raise ProviderError(
                f"{service} not healthy after {timeout:.0f}s ({info['probe']}); last lines:\n"
                + _tail(container.logs().decode(errors="replace"))
            )
        time.sleep(0.1)


class _Launcher:
    """Creates the labelled containers of one stack (or fork) on its network and records
    each id in ``resources`` the moment it exists, so clean-up never misses one."""

    def __init__(self, resources: dict[str, Any], labels: dict[str, str], network: Any) -> None:
        self.resources = resources
        self.labels = labels
        self.network = network

    def start(
        self,
        service: str,
        *,
        alias: str,
        host_port: int,
        env: dict[str, str],
        command: list[str] | None = None,
        volume: str | None = None,
        probe: str,
        pg_url: str | None = None,
    ) -> dict[str, Any]:
        from testcontainers.core.container import DockerContainer

        image = self.resources["images"][service]
        name = f"{self.resources['name_prefix']}-{alias}"
        container = DockerContainer(image, env=env, name=name)
        container.with_network(self.network).with_network_aliases(alias)
        # testcontainers publishes on every interface; docker-py takes (address, port).
        ports: dict[str, Any] = container.ports
        ports[f"{PORTS[service]}/tcp"] = ("127.0.0.1", host_port)
        if command:
            container.with_command(command)
        if volume:
            container.with_volume_mapping(volume, "/var/lib/postgresql/data", "rw")
        container.with_kwargs(labels={**self.labels, LABEL_SERVICE: service})
        info: dict[str, Any] = {
            "name": name,
            "alias": alias,
            "port": host_port,
            "probe": probe,
            "pg_url": pg_url,
        }
        self.resources["containers"][service] = info
        try:
            container.start()
        finally:
            with contextlib.suppress(Exception):  # not even created: the label sweep finds it
                info["id"] = container.get_wrapped_container().id
            container.get_docker_client().client.close()
        return info


def _issuer_command(stack: Stack, upstream: str) -> list[str]:
    return [
        "--issuer",
        stack.jwt_issuer,
        "--audience",
        stack.jwt_audience,
        # In the container's own filesystem: kept across `docker stop`/`start`.
        "--key-file",
        "/tmp/issuer/keys.json",  # noqa: S108 - inside the container
        "--upstream-jwks",
        upstream,
    ]


def backend_env(
    stack: Stack, database_url: str, jwks_url: str, config: StackConfig
) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "JWKS_URL": jwks_url,
        "JWT_ISSUER": stack.jwt_issuer,
        "JWT_AUDIENCE": stack.jwt_audience,
        "CORS_ORIGINS": stack.frontend_url,
        "JWKS_COOLDOWN_SECONDS": str(config.jwks_cooldown_seconds),
        "DPOP_MODE": config.dpop_mode,
        "LOG_LEVEL": "INFO",
    }


def frontend_env(stack: Stack, config: StackConfig, database_url: str) -> dict[str, str]:
    return {
        "PORT": "3000",
        "HOSTNAME": "0.0.0.0",
        "NODE_ENV": "production",
        "NEXT_TELEMETRY_DISABLED": "1",
        "DATABASE_URL": database_url,
        "BETTER_AUTH_URL": stack.frontend_url,
        "BETTER_AUTH_SECRET": config.auth_secret,
        "NEXT_PUBLIC_BETTER_AUTH_URL": f"{stack.frontend_url}/api/auth",
        "NEXT_PUBLIC_API_URL": stack.backend_url,
        "JWT_ISSUER": stack.jwt_issuer,
        "JWT_AUDIENCE": stack.jwt_audience,
        "JWT_EXPIRATION": config.jwt_expiration,
        "AUTH_RATE_LIMIT": "on" if config.auth_rate_limit else "off",
        "DPOP_MODE": config.dpop_mode,
    }


def _new_resources(config: StackConfig, images: dict[str, str]) -> dict[str, Any]:
    run_id = f"{_safe_name(config.name)}-{uuid.uuid4().hex[:8]}"
    return {
        "run_id": run_id,
        "name_prefix": run_id,
        "labels": {LABEL_STACK: config.name, LABEL_RUN: run_id},
        "images": images,
        "network": None,
        "volumes": [],
        "containers": {},
    }


def up(config: StackConfig, progress: Progress = lambda _: None) -> Stack:
    """Build missing images, start postgres, issuer, backend and frontend; return once all
    four are healthy. On any failure everything started so far is removed."""
    configure_testcontainers()
    if not docker_available():
        raise ProviderError(
            "Docker daemon not reachable: start dockerd (or Docker Desktop), "
            "or use the local provider (--mode local)"
        )
    progress("images: checking content tags")
    built = ensure_images(progress=progress)
    images = {name: image.ref for name, image in built.items()}
    ports = _pick_ports(
        {
            "postgres": config.postgres_port,
            "issuer": config.issuer_port,
            "backend": config.backend_port,
            "frontend": config.frontend_port,
        }
    )
    frontend_url = f"http://localhost:{ports['frontend']}"
    backend_url = f"http://localhost:{ports['backend']}"
    issuer_url = f"http://127.0.0.1:{ports['issuer']}"
    better_auth_jwks = "http://frontend:3000/api/auth/jwks"
    backend_jwks = "http://issuer:9000/jwks" if config.trust == "both" else better_auth_jwks
    credentials = f"{PG_USER}:{PG_PASSWORD}"
    resources = _new_resources(config, images)
    resources["internal"] = {
        "database_url": f"postgresql+psycopg://{credentials}@postgres:5432/{DATABASE}",
        "node_database_url": f"postgres://{credentials}@postgres:5432/{DATABASE}",
        "jwks_url": backend_jwks,
        "better_auth_jwks": better_auth_jwks,
    }
    stack = Stack(
        mode="containers",
        frontend_url=frontend_url,
        backend_url=backend_url,
        database_url=(
            f"postgresql+psycopg://{credentials}@127.0.0.1:{ports['postgres']}/{DATABASE}"
        ),
        issuer_url=issuer_url,
        jwt_issuer=frontend_url,
        jwt_audience=frontend_url,
        trust=config.trust,
        # What the backend trusts, as reachable from the host.
        jwks_url=(
            f"{issuer_url}/jwks" if config.trust == "both" else f"{frontend_url}/api/auth/jwks"
        ),
        resources=resources,
    )
    try:
        _start_all(stack, config, ports, progress)
    except BaseException:
        ContainersController(stack).down()
        raise
    return stack


def _in_parallel(*starts: Callable[[], dict[str, Any]]) -> list[dict[str, Any]]:
    """Create and start containers at once (dockerd takes ~0.5 s to set up each one)."""
    with ThreadPoolExecutor(max_workers=len(starts)) as pool:
        futures = [pool.submit(start) for start in starts]
        return [future.result() for future in futures]


def _start_all(
    stack: Stack, config: StackConfig, ports: dict[str, int], progress: Progress
) -> None:
    from testcontainers.core.network import Network

    resources = stack.resources
    labels: dict[str, str] = resources["labels"]
    internal = resources["internal"]
    client = _docker_client()
    try:
        progress("network, volume: creating")
        network = Network(docker_network_kw={"labels": labels})
        network.name = f"{resources['run_id']}-net"
        network.create()
        resources["network"] = {"id": network.id, "name": network.name}
        volume = client.volumes.create(name=f"{resources['run_id']}-pgdata", labels=labels)
        resources["volumes"].append(volume.name)
        launcher = _Launcher(resources, labels, network)

        # The frontend retries its migrations until PostgreSQL answers, so it boots
        # alongside it; the backend migrates once at start-up and waits for it.
        progress("postgres, issuer, frontend: starting")
        pg_url = stack.database_url.replace("postgresql+psycopg://", "postgresql://")
        postgres, issuer, frontend = _in_parallel(
            lambda: launcher.start(
                "postgres",
                alias="postgres",
                host_port=ports["postgres"],
                env={
                    "POSTGRES_USER": PG_USER,
                    "POSTGRES_PASSWORD": PG_PASSWORD,
                    "POSTGRES_DB": DATABASE,
                    "POSTGRES_INITDB_ARGS": "--no-sync",
                },
                # Throw-away test data: durability traded for speed, as in the local provider.
                command=[
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                volume=volume.name,
                probe=f"postgres on 127.0.0.1:{ports['postgres']}",
                pg_url=pg_url,
            ),
            lambda: launcher.start(
                "issuer",
                alias="issuer",
                host_port=ports["issuer"],
                env={},
                command=_issuer_command(stack, internal["better_auth_jwks"]),
                probe=f"{stack.issuer_url}/healthz",
            ),
            lambda: launcher.start(
                "frontend",
                alias="frontend",
                host_port=ports["frontend"],
                env=frontend_env(stack, config, internal["node_database_url"]),
                probe=f"{stack.frontend_url}/api/health",
            ),
        )
        progress("postgres: waiting until it accepts connections")
        _wait_healthy(client, "postgres", postgres, START_TIMEOUT)

        progress("backend: starting")
        backend = launcher.start(
            "backend",
            alias="backend",
            host_port=ports["backend"],
            env=backend_env(stack, internal["database_url"], internal["jwks_url"], config),
            probe=f"{stack.backend_url}/readyz",
        )
        for service, info in (("issuer", issuer), ("backend", backend), ("frontend", frontend)):
            progress(f"{service}: waiting for {info['probe']}")
            _wait_healthy(client, service, info, START_TIMEOUT)
    finally:
        client.close()


def fork(stack: Stack, config: StackConfig) -> Stack:
    """A second issuer and backend on the same network, database and frontend, for tests
    that change keys or break the JWKS without disturbing tests sharing the main stack.
    ``down()`` on the fork removes only what the fork started."""
    configure_testcontainers()
    from testcontainers.core.network import Network

    main = stack.resources
    fork_id = uuid.uuid4().hex[:6]
    resources: dict[str, Any] = {
        "run_id": main["run_id"],
        "name_prefix": f"{main['run_id']}-fork-{fork_id}",
        "labels": {**main["labels"], LABEL_FORK: fork_id},
        "images": main["images"],
        "network": main["network"],
        "volumes": [],
        "containers": {},
        "internal": main["internal"],
        "fork": fork_id,
    }
    ports = _pick_ports({"issuer": 0, "backend": 0})
    issuer_url = f"http://127.0.0.1:{ports['issuer']}"
    forked = stack.with_own_issuer(
        issuer_url=issuer_url,
        backend_url=f"http://localhost:{ports['backend']}",
        resources=resources,
    )
    # An existing network, attached to by name: testcontainers only needs its name.
    network = Network()
    network.name = main["network"]["name"]
    launcher = _Launcher(resources, resources["labels"], network)
    issuer_alias = f"issuer-{fork_id}"
    client = _docker_client()
    try:
        issuer, backend = _in_parallel(
            lambda: launcher.start(
                "issuer",
                alias=issuer_alias,
                host_port=ports["issuer"],
                env={},
                command=_issuer_command(forked, main["internal"]["better_auth_jwks"]),
                probe=f"{issuer_url}/healthz",
            ),
            lambda: launcher.start(
                "backend",
                alias=f"backend-{fork_id}",
                host_port=ports["backend"],
                env=backend_env(
                    forked,
                    main["internal"]["database_url"],
                    f"http://{issuer_alias}:9000/jwks",
                    config,
                ),
                probe=f"{forked.backend_url}/readyz",
            ),
        )
        _wait_healthy(client, "issuer", issuer, START_TIMEOUT)
        _wait_healthy(client, "backend", backend, START_TIMEOUT)
    except BaseException:
        ContainersController(forked).down()
        raise
    finally:
        client.close()
    return forked


class ContainersController:
    """Controls a containers stack from its saved description (any process)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.resources = stack.resources
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _docker_client()
        return self._client

    def _info(self, service: str) -> dict[str, Any]:
        info = self.resources.get("containers", {}).get(service)
        if info is None:
            raise KeyError(f"unknown service {service!r}")
        return dict(info)

    def _container(self, service: str) -> Any:
        return self.client.containers.get(self._info(service)["id"])

    def logs(self, service: str) -> str:
        try:
            container = self._container(service)
        except _not_found():
            return ""
        return str(container.logs(stdout=True, stderr=True).decode(errors="replace"))

    def stop_service(self, service: str) -> None:
        # The same container stops and starts again: published port and data stay.
        self._container(service).stop(timeout=STOP_TIMEOUT)

    def start_service(self, service: str) -> None:
        container = self._container(service)
        container.reload()
        if container.status != "running":
            container.start()
        _wait_healthy(self.client, service, self._info(service), START_TIMEOUT)

    def running(self) -> dict[str, bool]:
        state: dict[str, bool] = {}
        for service in self.resources.get("containers", {}):
            try:
                state[service] = self._container(service).status == "running"
            except (KeyError, _not_found()):
                state[service] = False
        return state

    def fork(self, config: StackConfig) -> Stack:
        return fork(self.stack, config)

    def down(self) -> None:
        """Remove the containers, network and volume of this stack (a fork: its own
        containers only), by recorded id and by label, so partial start-ups go too."""
        not_found = _not_found()
        client = self.client
        labels = self.resources.get("labels", {})
        fork_id = self.resources.get("fork")
        selector = f"{LABEL_FORK}={fork_id}" if fork_id else f"{LABEL_RUN}={labels.get(LABEL_RUN)}"
        try:
            ids = [
                info["id"] for info in self.resources.get("containers", {}).values() if "id" in info
            ]
            if labels:
                ids += [c.id for c in client.containers.list(all=True, filters={"label": selector})]
            for container_id in dict.fromkeys(ids):
                with contextlib.suppress(not_found):
                    client.containers.get(container_id).remove(force=True, v=True)
            if fork_id:
                return
            network = self.resources.get("network") or {}
            nets = [network["id"]] if network.get("id") else []
            vols = list(self.resources.get("volumes", []))
            if labels:
                nets += [n.id for n in client.networks.list(filters={"label": selector})]
                vols += [v.name for v in client.volumes.list(filters={"label": selector})]
            for network_id in dict.fromkeys(nets):
                with contextlib.suppress(not_found):
                    client.networks.get(network_id).remove()
            for name in dict.fromkeys(vols):
                with contextlib.suppress(not_found):
                    client.volumes.get(name).remove(force=True)
        finally:
            client.close()
            self._client = None


def leftovers(stack_name: str) -> dict[str, list[str]]:
    """Containers, networks and volumes still labelled with ``stack_name``."""
    client = _docker_client()
    selector = {"label": f"{LABEL_STACK}={stack_name}"}
    try:
        return {
            "containers": [c.name for c in client.containers.list(all=True, filters=selector)],
            "networks": [n.name for n in client.networks.list(filters=selector)],
            "volumes": [v.name for v in client.volumes.list(filters=selector)],
        }
    finally:
        client.close()
