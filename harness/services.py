"""Each service of the stack, described once: image, port, health, dependencies, environment.

The local provider, the containers provider, hot reload and the check of
``docker-compose.yml`` are all built from these descriptions; a provider only adds how a
service runs (a process or a container) and how its parts reach each other (``Topology``).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from harness.config import StackConfig, Trust

DATABASE = "tasks"
DATABASE_USER = "postgres"


class Condition(StrEnum):
    """When a dependency is ready enough (Compose's names)."""

    STARTED = "service_started"
    HEALTHY = "service_healthy"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    # The port the service listens on inside a container.
    port: int
    # HTTP path answering 200 once ready; None: PostgreSQL's own connection probe.
    health: str | None
    depends_on: Mapping[str, Condition]
    # Directories (under the service's source directory) hot reload serves from the
    # working tree: saving a file there takes effect without a rebuild.
    reload_sources: tuple[str, ...] = ()


POSTGRES = ServiceSpec("postgres", 5432, None, {})
ISSUER = ServiceSpec("issuer", 9000, "/healthz", {})
# The backend migrates once at start-up: PostgreSQL must answer. The frontend retries its
# own migrations, so it only needs the database to exist.
BACKEND = ServiceSpec(
    "backend", 8000, "/readyz", {"postgres": Condition.HEALTHY}, reload_sources=("todo_api",)
)
FRONTEND = ServiceSpec(
    "frontend",
    3000,
    "/api/health",
    {"postgres": Condition.STARTED},
    reload_sources=("app", "components", "lib"),
)

SPECS: dict[str, ServiceSpec] = {s.name: s for s in (POSTGRES, ISSUER, BACKEND, FRONTEND)}
SERVICES: tuple[str, ...] = tuple(SPECS)


@dataclass(frozen=True)
class Secrets:
    """A stack's secrets: per run for test stacks, from ``.env`` for a developer's stack."""

    postgres_password: str
    # Encrypts Better Auth's signing keys: stable for the database's lifetime.
    auth_secret: str

    @classmethod
    def generate(cls) -> Secrets:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(32))


@dataclass(frozen=True)
class Topology:
    """The addresses of one stack, each as the party that uses it sees it."""

    # Browser-visible origins (Better Auth's base URL, the tokens' iss/aud, CORS).
    frontend_origin: str
    backend_origin: str
    # The database, as the backend and the frontend reach it (libpq form).
    database_url: str
    # Better Auth's JWKS, as the issuer (its upstream) and the backend reach it.
    better_auth_jwks: str
    # The mock issuer's JWKS, as the backend reaches it.
    issuer_jwks: str
    # Where processes listen: loopback for local processes, every interface in containers.
    listen_host: str
    frontend_port: int

    def jwks_url(self, trust: Trust) -> str:
        """What the backend trusts."""
        return self.issuer_jwks if trust is Trust.BOTH else self.better_auth_jwks


def database_url(host: str, port: int, password: str | None) -> str:
    credentials = f"{DATABASE_USER}:{password}" if password else DATABASE_USER
    return f"postgresql://{credentials}@{host}:{port}/{DATABASE}"


def postgres_environment(secrets: Secrets) -> dict[str, str]:
    return {
        "POSTGRES_USER": DATABASE_USER,
        "POSTGRES_PASSWORD": secrets.postgres_password,
        "POSTGRES_DB": DATABASE,
    }


def issuer_arguments(topology: Topology, key_file: str) -> list[str]:
    return [
        "--issuer",
        topology.frontend_origin,
        "--audience",
        topology.frontend_origin,
        "--key-file",
        key_file,
        "--upstream-jwks",
        topology.better_auth_jwks,
    ]


def backend_serve_arguments(host: str, port: int, reload_dirs: Sequence[str] = ()) -> list[str]:
    """``python3`` + these: the API's launcher. It migrates once, then serves with
    WEB_CONCURRENCY workers, or with ``reload_dirs`` one process restarted when a file in
    them changes."""
    arguments = ["-m", "todo_api.serve", "--host", host, "--port", str(port)]
    for directory in reload_dirs:
        arguments += ["--reload-dir", directory]
    return arguments


def frontend_dev_command(host: str, port: int) -> list[str]:
    """``next dev`` (Fast Refresh), relative to the frontend directory."""
    return [
        "node",
        "node_modules/next/dist/bin/next",
        "dev",
        "--hostname",
        host,
        "--port",
        str(port),
    ]


def backend_environment(topology: Topology, config: StackConfig) -> dict[str, str]:
    return {
        "DATABASE_URL": topology.database_url,
        "JWKS_URL": topology.jwks_url(config.trust),
        "JWT_ISSUER": topology.frontend_origin,
        "JWT_AUDIENCE": topology.frontend_origin,
        "CORS_ORIGINS": topology.frontend_origin,
        "JWKS_COOLDOWN_SECONDS": str(config.jwks_cooldown_seconds),
        "LOG_LEVEL": "INFO",
        # No proxy in front of a harness backend: a client's X-Forwarded-For is not its address.
        "FORWARDED_ALLOW_IPS": "",
        "DPOP_MODE": config.dpop_mode.value,
        # Worker processes (the launcher's default when empty: the CPU count).
        "WEB_CONCURRENCY": str(config.backend_workers or ""),
    }


def frontend_environment(
    topology: Topology, config: StackConfig, secrets: Secrets
) -> dict[str, str]:
    origin = topology.frontend_origin
    return {
        "PORT": str(topology.frontend_port),
        "HOSTNAME": topology.listen_host,
        "NODE_ENV": "development" if config.hot_reload else "production",
        "NEXT_TELEMETRY_DISABLED": "1",
        "DATABASE_URL": topology.database_url,
        "BETTER_AUTH_URL": origin,
        "BETTER_AUTH_SECRET": secrets.auth_secret,
        "NEXT_PUBLIC_BETTER_AUTH_URL": f"{origin}/api/auth",
        "NEXT_PUBLIC_API_URL": topology.backend_origin,
        "JWT_ISSUER": origin,
        "JWT_AUDIENCE": origin,
        "JWT_EXPIRATION": config.jwt_expiration,
        "JWKS_ROTATION_INTERVAL": config.jwks_rotation[0],
        "JWKS_GRACE_PERIOD": config.jwks_rotation[1],
        "AUTH_RATE_LIMIT": "on" if config.auth_rate_limit else "off",
        "DPOP_MODE": config.dpop_mode.value,
    }
