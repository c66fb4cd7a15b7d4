"""The GitHub Actions workflow runs nothing that `make test` does not run here.

No GitHub runner is reachable from the machines this is built on, so what the workflow
runs is checked here instead: each ``run:`` is one make target (with variables), and every
such target is one scripts/test_all.py runs -- or, for ``make lint``, each of its commands
is one of test_all's lint steps. actionlint checks the rest (``make lint``).
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
# `make test` depends on `install` (Makefile), so it always runs first.
RUN_BY_MAKE_TEST = {"install"}
# ${{ matrix.shard }} and the like: a value, whatever it holds.
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def load_test_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("test_all", REPO_ROOT / "scripts" / "test_all.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def workflow_commands() -> list[list[str]]:
    jobs: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    return [
        shlex.split(EXPRESSION.sub("1", step["run"]))
        for job in jobs.values()
        for step in job["steps"]
        if "run" in step
    ]


def make_dry_run(target: str) -> list[str]:
    """The commands of ``make target`` (its install prerequisite taken as done)."""
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "-o", "install", "-o", ".venv/.installed", target],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    commands: list[str] = []
    for line in done.stdout.splitlines():
        first, *rest = [part.strip() for part in line.split("&&")]
        if first.startswith("cd ") and rest:  # `cd frontend && a && b`: a and b, in frontend
            commands += [f"{first} && {part}" for part in rest]
        else:
            commands.append(line.strip())
    return commands


@pytest.fixture(scope="module")
def plan(monkeypatch_module: pytest.MonkeyPatch) -> tuple[ModuleType, list[Any]]:
    module = load_test_all()
    # Every provider, as on CI: the plan is built, nothing is run.
    monkeypatch_module.setattr(module, "providers", lambda: ["local", "containers"])
    return module, module.steps()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_every_run_step_is_a_make_target() -> None:
    commands = workflow_commands()
    assert commands, "the workflow runs nothing"
    for command in commands:
        assert command[0] == "make", command
        targets = [word for word in command[1:] if "=" not in word]
        assert len(targets) == 1, command


def test_make_test_runs_every_target_the_workflow_runs(
    plan: tuple[ModuleType, list[Any]],
) -> None:
    module, steps = plan
    exercised = module.make_targets(steps) | RUN_BY_MAKE_TEST | {"lint"}
    for command in workflow_commands():
        [target] = [word for word in command[1:] if "=" not in word]
        assert target in exercised, f"`make {target}` runs in the workflow but not in make test"


def test_make_test_runs_every_lint_command(plan: tuple[ModuleType, list[Any]]) -> None:
    module, steps = plan
    ran: set[str] = set()
    for target in module.make_targets(steps):
        ran.update(make_dry_run(target))
    for step in steps:
        if tuple(step.cmd[: len(module.MAKE)]) == module.MAKE:
            continue
        words = [str(Path(w).relative_to(REPO_ROOT)) if w.startswith("/") else w for w in step.cmd]
        command = " ".join(words)
        cwd = Path(step.cwd).relative_to(REPO_ROOT)
        ran.add(command if cwd == Path() else f"cd {cwd} && {command}")
    missing = [command for command in make_dry_run("lint") if command not in ran]
    assert missing == [], f"make lint runs these and make test does not: {missing}"


def test_the_shards_cover_the_suites_in_make_test(plan: tuple[ModuleType, list[Any]]) -> None:
    """`make test` runs the suites as shards too (local provider), so SHARD=i/n is tested."""
    _, steps = plan
    shards = [s.cmd for s in steps if any(word.startswith("SHARD=") for word in s.cmd)]
    for suite in ("contract", "e2e"):
        mine = sorted(word for cmd in shards if suite in cmd for word in cmd if "SHARD=" in word)
        assert mine == ["SHARD=1/2", "SHARD=2/2"], (suite, mine)
