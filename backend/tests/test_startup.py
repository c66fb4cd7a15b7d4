"""Process-level behaviour: configuration errors, JSON logs, migrations beside Better Auth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError
from sqlmodel import SQLModel
from todo_api.migrate import upgrade
from todo_api.settings import Settings, describe_error

from harness.issuer import Issuer, IssuerServer
from harness.ports import free_port

BACKEND_DIR = Path(__file__).resolve().parents[1]
REQUIRED = {"JWKS_URL": "http://127.0.0.1:9/jwks", "JWT_ISSUER": "a", "JWT_AUDIENCE": "b"}
REQUIRED_FIELDS = {name.lower(): value for name, value in REQUIRED.items()}


def _clean_env(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in REQUIRED}
    for name in (
        "DATABASE_URL",
        "JWT_ALGORITHMS",
        "JWT_LEEWAY_SECONDS",
        "LOG_LEVEL",
        "WEB_CONCURRENCY",
        "CORS_ORIGINS",
        "FORWARDED_ALLOW_IPS",
    ):
        env.pop(name, None)
    env.update(values)
    return env


def _import_app(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import todo_api.main"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_missing_settings_fail_with_one_line_naming_them() -> None:
    done = _import_app(_clean_env())
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("configuration error: ")
    for name in REQUIRED:
        assert f"{name}: Field required" in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JWT_LEEWAY_SECONDS", "60"),
        ("JWT_ALGORITHMS", "HS256"),
        ("JWT_ALGORITHMS", "none"),
        ("JWKS_URL", "file:///etc/passwd"),
        ("DATABASE_URL", "mysql://admin:s3cret@db/tasks"),
        ("JWKS_COOLDOWN_SECONDS", "soon"),
        ("LOG_LEVEL", "chatty"),
        ("MIGRATE_ON_START", "perhaps"),
    ],
)
def test_malformed_setting_fails_with_one_line_naming_it(name: str, value: str) -> None:
    done = _import_app(_clean_env(**{**REQUIRED, name: value}))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"configuration error: {name}: ")
    assert "s3cret" not in done.stderr  # values (and so passwords) are never echoed


@contextmanager
def _backend(tmp_path: Path, issuer: Issuer, **env: str) -> Iterator[_Backend]:
    """uvicorn serving todo_api.main:app as documented, trusting `issuer`'s JWKS."""
    port = free_port()
    with IssuerServer(issuer) as jwks:
        environment = _clean_env(
            JWKS_URL=jwks.jwks_url,
            JWT_ISSUER=issuer.issuer,
            JWT_AUDIENCE=issuer.audience,
            DATABASE_URL=f"sqlite:///{tmp_path / 'todo.db'}",
        )
        environment.pop("FORWARDED_ALLOW_IPS", None)
        environment.update(env)
        command = [sys.executable, "-m", "uvicorn", "todo_api.main:app", "--port", str(port)]
        server = subprocess.Popen(
            command, env=environment, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        running = _Backend(f"http://127.0.0.1:{port}")
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{running.url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, "backend exited"
                assert time.monotonic() < deadline, "backend did not start"
                time.sleep(0.05)
            yield running
        finally:
            server.terminate()
            _, running.stderr = server.communicate(timeout=30)


@dataclass
class _Backend:
    url: str
    stderr: str = ""

    def log(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stderr.splitlines() if line.strip()]

    def audit(self) -> dict[str, dict[str, Any]]:
        return {
            line["event"]: line for line in self.log() if line.get("logger") == "todo_api.audit"
        }


def test_server_logs_json_lines_with_audit_and_never_a_token(tmp_path: Path) -> None:
    issuer = Issuer("http://localhost:3000")
    good = issuer.mint("alice")
    expired = issuer.mint("alice", ttl=-600)
    with _backend(tmp_path, issuer) as backend:
        base = backend.url
        assert (
            httpx.get(
                f"{base}/api/alice/tasks", headers={"Authorization": f"Bearer {good}"}
            ).status_code
            == 200
        )
        assert (
            httpx.get(
                f"{base}/api/bob/tasks", headers={"Authorization": f"Bearer {good}"}
            ).status_code
            == 403
        )
        assert (
            httpx.get(
                f"{base}/api/alice/tasks", headers={"Authorization": f"Bearer {expired}"}
            ).status_code
            == 401
        )
    lines = backend.log()
    assert lines, "no log output"
    assert good not in backend.stderr
    assert expired not in backend.stderr
    events = backend.audit()
    assert events["access_denied"]["sub"] == "alice"
    assert events["access_denied"]["path_user_id"] == "bob"
    assert events["auth_failed"]["reason"] == "expired"
    for line in events.values():
        assert {"event", "sub", "path_user_id", "method", "path", "client_ip", "request_id"} <= set(
            line
        )
    assert any(line.get("logger") == "todo_api.access" for line in lines)
    # Started without FORWARDED_ALLOW_IPS: uvicorn's loopback default is named at start-up.
    assert any("FORWARDED_ALLOW_IPS is not set" in line["message"] for line in lines)


@pytest.mark.parametrize(
    ("trusted", "client_ip"),
    [("", "127.0.0.1"), ("127.0.0.1", "203.0.113.7")],
    ids=["no-proxy-trusted", "loopback-proxy-trusted"],
)
def test_forwarded_for_counts_only_from_a_trusted_proxy(
    tmp_path: Path, trusted: str, client_ip: str
) -> None:
    """Audit lines name the peer unless it is a proxy listed in FORWARDED_ALLOW_IPS."""
    issuer = Issuer("http://localhost:3000")
    token = issuer.mint("alice")
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": "203.0.113.7"}
    with _backend(tmp_path, issuer, FORWARDED_ALLOW_IPS=trusted) as backend:
        assert httpx.get(f"{backend.url}/api/bob/tasks", headers=headers).status_code == 403
    assert backend.audit()["access_denied"]["client_ip"] == client_ip
    assert not any("FORWARDED_ALLOW_IPS" in line["message"] for line in backend.log())


def _settings(name: str, value: str) -> Settings:
    values: dict[str, Any] = {**REQUIRED_FIELDS, name: value}
    return Settings(**values)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("cors_origins", "*", "'*' is not allowed"),
        ("cors_origins", "http://localhost:3000,*", "'*' is not allowed"),
        ("cors_origins", "null", "is not an origin"),
        ("cors_origins", "https://app.example/", "is not an origin"),
        ("cors_origins", "https://app.example/tasks", "is not an origin"),
        ("cors_origins", "https://user@app.example", "is not an origin"),
        ("cors_origins", "https://App.Example", "is not an origin"),
        ("cors_origins", "https://app.example:99999", "is not an origin"),
        ("forwarded_allow_ips", "proxy.internal", "is not an IP address or network"),
        ("jwt_max_lifetime_seconds", "10", "greater than or equal to 60"),
        ("jwt_max_lifetime_seconds", "999999", "less than or equal to 86400"),
    ],
)
def test_unsafe_or_malformed_settings_are_refused(name: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _settings(name, value)
    described = describe_error(refused.value)
    assert described.startswith(f"{name.upper()}: ")
    assert message in described


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("cors_origins", "http://localhost:3000, https://app.example:8443", None),
        ("cors_origins", "http://[::1]:3000", None),
        ("forwarded_allow_ips", "", []),
        ("forwarded_allow_ips", "10.0.0.0/8, 192.0.2.1, ::1", None),
        ("forwarded_allow_ips", "*", None),
    ],
)
def test_valid_proxy_and_origin_settings_are_kept(
    name: str, value: str, expected: list[str] | None
) -> None:
    settings = _settings(name, value)
    kept = getattr(settings, name)
    assert kept == (expected if expected is not None else [v.strip() for v in value.split(",")])


