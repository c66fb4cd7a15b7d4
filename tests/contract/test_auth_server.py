"""Better Auth as deployed: limits shared by replicas, a clear stop on a changed secret.

Extra frontend processes (``next start``'s standalone server) run beside the stack's own,
on the stack's database, so they behave as replicas of it. They are processes of this
machine: with the containers provider the test is skipped (the same image's behaviour is
covered by the local provider's run of this file).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from faker import Faker

from harness.config import Mode
from harness.demo import frontend_client
from harness.paths import REPO_ROOT
from harness.ports import free_port
from harness.providers.local import standalone_server
from harness.stack import Stack
from harness.waiting import http_ok, wait_for

SIGN_IN_LIMIT = 10  # per minute and client address (docs/frontend.md)
START_TIMEOUT = 60.0


@dataclass
class Replica:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


Launcher = Callable[..., AbstractContextManager[Replica]]


@pytest.fixture
def replica(stack: Stack, tmp_path: Path) -> Launcher:
    if stack.mode != Mode.LOCAL:
        pytest.skip("starts frontend processes beside the stack: local provider only")
    node = shutil.which("node")
    server = standalone_server(REPO_ROOT / "frontend")
    if node is None or not server.exists():
        pytest.skip("the frontend's standalone build is not there")

    @contextmanager
    def start(*, secret: str | None = None, wait: bool = True) -> Iterator[Replica]:
        port = free_port()
        url = f"http://localhost:{port}"
        log = tmp_path / f"frontend-{port}.log"
        env = {
            **os.environ,
            "PORT": str(port),
            "HOSTNAME": "127.0.0.1",
            "NODE_ENV": "production",
            "NEXT_TELEMETRY_DISABLED": "1",
            "DATABASE_URL": stack.database_url,
            "BETTER_AUTH_URL": url,
            "BETTER_AUTH_SECRET": secret or stack.secrets.auth_secret,
            "JWT_ISSUER": stack.jwt_issuer,
            "JWT_AUDIENCE": stack.jwt_audience,
            "AUTH_RATE_LIMIT": "on",
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [node, str(server)],
                cwd=server.parent,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        running = Replica(url, process, log)
        try:
            if wait:
                _wait_healthy(running)
            yield running
        finally:
            _stop(process)

    return start


def _wait_healthy(replica: Replica) -> None:
    def gone() -> str | None:
        code = replica.process.poll()
        return None if code is None else f"exited with {code}"

    wait_for(
        lambda: http_ok(f"{replica.url}/api/health"),
        what="frontend replica",
        timeout=START_TIMEOUT,
        gone=gone,
        logs=replica.output,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def sign_in(url: str, client_ip: str, email: str) -> int:
    response = httpx.post(
        f"{url}/api/auth/sign-in/email",
        json={"email": email, "password": "not-the-password"},
        headers={"Origin": url, "X-Forwarded-For": client_ip},
        timeout=30,
    )
    return response.status_code


def test_two_frontend_processes_share_one_sign_in_limit(
    replica: Launcher, faker_session: Faker
) -> None:
    """With PostgreSQL the counters live in the database: a second replica does not double
    the attempts a client gets (in process memory each counted alone)."""
    # A documentation address of its own: earlier runs' counters cannot interfere.
    client_ip = f"198.51.100.{secrets.randbelow(254) + 1}"
    email = faker_session.unique.email()
    with replica() as first, replica() as second:
        statuses = [
            sign_in((first if n % 2 == 0 else second).url, client_ip, email)
            for n in range(SIGN_IN_LIMIT + 2)
        ]
    assert statuses[:SIGN_IN_LIMIT] == [401] * SIGN_IN_LIMIT, statuses
    assert statuses[SIGN_IN_LIMIT:] == [429, 429], statuses


def test_a_changed_secret_stops_the_frontend_with_one_clear_line(
    stack: Stack, replica: Launcher
) -> None:
    # The stack's signing key exists once its JWKS has been asked for.
    with frontend_client(stack) as web:
        assert web.get("/api/auth/jwks").status_code == 200
    with replica(secret=f"another-secret-{secrets.token_hex(16)}", wait=False) as changed:
        assert changed.process.wait(timeout=START_TIMEOUT) == 1, changed.output()
    failures = [line for line in changed.output().splitlines() if "auth startup failed" in line]
    assert len(failures) == 1, changed.output()
    assert "BETTER_AUTH_SECRET cannot decrypt the signing key" in failures[0]
    assert "docs/frontend.md" in failures[0]
