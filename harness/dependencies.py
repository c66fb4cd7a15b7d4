"""What hot reload cannot pick up: dependency manifests, lockfiles and the frontend's
top-level configuration. Their digests are kept with a hot-reload stack, so `harness
status` can say what to run when one changed since it started."""

from __future__ import annotations

import hashlib
from pathlib import Path

# Relative to the stack's source root.
NOT_RELOADED = (
    "frontend/package.json",
    "frontend/package-lock.json",
    "frontend/next.config.ts",
    "frontend/proxy.ts",
    "frontend/instrumentation.ts",
    "backend/pyproject.toml",
    "backend/requirements.lock",
    "requirements.lock",
)


def digests(root: Path) -> dict[str, str]:
    found = {}
    for rel in NOT_RELOADED:
        path = root / rel
        if path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return found


def changed_since(root: Path, recorded: dict[str, str]) -> list[str]:
    """Files whose content differs from ``recorded`` (or appeared, or went away)."""
    now = digests(root)
    return sorted(rel for rel in set(now) | set(recorded) if now.get(rel) != recorded.get(rel))


def advice(changed: list[str], local: bool) -> str:
    """One line: what changed and what to run."""
    install = (
        "make install && "
        if local and any("lock" in c or "package" in c or "pyproject" in c for c in changed)
        else ""
    )
    return (
        f"{', '.join(changed)} changed since the hot-reload stack started (hot reload does "
        f"not pick that up): run `{install}make down && make dev`"
    )