def test_wildcard_cors_origin_stops_the_process() -> None:
    done = _import_app(_clean_env(**{**REQUIRED, "CORS_ORIGINS": "*"}))
    assert done.returncode == 2
    assert done.stderr.strip().startswith("configuration error: CORS_ORIGINS: ")


def _wait_ready(base: str, server: subprocess.Popen[str]) -> None:
    # Generous: several workers import the app at once on a shared, busy machine.
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, "backend exited"
        assert time.monotonic() < deadline, "backend did not start"
        time.sleep(0.05)


def test_launcher_migrates_once_then_serves_with_several_workers(tmp_path: Path) -> None:
    issuer = Issuer("http://localhost:3000")
    port = free_port()
    with IssuerServer(issuer) as jwks:
        env = _clean_env(
            JWKS_URL=jwks.jwks_url,
            JWT_ISSUER=issuer.issuer,
            JWT_AUDIENCE=issuer.audience,
            DATABASE_URL=f"sqlite:///{tmp_path / 'todo.db'}",
            WEB_CONCURRENCY="2",
        )
        command = [sys.executable, "-m", "todo_api.serve", "--port", str(port)]
        server = subprocess.Popen(
            command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(base, server)
            auth = {"Authorization": f"Bearer {issuer.mint('alice')}"}
            for _ in range(4):  # new connections: the workers share the listening socket
                created = httpx.post(f"{base}/api/alice/tasks", json={"title": "t"}, headers=auth)
                assert created.status_code == 201
            listed = httpx.get(f"{base}/api/alice/tasks", headers=auth).json()
            assert listed["total"] == 4
        finally:
            server.terminate()
            _, stderr = server.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    messages = [line["message"] for line in lines]
    assert messages.count("database migrated to head") == 1
    serving = [line for line in lines if line["message"] == "serving"]
    assert [line["workers"] for line in serving] == [2]
    started = {message for message in messages if message.startswith("Started server process")}
    assert len(started) == 2  # one line per worker, each with its own pid


@pytest.mark.parametrize("value", ["0", "many"])
def test_launcher_refuses_a_bad_worker_count(value: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "todo_api.serve"],
        env=_clean_env(**REQUIRED, WEB_CONCURRENCY=value),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "WEB_CONCURRENCY" in done.stderr


def test_launcher_reports_missing_settings_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "todo_api.serve"],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("configuration error: ")
    assert len(done.stderr.strip().splitlines()) == 1


