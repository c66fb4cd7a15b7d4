"""The harness CLI as users run it: a subprocess, its output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from harness.cli import _without_password
from harness.durations import parse_duration


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        env={"HARNESS_HOME": str(home), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        check=False,
        timeout=60,
    )


def test_mint_token_prints_a_token_with_the_requested_claims(tmp_path: Path) -> None:
    done = run(
        "mint-token",
        "--sub",
        "u1",
        "--ttl",
        "2h",
        "--aud",
        "api",
        "--iss",
        "http://i",
        "--claim",
        "role=admin",
        "--claim",
        "level=3",
        home=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "u1"
    assert claims["aud"] == "api"
    assert claims["iss"] == "http://i"
    assert claims["role"] == "admin"
    assert claims["level"] == 3
    assert claims["exp"] - claims["iat"] == 7200


def test_minted_token_verifies_against_printed_jwks(tmp_path: Path) -> None:
    token = run("mint-token", "--sub", "u2", home=tmp_path).stdout.strip()
    keys = json.loads(run("jwks", home=tmp_path).stdout)
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in keys["keys"] if k["kid"] == kid)
    claims = jwt.decode(
        token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience="http://localhost:3000"
    )
    assert claims["sub"] == "u2"


def test_json_output_and_expired(tmp_path: Path) -> None:
    done = run("mint-token", "--sub", "u3", "--expired", "--json", home=tmp_path)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["header"]["alg"] == "RS256"
    assert body["claims"]["exp"] < body["claims"]["iat"]
    assert jwt.decode(body["token"], options={"verify_signature": False}) == body["claims"]


@pytest.mark.parametrize(
    "args",
    [
        ("mint-token",),
        ("mint-token", "--sub", "u", "--ttl", "soon"),
        ("mint-token", "--sub", "u", "--claim", "novalue"),
        ("up", "--trust", "nobody"),
        ("up", "--backend-workers", "0"),
        ("up", "--backend-workers", "many"),
        ("logs", "database"),
        ("no-such-command",),
    ],
)
def test_bad_arguments_exit_2_with_a_usage_or_error_line(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    done = run(*args, home=tmp_path)
    assert done.returncode == 2
    assert "Usage:" in done.stderr or "error:" in done.stderr
    assert "Traceback" not in done.stderr


def test_status_and_down_without_a_stack(tmp_path: Path) -> None:
    status = run("status", home=tmp_path)
    assert status.returncode == 3
    assert "no stack is up" in status.stderr
    down = run("down", home=tmp_path)
    assert down.returncode == 0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("30s", 30), ("2h", 7200), ("1d", 86400), ("90", 90), ("-5m", -300)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_parse_duration_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("5 minutes")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://postgres:s3cr@t-x@127.0.0.1:5432/tasks",
            "postgresql+psycopg://postgres:***@127.0.0.1:5432/tasks",
        ),
        ("postgresql://app:pw@[::1]:5432/db", "postgresql://app:***@[::1]:5432/db"),
        ("postgresql://app@db:5432/tasks", "postgresql://app@db:5432/tasks"),
        ("sqlite:///./todo.db", "sqlite:///./todo.db"),
    ],
)
def test_printed_database_url_hides_its_password(url: str, shown: str) -> None:
    assert _without_password(url) == shown
