"""The containers provider: a real stack in Docker (smoke test) and docker-compose.yml's
agreement with the provider's environment (no Docker needed)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml

from harness import provider_containers
from harness.dockerd import docker_available
from harness.provider_containers import backend_env, frontend_env, leftovers
from harness.config import StackConfig
from harness.stack import Stack

REPO_ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return data


def _fake_stack() -> Stack:
    return Stack(
        mode="containers",
        frontend_url="http://localhost:3000",
        backend_url="http://localhost:8000",
        database_url="postgresql+psycopg://postgres:pw@127.0.0.1:5432/tasks",
        issuer_url="http://127.0.0.1:9000",
        jwt_issuer="http://localhost:3000",
        jwt_audience="http://localhost:3000",
        trust="better-auth",
        jwks_url="http://localhost:3000/api/auth/jwks",
    )


def test_compose_services_start_in_order_with_health_checks() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "backend", "frontend", "issuer"}
    assert services["backend"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["frontend"]["depends_on"]["backend"]["condition"] == "service_healthy"
    assert services["issuer"]["profiles"] == ["issuer"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "/readyz" in " ".join(services["backend"]["healthcheck"]["test"])
    for name, service in services.items():
        assert service["image"] == f"tasks-{name}:latest"
        assert service["build"]["dockerfile"] == f"compose/{name}.Dockerfile"
        assert all(port.startswith("127.0.0.1:") for port in service["ports"])


def test_compose_environment_mirrors_the_provider() -> None:
    services = _compose()["services"]
    stack, config = _fake_stack(), StackConfig()
    assert set(services["backend"]["environment"]) == set(backend_env(stack, "db", "jwks", config))
    frontend = services["frontend"]["environment"]
    provider = frontend_env(stack, config, "db")
    assert set(frontend) == set(provider)
    for fixed in ("PORT", "HOSTNAME", "NODE_ENV", "NEXT_TELEMETRY_DISABLED"):
        assert frontend[fixed] == provider[fixed]
    # The dev stack trusts Better Auth's JWKS directly, overridable from .env.
    assert services["backend"]["environment"]["JWKS_URL"] == (
        "${JWKS_URL:-http://frontend:3000/api/auth/jwks}"
    )


def test_compose_requires_its_secrets() -> None:
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text
    assert "${BETTER_AUTH_SECRET:?" in text
    example = (REPO_ROOT / ".env.example").read_text()
    assert "POSTGRES_PASSWORD=" in example
    assert "BETTER_AUTH_SECRET=" in example


@pytest.fixture(scope="module")
def stack_name() -> str:
    return f"smoke-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def containers_stack(stack_name: str) -> Iterator[Stack]:
    if not docker_available():
        pytest.skip(
            "no Docker daemon answers (docker info failed): the containers provider needs one"
        )
    stack = provider_containers.up(
        StackConfig(name=stack_name, auth_rate_limit=False, jwks_cooldown_seconds=1)
    )
    try:
        yield stack
    finally:
        stack.down()


@pytest.mark.docker
def test_containers_stack_serves_a_minted_token_and_cleans_up(
    containers_stack: Stack, stack_name: str
) -> None:
    stack = containers_stack
    assert stack.mode == "containers"
    assert stack.frontend_url.startswith("http://localhost:")
    assert stack.jwt_issuer == stack.jwt_audience == stack.frontend_url

    with httpx.Client(timeout=15.0) as http:
        assert http.get(f"{stack.backend_url}/readyz").status_code == 200
        assert http.get(f"{stack.frontend_url}/api/health").status_code == 200

        sub = f"user-{uuid.uuid4().hex[:8]}"
        headers = {"Authorization": f"Bearer {stack.issuer.mint(sub)}"}
        tasks = f"{stack.backend_url}/api/{sub}/tasks"
        listed = http.get(tasks, headers=headers)
        assert listed.status_code == 200, listed.text
        assert listed.json()["items"] == []
        created = http.post(tasks, headers=headers, json={"title": "survives a restart"})
        assert created.status_code == 201, created.text

        # The database is reachable from the host at Stack.database_url.
        url = stack.database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM task").fetchone() == (1,)

        # Stop/start keeps the container: same published port, same data.
        assert provider_containers.ContainersController(stack).running() == {
            "postgres": True,
            "issuer": True,
            "frontend": True,
            "backend": True,
        }
        stack.stop("postgres")
        assert http.get(f"{stack.backend_url}/readyz").status_code == 503
        stack.start("postgres")
        assert http.get(f"{stack.backend_url}/readyz").status_code == 200
        again = http.get(tasks, headers=headers)
        assert [t["title"] for t in again.json()["items"]] == ["survives a restart"]

    assert any(leftovers(stack_name).values())
    stack.down()
    assert leftovers(stack_name) == {"containers": [], "networks": [], "volumes": []}
