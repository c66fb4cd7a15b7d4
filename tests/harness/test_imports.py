"""The harness's module graph: no module imports one that imports it back, and a command
loads only what it uses (the CLI must start fast)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "harness"


def module_name(path: Path) -> str:
    parts = path.relative_to(HARNESS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def harness_imports(path: Path) -> set[str]:
    """Harness modules ``path`` imports at run time (``if TYPE_CHECKING:`` blocks are not)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("harness"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness"):
            found.add(node.module)
            # `from harness import dockerd` imports the module harness.dockerd.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in HARNESS.rglob("*.py")}
    return {name: harness_imports(path) & set(modules) for name, path in modules.items()}


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for target in edges.get(node, ()):
            if target == path[0]:
                cycles.append([*path, target])
            elif target not in path and len(path) < 12:
                visit(target, [*path, target])

    for start in edges:
        visit(start, [start])
    assert not cycles, cycles[:5]


@pytest.mark.parametrize(
    ("command", "unwanted"),
    [
        ("import harness", ["harness.stack", "httpx", "docker"]),
        ("import harness.cli", ["docker", "harness.providers", "httpx", "pydantic", "jwt", "rich"]),
        ("import harness.issuer", ["httpx", "uvicorn", "starlette"]),
    ],
)
def test_imports_load_only_what_they_use(command: str, unwanted: list[str]) -> None:
    check = f"{command}; import sys; print(sorted(m for m in {unwanted!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
