"""The stack in Docker containers: postgres, issuer, backend and frontend on one private
network, each publishing its port on 127.0.0.1 only.

Host ports are chosen before anything starts, so Better Auth's base URL, the tokens'
``iss``/``aud`` and the backend's CORS origin all name the published frontend origin from
the first request, while the services reach each other by alias on the network.

The docker SDK is used directly rather than testcontainers: a stack outlives the process
that starts it (`harness up`) and is stopped, restarted and removed from other processes by
id and label, which testcontainers' reaper-owned, one-process lifecycle does not fit.
Everything is labelled (``tasks-harness.stack``, ``tasks-harness.run``), so `down` -- from
any process, or after a start-up that failed halfway -- removes all of it.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import replace
from typing import Any

from harness import dockerd
from harness.config import Mode, StackConfig, Trust
from harness.envfile import stack_secrets
from harness.errors import ProviderError
from harness.images import ensure_images
from harness.paths import source_root
from harness.ports import pick_ports
from harness.providers.startup import start_in_order
from harness.registry import Progress
from harness.services import (
    SPECS,
    Secrets,
    Topology,
    backend_environment,
    backend_serve_arguments,
    database_url,
    frontend_environment,
    issuer_arguments,
    postgres_environment,
)
from harness.stack import NetworkFacts, ServiceFacts, Stack, service_names

# In the issuer container's own filesystem: kept across `docker stop` / `docker start`.
ISSUER_KEY_FILE = "/tmp/issuer/keys.json"  # noqa: S108 - a path inside the container
# Throw-away test data: durability traded for speed (as in the local provider).
FAST_POSTGRES = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
# Where the images keep the sources hot reload replaces with the working tree.
SOURCE_MOUNTS = {"backend": "/app", "frontend": "/src"}


def network_topology(
    ports: dict[str, int], secrets: Secrets, *, issuer_alias: str = "issuer"
) -> Topology:
    """Addresses for containers on one network, with the browser on the published ports."""
    return Topology(
        frontend_origin=f"http://localhost:{ports['frontend']}",
        backend_origin=f"http://localhost:{ports['backend']}",
        database_url=database_url("postgres", SPECS["postgres"].port, secrets.postgres_password),
        better_auth_jwks=f"http://frontend:{SPECS['frontend'].port}/api/auth/jwks",
        issuer_jwks=f"http://{issuer_alias}:{SPECS['issuer'].port}/jwks",
        listen_host="0.0.0.0",
        frontend_port=SPECS["frontend"].port,
    )


def describe_stack(
    mode: Mode,
    config: StackConfig,
    *,
    run_id: str,
    ports: dict[str, int],
    secrets: Secrets,
    network: str,
    images: dict[str, str],
    project: str | None = None,
) -> Stack:
    """A container stack as reached from the host: services on published loopback ports."""
    topology = network_topology(ports, secrets)
    pg_url = database_url("127.0.0.1", ports["postgres"], secrets.postgres_password)
    frontend = f"http://localhost:{ports['frontend']}"
    backend = f"http://localhost:{ports['backend']}"
    issuer = f"http://127.0.0.1:{ports['issuer']}"
    return Stack(
        mode=mode,
        config=config,
        run_id=run_id,
        frontend_url=frontend,
        backend_url=backend,
        database_url=pg_url.replace("postgresql://", "postgresql+psycopg://"),
        issuer_url=issuer,
        jwt_issuer=frontend,
        jwt_audience=frontend,
        jwks_url=f"{issuer}/jwks" if config.trust is Trust.BOTH else f"{frontend}/api/auth/jwks",
        secrets=secrets,
        services={
            "postgres": ServiceFacts(url=pg_url, port=ports["postgres"]),
            "issuer": ServiceFacts(url=issuer, port=ports["issuer"]),
            "backend": ServiceFacts(url=backend, port=ports["backend"]),
            "frontend": ServiceFacts(url=frontend, port=ports["frontend"]),
        },
        network=NetworkFacts(
            name=network,
            database_url=topology.database_url,
            better_auth_jwks=topology.better_auth_jwks,
            images=images,
        ),
        project=project,
    )


def stack_images(config: StackConfig, progress: Progress) -> dict[str, str]:
    """Image per service, built from the stack's sources first when missing or changed
    (hot reload: the `next dev` image)."""
    frontend = "frontend-dev" if config.hot_reload else "frontend"
    built = ensure_images(
        ["postgres", "backend", "issuer", frontend], progress=progress, root=source_root(config)
    )
    return {
        "postgres": built["postgres"].ref,
        "backend": built["backend"].ref,
        "issuer": built["issuer"].ref,
        "frontend": built[frontend].ref,
    }


def stack_ports(config: StackConfig) -> dict[str, int]:
    return pick_ports(
        {
            "postgres": config.postgres_port,
            "issuer": config.issuer_port,
            "backend": config.backend_port,
            "frontend": config.frontend_port,
        }
    )


class ContainersProvider:
    mode = Mode.CONTAINERS

    def unavailable(self) -> str | None:
        return dockerd.daemon_unavailable()

    def up(self, config: StackConfig, progress: Progress) -> Stack:
        reason = dockerd.daemon_unavailable()
        if reason is not None:
            raise ProviderError(f"{reason}; or use the local provider (--mode local)")
        progress("images: checking content tags")
        images = stack_images(config, progress)
        ports = stack_ports(config)
        secrets = stack_secrets(config)
        run_id = f"{_safe_name(config.name)}-{uuid.uuid4().hex[:8]}"
        stack = describe_stack(
            Mode.CONTAINERS,
            config,
            run_id=run_id,
            ports=ports,
            secrets=secrets,
            network=f"{run_id}-net",
            images=images,
        )
        labels = {dockerd.LABEL_STACK: config.name, dockerd.LABEL_RUN: run_id}
        try:
            with dockerd.client() as docker_client:
                progress("network, volume: creating")
                docker_client.networks.create(f"{run_id}-net", labels=labels)
                docker_client.volumes.create(name=f"{run_id}-pgdata", labels=labels)
            launcher = _Launcher(
                stack, network_topology(ports, secrets), labels, name_prefix=run_id
            )
            start_in_order(
                service_names(stack),
                start=launcher.start,
                wait_healthy=lambda name, abandoned: self._wait(stack, name, abandoned),
                progress=progress,
            )
        except BaseException:
            self.down(stack)
            raise
        return stack

    def fork(self, stack: Stack, config: StackConfig) -> Stack:
        """An issuer + backend on the stack's network (also a Compose stack's)."""
        network = stack.network
        if network is None:
            raise ProviderError("this stack has no container network to fork on")
        fork_id = uuid.uuid4().hex[:6]
        ports = pick_ports({"issuer": 0, "backend": 0})
        all_ports = {**{n: f.port for n, f in stack.services.items()}, **ports}
        topology = replace(
            network_topology(all_ports, stack.secrets, issuer_alias=f"issuer-{fork_id}"),
            database_url=network.database_url,
            better_auth_jwks=network.better_auth_jwks,
            frontend_origin=stack.frontend_url,
        )
        described = describe_stack(
            Mode.CONTAINERS,
            # A fork's backend trusts its own issuer, which also serves Better Auth's keys.
            replace(config, trust=Trust.BOTH, hot_reload=False),
            run_id=f"{stack.run_id}-fork-{fork_id}",
            ports=all_ports,
            secrets=stack.secrets,
            network=network.name,
            images=network.images,
        )
        forked = replace(
            described,
            frontend_url=stack.frontend_url,
            database_url=stack.database_url,
            jwt_issuer=stack.jwt_issuer,
            jwt_audience=stack.jwt_audience,
            services={n: described.services[n] for n in ("issuer", "backend")},
            network=network,
            fork_of=stack.run_id,
        )
        labels = {
            dockerd.LABEL_STACK: stack.name,
            dockerd.LABEL_RUN: stack.run_id,
            dockerd.LABEL_FORK: forked.run_id,
        }
        launcher = _Launcher(
            forked, topology, labels, name_prefix=stack.run_id, alias_suffix=f"-{fork_id}"
        )
        try:
            start_in_order(
                ["issuer", "backend"],
                start=launcher.start,
                wait_healthy=lambda name, abandoned: self._wait(forked, name, abandoned),
                progress=lambda _: None,
            )
        except BaseException:
            self.down(forked)
            raise
        return forked

    def down(self, stack: Stack) -> None:
        if stack.fork_of is not None:
            dockerd.remove_labelled(
                f"{dockerd.LABEL_FORK}={stack.run_id}", networks_and_volumes=False
            )
            return
        dockerd.remove_labelled(f"{dockerd.LABEL_RUN}={stack.run_id}")

    def stop(self, stack: Stack, service: str) -> None:
        dockerd.stop(stack.facts(service).container)

    def start(self, stack: Stack, service: str) -> None:
        dockerd.start(stack.facts(service).container)
        self._wait(stack, service, threading.Event())

    def running(self, stack: Stack) -> dict[str, bool]:
        return {
            name: dockerd.running(stack.services[name].container) for name in service_names(stack)
        }

    def logs(self, stack: Stack, service: str) -> str:
        return dockerd.logs(stack.facts(service).container)

    def _wait(self, stack: Stack, service: str, abandoned: threading.Event) -> None:
        wait_container(stack, service, abandoned)


def wait_container(stack: Stack, service: str, abandoned: threading.Event) -> None:
    """Until the service's container answers its health probe on the published port."""
    facts = stack.services[service]
    if facts.container is None:
        raise ProviderError(f"{service} has no container")
    health = SPECS[service].health
    if health is None:
        ready = lambda: dockerd.postgres_ready(facts.url)  # noqa: E731
        what = f"postgres on 127.0.0.1:{facts.port}"
    else:
        ready = dockerd.http_probe(f"{facts.url}{health}")
        what = f"{service} ({facts.url}{health})"
    dockerd.wait_healthy(facts.container, what=what, ready=ready, abandoned=abandoned)