BETTER_AUTH_TABLES = {
    "user": 'CREATE TABLE IF NOT EXISTS "user" (id TEXT PRIMARY KEY, email TEXT)',
    "session": 'CREATE TABLE IF NOT EXISTS "session" (id TEXT PRIMARY KEY, "userId" TEXT)',
    "jwks": 'CREATE TABLE IF NOT EXISTS "jwks" (id TEXT PRIMARY KEY, "publicKey" TEXT)',
}


def test_migrations_leave_better_auth_tables_alone(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            for statement in BETTER_AUTH_TABLES.values():
                connection.execute(sa.text(statement))
        upgrade(database_url)
        upgrade(database_url)  # idempotent
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            assert {"task", "alembic_version", *BETTER_AUTH_TABLES} <= tables
            context = MigrationContext.configure(
                connection,
                opts={
                    "include_name": lambda name, type_, _: (
                        type_ != "table" or name in SQLModel.metadata.tables
                    ),
                },
            )
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_serving_process_freezes_start_up_objects_out_of_the_collector(tmp_path: Path) -> None:
    script = (
        "import gc, todo_api.main\n"
        "from todo_api.gc_tuning import MIDDLE_THRESHOLD, OLD_THRESHOLD, YOUNG_THRESHOLD\n"
        "assert gc.get_threshold() == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
        # A cycle made while serving is still collected.
        "import weakref\n"
        "class Node: pass\n"
        "a = Node(); a.self = a; gone = weakref.ref(a); del a\n"
        "gc.collect(0)\n"
        "assert gone() is None\n"
    )
    env = _clean_env(**REQUIRED, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}")
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
