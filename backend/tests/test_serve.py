"""The launcher (`python -m todo_api.serve`): what its workers are started with."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from todo_api import serve


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Runs `serve.main` with uvicorn replaced; returns uvicorn's arguments."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'todo.db'}")
    monkeypatch.setenv("JWKS_URL", "http://127.0.0.1:9/jwks")
    monkeypatch.setenv("JWT_ISSUER", "http://localhost:3000")
    monkeypatch.setenv("JWT_AUDIENCE", "http://localhost:3000")
    monkeypatch.setenv("MIGRATE_ON_START", "false")
    monkeypatch.delenv("DPOP_NONCE_SECRET", raising=False)
    called: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: called.update(options))
    # main() writes into os.environ for the workers; monkeypatch restores it afterwards.
    for name in ("MIGRATE_ON_START", "DPOP_NONCE_SECRET"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    return called


def test_workers_share_one_nonce_secret(launched: dict[str, Any]) -> None:
    serve.main(["--workers", "3"])
    assert launched["workers"] == 3
    secret = os.environ["DPOP_NONCE_SECRET"]
    assert len(secret) >= 32
    assert os.environ["MIGRATE_ON_START"] == "false"


def test_a_configured_nonce_secret_is_kept(
    launched: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DPOP_NONCE_SECRET", "configured-secret-of-the-deployment")
    serve.main(["--workers", "2"])
    assert os.environ["DPOP_NONCE_SECRET"] == "configured-secret-of-the-deployment"


def test_hot_reload_runs_one_process(launched: dict[str, Any], tmp_path: Path) -> None:
    serve.main(["--workers", "4", "--reload-dir", str(tmp_path)])
    assert launched["workers"] == 1
    assert launched["reload"] is True
