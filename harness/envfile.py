"""The developer's ``.env``: created from ``.env.example`` with fresh secrets when missing.

``docker compose`` reads the same file, so every provider's developer stack and a plain
``docker compose up`` agree on the secrets. An existing ``.env`` is never rewritten.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from harness.config import StackConfig
from harness.errors import UsageError
from harness.paths import REPO_ROOT
from harness.services import Secrets
from harness.settings import settings

# Filled with random values when `.env` is created (never printed).
GENERATED = ("POSTGRES_PASSWORD", "BETTER_AUTH_SECRET", "DEMO_PASSWORD")
DEMO_EMAIL = "demo@example.com"


def ensure_env_file(
    path: Path | None = None, *, announce: Callable[[str], None] = lambda _: None
) -> dict[str, str]:
    """The values in ``.env`` (``HARNESS_ENV_FILE``), created from the repository's
    ``.env.example`` first if it is missing."""
    path = settings().env_file if path is None else path
    if not path.exists():
        example = REPO_ROOT / ".env.example"
        if not example.exists():
            raise UsageError(f"{example} is missing: cannot create {path}")
        lines = []
        for line in example.read_text().splitlines():
            name = line.partition("=")[0].strip()
            if name in GENERATED and not line.lstrip().startswith("#"):
                # The demo password is typed by people: shorter, still 96 random bits.
                size = 12 if name == "DEMO_PASSWORD" else 32
                line = f"{name}={secrets.token_urlsafe(size)}"
            lines.append(line)
        # The secrets are readable by the owner only; `x` fails if another process won.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write("\n".join(lines) + "\n")
            announce(f"created {path.name} from {example.name} with fresh random secrets")
    return read_env_file(path)


def read_env_file(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    values = {name: value for name, value in dotenv_values(path).items() if value is not None}
    missing = [name for name in GENERATED if not values.get(name)]
    if missing:
        raise UsageError(
            f"{path} has no value for {', '.join(missing)}: add one (e.g. "
            '`python3 -c "import secrets; print(secrets.token_urlsafe(32))"`) or delete '
            f"{path.name} to have it created"
        )
    return values


def stack_secrets(config: StackConfig, announce: Callable[[str], None] = lambda _: None) -> Secrets:
    """A developer's stack keeps ``.env``'s secrets; a test stack gets fresh ones per run."""
    if not config.development:
        return Secrets.generate()
    values = ensure_env_file(announce=announce)
    return Secrets(values["POSTGRES_PASSWORD"], values["BETTER_AUTH_SECRET"])
