"""`make test`: every check and suite, each provider this machine has, one summary at the end.

Steps run in order and all of them run even after a failure, so one report shows everything
that is broken. Test counts come from each runner's JUnit XML. Exit 1 if any step failed.
Each pytest step also writes a self-contained HTML report; at the end every step's JUnit is
merged into test-results/report.html and test-results/junit.xml (`make report`, the last step).
The suites the GitHub Actions workflow runs are run here through the same make targets
(contract and e2e on the local provider as two shards each, as the workflow's matrix does).
On CI (``CI=true``) a missing Docker daemon is a failure, not a reason to skip the
containers provider.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from harness.dockerd import compose_unavailable, docker_available

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "test-results"

VENV_BIN = ROOT / ".venv" / "bin"
# The Compose project of the `make up ... --name ci` stack.
COMPOSE_PROJECT = "tasks-ci"
WORKERS = os.environ.get("WORKERS", "2")
# Shards of each suite on the local provider: exercises `make e2e SHARD=i/n`.
LOCAL_SHARDS = 2
MAKE = ("make", "--no-print-directory")
IMAGE_ARCHIVE = RESULTS / "images" / "images.tar"


@dataclass
class Step:
    name: str
    cmd: list[str]
    cwd: Path = ROOT
    junit: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    ok: bool = False
    seconds: float = 0.0
    counts: tuple[int, int, int] = (0, 0, 0)  # passed, failed, skipped


def pytest_step(name: str, *args: str) -> Step:
    junit = RESULTS / f"junit-{name}.xml"
    # pytest-playwright empties its --output folder when a session starts: one folder per
    # step, so a later step cannot wipe an earlier one's traces and screenshots.
    output = f"--output={RESULTS / name}"
    reports = ["-o", f"junit_suite_name={name}", f"--html={RESULTS / f'report-{name}.html'}"]
    cmd = [str(VENV_BIN / "pytest"), *args, f"--junitxml={junit}", output, *reports]
    return Step(name, [*cmd, "--self-contained-html"], junit=junit)


def make_step(name: str, target: str, *variables: str) -> Step:
    """A make target that writes its own reports as ``junit-<name>.xml`` (see the Makefile)."""
    cmd = [*MAKE, target, *variables, f"RESULTS={RESULTS}"]
    return Step(name, cmd, junit=RESULTS / f"junit-{name}.xml")


def suite_steps(suite: str, mode: str, shards: int = 1) -> list[Step]:
    """``make <suite> MODE=<mode>``, as ``shards`` steps of ``SHARD=i/n`` when more than one."""
    if shards == 1:
        return [make_step(f"{suite}-{mode}", suite, f"MODE={mode}")]
    return [
        make_step(f"{suite}-{mode}-{i}of{shards}", suite, f"MODE={mode}", f"SHARD={i}/{shards}")
        for i in range(1, shards + 1)
    ]


def image_cache_steps() -> list[Step]:
    """The workflow's image cache: build (up to date by now), key, save and load."""
    archive = f"IMAGE_ARCHIVE={IMAGE_ARCHIVE}"
    return [
        Step("images", [*MAKE, "images"]),
        Step("image-key", [*MAKE, "image-key"]),
        Step("images-save", [*MAKE, "images-save", archive]),
        Step("images-load", [*MAKE, "images-load", archive]),
    ]


def make_targets(plan: list[Step]) -> set[str]:
    """The make targets a plan runs (the workflow may only run these)."""
    return {step.cmd[len(MAKE)] for step in plan if tuple(step.cmd[: len(MAKE)]) == MAKE}


def junit_counts(path: Path) -> tuple[int, int, int]:
    if not path.exists():
        return (0, 0, 0)
    root = ET.parse(path).getroot()  # noqa: S314 - our own runners' output
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return (total - failed - skipped, failed, skipped)


def providers() -> list[str]:
    if docker_available():
        return ["local", "containers"]
    if os.environ.get("CI") == "true":
        print("test-all: CI needs the containers provider but no Docker daemon answers")
        return ["local", "containers"]  # the containers steps then fail loudly
    print("test-all: no Docker daemon answers: the containers provider is not run here")
    return ["local"]


