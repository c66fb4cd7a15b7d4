"""A scratch copy of the stack's sources, for hot-reload tests and the dev-loop benchmark:
edits land in the copy, never in the checkout.

The frontend's node_modules is hard-linked file by file (a copy where links cannot cross
file systems): Turbopack refuses a symlinked node_modules outside the project root.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx

from harness.paths import REPO_ROOT
from harness.waiting import poll

# Outputs, dependencies and tests: not sources a dev stack serves.
_SKIP = shutil.ignore_patterns(
    "node_modules", ".next", "tests", "test-results", "coverage", "__pycache__", "*.db",
    "*.tsbuildinfo", ".venv",
)  # fmt: skip
PROBE = "hot-probe"


# Besides frontend/ and backend/: what the images' builds read (Dockerfiles, the issuer).
_BUILD_CONTEXT = (
    ".dockerignore", "compose", "harness/__init__.py", "harness/errors.py",
    "harness/serving.py", "harness/issuer",
)  # fmt: skip


class ScratchSources:
    """``root``'s frontend/ and backend/ (and the images' build context) copied under
    ``destination``: a stack started with ``source_root=destination`` serves and builds
    from the copy."""

    def __init__(self, destination: Path, root: Path = REPO_ROOT) -> None:
        self.root = destination
        destination.mkdir(parents=True, exist_ok=True)
        for part in ("frontend", "backend", *_BUILD_CONTEXT):
            source, target = root / part, destination / part
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=_SKIP, symlinks=True)
            elif source.exists():
                shutil.copy2(source, target)
        modules, target = (
            root / "frontend" / "node_modules",
            destination / "frontend" / "node_modules",
        )
        try:
            shutil.copytree(modules, target, symlinks=True, copy_function=os.link)
        except OSError:
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(modules, target, symlinks=True)

    def write_page(self, marker: str) -> str:
        """A page at ``/hot-probe`` showing ``marker`` (new, or changed); its path."""
        page = self.root / "frontend" / "app" / PROBE / "page.tsx"
        page.parent.mkdir(exist_ok=True)
        page.write_text(f"export default function Probe() {{\n  return <p>{marker}</p>;\n}}\n")
        return f"/{PROBE}"

    def write_route(self, marker: str) -> str:
        """A backend route ``GET /hot-probe`` answering ``marker`` (new, or changed); its path.

        Added where the health routes are registered (``add_health_routes``, which the app
        factory imports from that module), as a developer would add a route."""
        module = self.root / "backend" / "todo_api" / "routes" / "health.py"
        text = module.read_text().split(f"\n\n# {PROBE}\n", 1)[0]
        module.write_text(
            f"{text}\n\n# {PROBE}\n"
            f"async def hot_probe() -> dict[str, str]:\n"
            f'    return {{"marker": "{marker}"}}\n\n\n'
            "_add_without_probe = add_health_routes\n\n\n"
            "def add_health_routes(app: FastAPI) -> None:\n"
            "    _add_without_probe(app)\n"
            f'    app.add_api_route("/{PROBE}", hot_probe, methods=["GET"])\n'
        )
        return f"/{PROBE}"


def seconds_until_served(url: str, marker: str, *, since: float, timeout: float) -> float:
    """Poll ``url`` until its body shows ``marker``; seconds from ``since`` (a monotonic time).
    TimeoutError after ``timeout`` seconds."""
    with httpx.Client(timeout=30.0) as http:

        def served() -> float | None:
            try:
                if marker in http.get(url).text:
                    return time.monotonic() - since
            except httpx.HTTPError:
                pass  # restarting: not served yet
            return None

        remaining = max(0.0, since + timeout - time.monotonic())
        return poll(served, what=f"{url} to show {marker!r}", timeout=remaining)