class _Launcher:
    """Creates the labelled containers of one stack (or fork) on its network."""

    def __init__(
        self,
        stack: Stack,
        topology: Topology,
        labels: dict[str, str],
        *,
        name_prefix: str,
        alias_suffix: str = "",
    ) -> None:
        assert stack.network is not None
        self.stack = stack
        self.network = stack.network
        self.topology = topology
        self.labels = labels
        self.prefix = name_prefix
        self.suffix = alias_suffix

    def start(self, service: str) -> None:
        spec = SPECS[service]
        config = self.stack.config
        alias = f"{service}{self.suffix}"
        options: dict[str, Any] = {
            "environment": {},
            "volumes": {},
        }
        if service == "postgres":
            options["environment"] = postgres_environment(self.stack.secrets)
            options["volumes"] = {
                f"{self.stack.run_id}-pgdata": {"bind": "/var/lib/postgresql/data", "mode": "rw"}
            }
            if not config.development:
                options["environment"]["POSTGRES_INITDB_ARGS"] = "--no-sync"
                options["command"] = FAST_POSTGRES
        elif service == "issuer":
            options["command"] = issuer_arguments(self.topology, ISSUER_KEY_FILE)
        elif service == "backend":
            options["environment"] = backend_environment(self.topology, config)
        elif service == "frontend":
            options["environment"] = frontend_environment(self.topology, config, self.stack.secrets)
        if config.hot_reload and spec.reload_sources:
            options["volumes"].update(self._source_mounts(service))
            if service == "backend":
                options["command"] = [
                    "python3",
                    *backend_serve_arguments("0.0.0.0", spec.port, reload_dirs(service)),
                ]
        with dockerd.client() as docker_client:
            container = docker_client.containers.create(
                self.network.images[service],
                name=f"{self.prefix}-{alias}",
                labels={**self.labels, dockerd.LABEL_SERVICE: service},
                ports={f"{spec.port}/tcp": ("127.0.0.1", self.stack.services[service].port)},
                network=self.network.name,
                networking_config={
                    self.network.name: docker_client.api.create_endpoint_config(aliases=[alias])
                },
                **options,
            )
            self.stack.services[service].container = container.id
            container.start()

    def _source_mounts(self, service: str) -> dict[str, dict[str, str]]:
        sources = source_root(self.stack.config) / service
        return {
            str(sources / directory): {"bind": inside, "mode": "ro"}
            for directory, inside in zip(
                SPECS[service].reload_sources, reload_dirs(service), strict=True
            )
            if (sources / directory).is_dir()
        }


def reload_dirs(service: str) -> list[str]:
    """Where in its image a service's hot-reload sources are mounted."""
    return [f"{SOURCE_MOUNTS[service]}/{d}" for d in SPECS[service].reload_sources]


def _safe_name(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", name).strip("-.") or "harness"
