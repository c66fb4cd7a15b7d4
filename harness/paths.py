"""Where the stack's sources live: this checkout, or another copy of it (hot reload)."""

from __future__ import annotations

from pathlib import Path

from harness.config import StackConfig

REPO_ROOT = Path(__file__).resolve().parent.parent


def source_root(config: StackConfig) -> Path:
    """The tree whose ``frontend/`` and ``backend/`` a stack runs (default: this checkout)."""
    return Path(config.source_root).resolve() if config.source_root else REPO_ROOT
