"""The Docker daemon as the harness uses it: availability, labels, waiting on a container,
clean-up by label. Shared by the containers and the Compose providers and the images.

The docker SDK is imported only where a container is touched: it costs about half a second,
which commands like `harness mint-token` must not pay.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

from harness.errors import ProviderError
from harness.waiting import http_ok, wait_for

LABEL_STACK = "tasks-harness.stack"
LABEL_RUN = "tasks-harness.run"
LABEL_FORK = "tasks-harness.fork"
LABEL_SERVICE = "tasks-harness.service"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 10


def _cli(*args: str, timeout: float = 10) -> subprocess.CompletedProcess[bytes] | None:
    if shutil.which("docker") is None:
        return None
    try:
        return subprocess.run(["docker", *args], capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def daemon_unavailable() -> str | None:
    """None when a Docker daemon answers (not merely when the client is installed)."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    done = _cli("info", "--format", "{{.ServerVersion}}")
    if done is None or done.returncode != 0:
        return "no Docker daemon answers (start dockerd or Docker Desktop)"
    return None


def docker_available() -> bool:
    return daemon_unavailable() is None


def compose_unavailable() -> str | None:
    """None when Docker Compose v2 (`docker compose`) and a daemon are both there."""
    done = _cli("compose", "version", "--short")
    if done is None or done.returncode != 0:
        return "Docker Compose v2 is not installed (`docker compose version` fails)"
    return daemon_unavailable()


@contextlib.contextmanager
def client() -> Iterator[Any]:
    """A docker SDK client, closed afterwards."""
    import docker

    connection = docker.from_env()
    try:
        yield connection
    finally:
        connection.close()


def not_found() -> type[Exception]:
    from docker.errors import NotFound

    error: type[Exception] = NotFound
    return error


def logs(container_id: str | None) -> str:
    if container_id is None:
        return ""
    with client() as docker_client:
        try:
            container = docker_client.containers.get(container_id)
        except not_found():
            return ""
        return str(container.logs(stdout=True, stderr=True).decode(errors="replace"))


def running(container_id: str | None) -> bool:
    if container_id is None:
        return False
    with client() as docker_client:
        try:
            return bool(docker_client.containers.get(container_id).status == "running")
        except not_found():
            return False


def postgres_ready(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


def wait_healthy(
    container_id: str,
    *,
    what: str,
    ready: Callable[[], bool],
    abandoned: threading.Event | None = None,
    timeout: float = START_TIMEOUT,
) -> None:
    """Poll ``ready``; fail at once, with the container's last log lines, if it exits."""
    with client() as docker_client:

        def gone() -> str | None:
            if abandoned is not None and abandoned.is_set():
                return "start-up abandoned (another service failed)"
            try:
                container = docker_client.containers.get(container_id)
            except not_found():
                return "the container was removed"
            if container.status in ("exited", "dead"):
                code = container.attrs.get("State", {}).get("ExitCode")
                return f"the container exited during start-up (exit {code})"
            return None

        wait_for(ready, what=what, timeout=timeout, gone=gone, logs=lambda: logs(container_id))


def http_probe(url: str) -> Callable[[], bool]:
    return lambda: http_ok(url, timeout=1.0)


def stop(container_id: str | None) -> None:
    if container_id is None:
        raise ProviderError("the service has no container")
    with client() as docker_client:
        # The same container stops and starts again: published port and data stay.
        docker_client.containers.get(container_id).stop(timeout=STOP_TIMEOUT)


def start(container_id: str | None) -> None:
    if container_id is None:
        raise ProviderError("the service has no container")
    with client() as docker_client:
        container = docker_client.containers.get(container_id)
        if container.status != "running":
            container.start()


def remove_labelled(selector: str, *, networks_and_volumes: bool = True) -> None:
    """Remove every container (then network and volume) carrying the label ``selector``."""
    gone = not_found()
    with client() as docker_client:
        filters = {"label": selector}
        for container in docker_client.containers.list(all=True, filters=filters):
            with contextlib.suppress(gone):
                container.remove(force=True, v=True)
        if not networks_and_volumes:
            return
        for network in docker_client.networks.list(filters=filters):
            with contextlib.suppress(gone):
                network.remove()
        for volume in docker_client.volumes.list(filters=filters):
            with contextlib.suppress(gone):
                volume.remove(force=True)


def leftovers(stack_name: str, project: str | None = None) -> dict[str, list[str]]:
    """Containers, networks and volumes still labelled with ``stack_name`` (and, for a
    Compose stack, still in its ``project``)."""
    selectors = [f"{LABEL_STACK}={stack_name}"]
    if project is not None:
        selectors.append(f"com.docker.compose.project={project}")
    found: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}
    with client() as docker_client:
        for selector in selectors:
            filters = {"label": selector}
            found["containers"] += [
                c.name for c in docker_client.containers.list(all=True, filters=filters)
            ]
            found["networks"] += [n.name for n in docker_client.networks.list(filters=filters)]
            found["volumes"] += [v.name for v in docker_client.volumes.list(filters=filters)]
    return found
