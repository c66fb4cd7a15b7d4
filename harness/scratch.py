"""A scratch copy of the stack's sources, for hot-reload tests and the dev-loop benchmark:
edits land in the copy, never in the checkout.

The frontend's node_modules is hard-linked file by file (a copy where links cannot cross
file systems): Turbopack refuses a symlinked node_modules outside the project root.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness.paths import REPO_ROOT

# Outputs, dependencies and tests: not sources a dev stack serves.
_SKIP = shutil.ignore_patterns(
    "node_modules", ".next", "tests", "test-results", "coverage", "__pycache__", "*.db",
    "*.tsbuildinfo", ".venv",
)  # fmt: skip


def copy_sources(destination: Path, root: Path = REPO_ROOT) -> Path:
    """``root``'s frontend/ and backend/ copied under ``destination`` (returned), the
    frontend's node_modules linked into the copy."""
    destination.mkdir(parents=True, exist_ok=True)
    for part in ("frontend", "backend"):
        shutil.copytree(root / part, destination / part, ignore=_SKIP, symlinks=True)
    modules = root / "frontend" / "node_modules"
    try:
        shutil.copytree(modules, destination / "frontend" / "node_modules", symlinks=True,
                        copy_function=os.link)  # fmt: skip
    except OSError:
        shutil.rmtree(destination / "frontend" / "node_modules", ignore_errors=True)
        shutil.copytree(modules, destination / "frontend" / "node_modules", symlinks=True)
    return destination
