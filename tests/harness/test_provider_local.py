"""Local provider smoke tests, driven as users drive it: `harness up/status/down` in a
subprocess, then the stack over HTTP. Each test starts its own stack on free ports."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from faker import Faker

from harness.config import Mode, StackConfig, Trust
from harness.demo import frontend_client
from harness.processes import alive
from harness.providers import start_stack
from harness.pytest_plugin import sign_up
from harness.stack import Stack


def harness(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HARNESS_HOME": str(home), "HARNESS_ENV_FILE": str(home / ".env")}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1"},
        check=False,
        timeout=600,
    )


def test_cli_up_mint_restart_down_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path))
    up = harness(
        "up", "--mode", "local", "--json", "--trust", "both",
        "--frontend-port", "0", "--backend-port", "0", "--issuer-port", "0",
        home=tmp_path,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    assert "created .env from .env.example" in up.stderr
    env_file = tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    summary = json.loads(up.stdout)
    for key in ("mode", "frontend_url", "backend_url", "database_url", "issuer_url"):
        assert summary[key], key
    assert summary["mode"] == "local"
    saved = Stack.from_state(json.loads((tmp_path / "stack.json").read_text()))
    assert saved.demo is not None
    try:
        with httpx.Client(timeout=15.0) as http:
            assert http.get(f"{saved.backend_url}/readyz").status_code == 200
            assert http.get(f"{saved.frontend_url}/api/health").status_code == 200

            # The demo account was signed up through Better Auth, with .env's password.
            with frontend_client(saved) as auth:
                body = {"email": saved.demo.email, "password": saved.demo.password}
                assert auth.post("/api/auth/sign-in/email", json=body).status_code == 200
            assert f"DEMO_PASSWORD={saved.demo.password}" in env_file.read_text()

            sub = f"user-{uuid.uuid4().hex[:8]}"
            minted = harness("mint-token", "--sub", sub, home=tmp_path)
            assert minted.returncode == 0, minted.stderr
            headers = {"Authorization": f"Bearer {minted.stdout.strip()}"}
            tasks = f"{saved.backend_url}/api/{sub}/tasks"
            assert http.get(tasks, headers=headers).status_code == 200
            other = f"{saved.backend_url}/api/someone-else/tasks"
            assert http.get(other, headers=headers).status_code == 403

            status = harness("status", "--json", home=tmp_path)
            assert status.returncode == 0, status.stderr
            assert json.loads(status.stdout)["services"] == {
                "postgres": True, "issuer": True, "backend": True, "frontend": True,
            }  # fmt: skip

            # A restart from this process must be visible to `harness down` in another.
            old_pid = saved.services["backend"].pid
            saved.stop("backend")
            saved.start("backend")
            resaved = Stack.from_state(json.loads((tmp_path / "stack.json").read_text()))
            assert resaved.services["backend"].pid not in (None, old_pid)
            assert http.get(tasks, headers=headers).status_code == 200

            second = harness("up", "--mode", "local", home=tmp_path)
            assert second.returncode == 1
            assert "already up" in second.stderr
    finally:
        down = harness("down", home=tmp_path)
    assert down.returncode == 0, down.stderr
    pids = [facts.pid for facts in resaved.services.values() if facts.pid is not None]
    assert pids
    assert not [pid for pid in pids if alive(pid)]
    assert resaved.run_dir is not None
    assert not Path(resaved.run_dir).exists()
    assert not (tmp_path / "stack.json").exists()


@pytest.fixture
def real_flow_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path))
    stack = start_stack(Mode.LOCAL, StackConfig(trust=Trust.BETTER_AUTH, name="smoke"))
    try:
        yield stack
    finally:
        stack.down()


def test_better_auth_trust_accepts_real_tokens_only(real_flow_stack: Stack) -> None:
    stack = real_flow_stack
    assert stack.jwks_url.endswith("/api/auth/jwks")
    assert stack.demo is None  # test stacks never get the demo account
    real_user = sign_up(stack, Faker())
    with httpx.Client(base_url=stack.backend_url, timeout=15.0) as api:
        real = api.get(real_user.tasks_path, headers=real_user.headers)
        assert real.status_code == 200, real.text
        minted = stack.issuer.mint(real_user.id)
        refused = api.get(real_user.tasks_path, headers={"Authorization": f"Bearer {minted}"})
        # Refused: 401, or 503 + Retry-After while the JWKS cool-down that began with the real
        # token's fetch forbids the fetch that could look for the mock issuer's kid.
        assert refused.status_code in (401, 503), refused.text
        if refused.status_code == 503:
            assert int(refused.headers["retry-after"]) >= 1
