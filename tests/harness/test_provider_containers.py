"""The Docker providers end to end: a real stack through the containers provider and one
through Docker Compose (docker-compose.yml), each served, forked, restarted and removed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from harness import dockerd
from harness.config import Mode, StackConfig
from harness.providers import start_stack
from harness.stack import Stack
from harness.waiting import http_ok, wait_for

pytestmark = pytest.mark.docker


def docker_or_skip(mode: Mode) -> None:
    reason = dockerd.compose_unavailable() if mode is Mode.COMPOSE else dockerd.daemon_unavailable()
    if reason is not None:
        pytest.skip(f"the {mode} provider needs Docker: {reason}")


@pytest.fixture(params=[Mode.CONTAINERS, Mode.COMPOSE], ids=str, scope="module")
def docker_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    mode: Mode = request.param
    docker_or_skip(mode)
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    stack = start_stack(
        mode, StackConfig(name=name, auth_rate_limit=False, jwks_cooldown_seconds=1)
    )
    try:
        yield stack
    finally:
        stack.down()


def test_stack_serves_forks_restarts_and_cleans_up(docker_stack: Stack) -> None:
    stack = docker_stack
    assert stack.frontend_url.startswith("http://localhost:")
    assert stack.jwt_issuer == stack.jwt_audience == stack.frontend_url
    assert all(facts.container for facts in stack.services.values())

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
            assert conn.execute(
                "SELECT count(*) FROM task WHERE user_id = %s", (sub,)
            ).fetchone() == (1,)

        # A fork: its own issuer and backend on the stack's network and database.
        fork = stack.fork(StackConfig(name="smoke-fork", jwks_cooldown_seconds=1))
        try:
            forked = {"Authorization": f"Bearer {fork.issuer.mint(sub)}"}
            seen = http.get(f"{fork.backend_url}/api/{sub}/tasks", headers=forked)
            assert [t["title"] for t in seen.json()["items"]] == ["survives a restart"]
            assert http.get(tasks, headers=forked).status_code == 401  # another issuer's key
            assert fork.running() == {"issuer": True, "backend": True}
        finally:
            fork.down()
        assert stack.running() == {name: True for name in stack.services}

        # Stop/start keeps the container: same published port, same data.
        stack.stop("postgres")
        assert stack.running()["postgres"] is False
        assert http.get(f"{stack.backend_url}/readyz").status_code == 503
        stack.start("postgres")
        # The backend reconnects by itself (one probe at a time), without a restart.
        wait_for(lambda: http_ok(f"{stack.backend_url}/readyz"), what="readyz", timeout=30)
        again = http.get(tasks, headers=headers)
        assert [t["title"] for t in again.json()["items"]] == ["survives a restart"]
        assert "GET /readyz 503" in stack.logs("backend")

    assert any(dockerd.leftovers(stack.name, stack.project).values())
    stack.down()
    left = dockerd.leftovers(stack.name, stack.project)
    assert left == {"containers": [], "networks": [], "volumes": []}
