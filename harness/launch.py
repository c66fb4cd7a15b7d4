"""Pick a provider and start a stack: the one entry point for the CLI and the pytest plugin."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Literal

from harness.stack import Mode, Stack, StackConfig

ModeChoice = Literal["auto", "containers", "local"]


def docker_available() -> bool:
    """True when a Docker daemon answers (not merely when the client is installed)."""
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def resolve_mode(choice: ModeChoice | str) -> tuple[Mode, str]:
    """The provider to use and a sentence saying why (printed, so users know which ran)."""
    choice = choice or os.environ.get("HARNESS_MODE", "auto")
    if choice == "local":
        return "local", "local processes (asked for)"
    if choice == "containers":
        return "containers", "containers (asked for)"
    if choice != "auto":
        raise ValueError(f"unknown mode {choice!r}: use auto, containers or local")
    if docker_available():
        return "containers", "containers (a Docker daemon answers)"
    return "local", "local processes (no Docker daemon answers)"


def start_stack(
    mode: Mode, config: StackConfig, progress: Callable[[str], None] = lambda _: None
) -> Stack:
    if mode == "local":
        from harness import provider_local

        return provider_local.up(config, progress)
    from harness import provider_containers

    return provider_containers.up(config, progress)