def compose_steps() -> list[Step]:
    """`make up` on the Compose path, both suites against that running stack (`saved`),
    `make down`, and nothing left behind. Its own HARNESS_HOME and free ports, so a stack
    the developer left running is not touched."""
    reason = compose_unavailable()
    if reason is not None:
        if os.environ.get("CI") != "true":
            print(f"test-all: the Compose steps are not run here: {reason}")
            return []
        print(f"test-all: CI needs Docker Compose v2: {reason}")  # the steps then fail loudly
    env = {"HARNESS_HOME": str(RESULTS / "compose-home")}
    # The suites sign up hundreds of users from one address: Better Auth's limits off; one
    # backend worker, as in the suites' own stacks (they count JWKS fetches per process).
    options = (
        "--name ci --frontend-port 0 --backend-port 0 --issuer-port 0"
        " --auth-rate-limit off --backend-workers 1"
    )
    make = ["make", "--no-print-directory"]
    # One substitution: three joined by spaces would never be empty.
    left = (
        "$("
        + "; ".join(
            f"docker {kind} --filter label=com.docker.compose.project={COMPOSE_PROJECT}"
            for kind in ("ps -aq", "volume ls -q", "network ls -q")
        )
        + ")"
    )
    plan = [
        Step("compose-up", [*make, "up", "MODE=compose", "TRUST=both", f"UP_ARGS={options}"]),
        pytest_step(
            "contract-compose", "tests/contract", "-q", "-n", WORKERS, "--stack-mode=saved"
        ),
        # One worker: with two, the browser tests on the Compose stacks (three at once on
        # this 2-core machine) timed out while the task list loaded; parallel e2e runs are
        # covered by the local and containers steps.
        pytest_step("e2e-compose", "tests/e2e", "-q", "-n", "1", "--stack-mode=saved"),
        Step("compose-down", [*make, "down"]),
        Step(
            "compose-clean",
            ["bash", "-c", f'left="{left}"; echo "left: ${{left:-nothing}}"; [ -z "$left" ]'],
        ),
    ]
    for step in plan:
        step.env.update(env)
    return plan


def steps() -> list[Step]:
    plan = [
        Step("ruff", [str(VENV_BIN / "ruff"), "check", "."]),
        Step("ruff-format", [str(VENV_BIN / "ruff"), "format", "--check", "."]),
        Step("mypy", [str(VENV_BIN / "mypy"), "harness", "backend", "bench", "tests", "scripts"]),
        Step("actionlint", [*MAKE, "actionlint"]),
        Step("frontend-lint", ["npm", "run", "--silent", "lint"], cwd=ROOT / "frontend"),
        Step("frontend-typecheck", ["npm", "run", "--silent", "typecheck"], cwd=ROOT / "frontend"),
        make_step("frontend-unit", "frontend-test"),
        Step("frontend-build", ["make", "--no-print-directory", "frontend-build"]),
        make_step("harness-unit", "harness-test"),
        make_step("backend", "backend-test"),
    ]
    for mode in providers():
        shards = LOCAL_SHARDS if mode == "local" else 1
        plan += suite_steps("contract", mode, shards)
        plan += suite_steps("e2e", mode, shards)
        # Its own stack and no xdist: the scenarios stop and start that stack's services.
        plan.append(pytest_step(f"faults-{mode}", "tests/faults", "-q", f"--stack-mode={mode}"))
        if mode == "containers":
            plan += image_cache_steps()
    # Last: one report out of every step's JUnit (`make report`, as the workflow's last job).
    return [*plan, *compose_steps(), Step("report", [*MAKE, "report", f"RESULTS={RESULTS}"])]


def run(step: Step) -> None:
    print(f"\n=== {step.name}: {' '.join(step.cmd)}", flush=True)
    started = time.monotonic()
    done = subprocess.run(step.cmd, cwd=step.cwd, env={**os.environ, **step.env}, check=False)
    step.seconds = time.monotonic() - started
    step.ok = done.returncode == 0
    if step.junit is not None:
        step.counts = junit_counts(step.junit)
        # A suite that ran nothing has proven nothing.
        if step.ok and sum(step.counts) == 0:
            print(f"test-all: {step.name} ran no test")
            step.ok = False


def main() -> int:
    RESULTS.mkdir(exist_ok=True)
    # Reports of earlier runs would end up in this run's merged report.
    for stale in [*RESULTS.glob("junit*.xml"), *RESULTS.glob("report*.html")]:
        stale.unlink()
    plan = steps()
    for step in plan:
        run(step)
        if step.name == "images-load":
            shutil.rmtree(IMAGE_ARCHIVE.parent, ignore_errors=True)
    print("\n=== summary")
    for step in plan:
        passed, failed, skipped = step.counts
        counts = f"{passed} passed, {failed} failed, {skipped} skipped" if step.junit else ""
        status = "ok  " if step.ok else "FAIL"
        print(f"{status} {step.name:<22} {step.seconds:7.1f}s  {counts}")
    passed = sum(s.counts[0] for s in plan)
    failed = sum(s.counts[1] for s in plan) + sum(1 for s in plan if not s.ok and not s.junit)
    skipped = sum(s.counts[2] for s in plan)
    broken = [s.name for s in plan if not s.ok]
    if broken:
        print(f"failed steps: {', '.join(broken)}")
    print(f"report: {RESULTS / 'report.html'} (JUnit: {RESULTS / 'junit.xml'})")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
