"""`.env` for a developer's stack: created once with fresh secrets, never rewritten."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from harness.envfile import GENERATED, ensure_env_file
from harness.errors import UsageError


def test_created_with_random_secrets_then_left_alone(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    said: list[str] = []
    first = ensure_env_file(path, announce=said.append)
    assert said == ["created .env from .env.example with fresh random secrets"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for name in GENERATED:
        assert len(first[name]) >= 16, name
    assert len({first[name] for name in GENERATED}) == len(GENERATED)
    text = path.read_text()
    # No secret is ever printed: the announcement names the file only.
    assert not any(first[name] in " ".join(said) for name in GENERATED)

    again = ensure_env_file(path, announce=said.append)
    assert again == first
    assert path.read_text() == text
    assert len(said) == 1

    other = ensure_env_file(tmp_path / "other.env")
    assert all(other[name] != first[name] for name in GENERATED)


def test_an_existing_file_missing_a_secret_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("POSTGRES_PASSWORD=kept\nBETTER_AUTH_SECRET=\n")
    with pytest.raises(UsageError, match="BETTER_AUTH_SECRET, DEMO_PASSWORD"):
        ensure_env_file(path)
    assert path.read_text() == "POSTGRES_PASSWORD=kept\nBETTER_AUTH_SECRET=\n"
