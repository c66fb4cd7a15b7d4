"""The harness's settings: read from the environment in one place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.config import ModeChoice
from harness.errors import UsageError
from harness.paths import REPO_ROOT
from harness.settings import HarnessSettings


def test_defaults() -> None:
    found = HarnessSettings.from_env({})
    assert found.home == Path(".harness").resolve()
    assert found.env_file == REPO_ROOT / ".env"
    assert found.mode is ModeChoice.AUTO
    assert found.chromium is None
    assert found.pg_bin is None
    assert found.ca_certs == ()


def test_every_variable(tmp_path: Path) -> None:
    found = HarnessSettings.from_env(
        {
            "HARNESS_HOME": str(tmp_path),
            "HARNESS_ENV_FILE": str(tmp_path / "dev.env"),
            "HARNESS_MODE": "local",
            "HARNESS_CHROMIUM": "/usr/bin/chromium",
            "HARNESS_PG_BIN": "/usr/lib/postgresql/17/bin",
            "HARNESS_CA_CERTS": os.pathsep.join(["/a.crt", "/certs"]),
            "SSL_CERT_FILE": "/bundle.pem",
            "NODE_EXTRA_CA_CERTS": "/node.pem",
        }
    )
    assert found.home == tmp_path
    assert found.env_file == tmp_path / "dev.env"
    assert found.mode is ModeChoice.LOCAL
    assert found.chromium == "/usr/bin/chromium"
    assert found.pg_bin == Path("/usr/lib/postgresql/17/bin")
    assert found.ca_certs == tuple(map(Path, ("/a.crt", "/certs", "/node.pem", "/bundle.pem")))


def test_an_unknown_mode_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="HARNESS_MODE='docker': use one of auto, local"):
        HarnessSettings.from_env({"HARNESS_MODE": "docker"})
