"""The stack through Docker Compose v2 and the repository's ``docker-compose.yml``.

What a plain ``docker compose up`` runs, described as a ``Stack``: the harness builds the
images (content tags), passes every setting as a Compose variable -- the same values
``.env`` holds for a developer's stack -- and runs ``docker compose up --wait``.
Hot reload adds ``docker-compose.dev.yml`` (the working tree mounted into the containers).
The mock issuer (profile ``issuer``) always runs, so ``harness mint-token`` has an issuer.
Forks are the containers provider's, on the Compose network.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Mapping

from harness import dockerd
from harness.config import Mode, StackConfig
from harness.envfile import stack_secrets
from harness.errors import ProviderError
from harness.paths import REPO_ROOT, source_root
from harness.providers.containers import (
    ContainersProvider,
    describe_stack,
    network_topology,
    stack_images,
    stack_ports,
)
from harness.registry import Progress
from harness.services import SERVICES, Secrets
from harness.stack import Stack
from harness.waiting import tail

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
HOT_RELOAD_FILE = REPO_ROOT / "docker-compose.dev.yml"
# `name:` in docker-compose.yml: `harness up`'s stack is the project `docker compose` sees.
DEVELOPMENT_PROJECT = "tasks"
DEVELOPMENT_NAME = "dev"
UP_TIMEOUT = 180


def compose_variables(
    config: StackConfig, ports: dict[str, int], secrets: Secrets, images: Mapping[str, str]
) -> dict[str, str]:
    """The Compose variables for one stack (what ``.env`` / the shell would set)."""
    return {
        "FRONTEND_PORT": str(ports["frontend"]),
        "BACKEND_PORT": str(ports["backend"]),
        "ISSUER_PORT": str(ports["issuer"]),
        "POSTGRES_PORT": str(ports["postgres"]),
        "POSTGRES_PASSWORD": secrets.postgres_password,
        "BETTER_AUTH_SECRET": secrets.auth_secret,
        "JWKS_URL": network_topology(ports, secrets).jwks_url(config.trust),
        "JWT_EXPIRATION": config.jwt_expiration,
        "JWKS_ROTATION_INTERVAL": config.jwks_rotation[0],
        "JWKS_GRACE_PERIOD": config.jwks_rotation[1],
        "JWKS_COOLDOWN_SECONDS": str(config.jwks_cooldown_seconds),
        "AUTH_RATE_LIMIT": "on" if config.auth_rate_limit else "off",
        "DPOP_MODE": config.dpop_mode.value,
        "WEB_CONCURRENCY": str(config.backend_workers or ""),
        **{f"{name.upper()}_IMAGE": ref for name, ref in images.items()},
    }


def _project(config: StackConfig, run_id: str) -> str:
    if config.development and config.name == DEVELOPMENT_NAME:
        return DEVELOPMENT_PROJECT
    unique = config.name if config.development else run_id
    return re.sub(r"[^a-z0-9_-]", "-", f"tasks-{unique}".lower())


class ComposeProvider(ContainersProvider):
    """Compose starts and removes the stack; stopping, starting, logs and forks work on its
    containers as the containers provider's do."""

    mode = Mode.COMPOSE

    def unavailable(self) -> str | None:
        return dockerd.compose_unavailable()

    def up(self, config: StackConfig, progress: Progress) -> Stack:
        reason = dockerd.compose_unavailable()
        if reason is not None:
            raise ProviderError(reason)
        progress("images: checking content tags")
        images = stack_images(config, progress)
        ports = stack_ports(config)
        secrets = stack_secrets(config)
        run_id = f"{config.name}-{uuid.uuid4().hex[:8]}"
        project = _project(config, run_id)
        stack = describe_stack(
            Mode.COMPOSE,
            config,
            run_id=run_id,
            ports=ports,
            secrets=secrets,
            network=f"{project}_default",
            images=images,
            project=project,
        )
        try:
            progress(f"docker compose: starting project {project}")
            self._compose(stack, "up", "--detach", "--wait", "--wait-timeout", str(UP_TIMEOUT),
                          "--no-build", progress=progress)  # fmt: skip
            for name in SERVICES:
                stack.services[name].container = self._container_id(stack, name)
        except BaseException:
            self.down(stack)
            raise
        return stack

    def down(self, stack: Stack) -> None:
        # Forks are attached to the project's network: they go first, or it cannot be removed.
        dockerd.remove_labelled(f"{dockerd.LABEL_RUN}={stack.run_id}")
        self._compose(stack, "down", "--volumes", "--remove-orphans", "--timeout", "10")

    # -- docker compose ----------------------------------------------------------------

    def _files(self, stack: Stack) -> list[str]:
        files = ["-f", str(COMPOSE_FILE)]
        if stack.config.hot_reload:
            files += ["-f", str(HOT_RELOAD_FILE)]
        return files

    def _compose(self, stack: Stack, *args: str, progress: Progress = lambda _: None) -> str:
        assert stack.project is not None
        assert stack.network is not None
        ports = {name: facts.port for name, facts in stack.services.items()}
        variables = compose_variables(stack.config, ports, stack.secrets, stack.network.images)
        command = [
            "docker", "compose", "--project-name", stack.project,
            "--project-directory", str(source_root(stack.config)),
            *self._files(stack), "--profile", "issuer", *args,
        ]  # fmt: skip
        # The shell's values win over `.env`'s: pass every variable explicitly.
        env = {**os.environ, **variables, "COMPOSE_PROGRESS": "plain", "COMPOSE_ANSI": "never"}
        lines: list[str] = []
        with subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line.rstrip())
                progress(f"docker compose: {line.strip()[:100]}")
            code = process.wait()
        if code != 0:
            raise ProviderError(
                f"docker compose {args[0]} failed (exit {code}); last lines:\n"
                + tail("\n".join(lines), 20)
                + self._unhealthy_logs(stack)
            )
        return "\n".join(lines)

    def _container_id(self, stack: Stack, service: str) -> str:
        done = subprocess.run(
            ["docker", "ps", "-aq", "--no-trunc",
             "--filter", f"label=com.docker.compose.project={stack.project}",
             "--filter", f"label=com.docker.compose.service={service}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        found = done.stdout.split()
        if not found:
            raise ProviderError(f"docker compose started no {service} container")
        return found[0]

    def _unhealthy_logs(self, stack: Stack) -> str:
        """The last log lines of each service whose container is not running."""
        parts = []
        for name in SERVICES:
            try:
                container = self._container_id(stack, name)
            except ProviderError:
                continue
            if not dockerd.running(container):
                parts.append(f"\n{name} log:\n{tail(dockerd.logs(container), 15)}")
        return "".join(parts)
