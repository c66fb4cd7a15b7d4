"""Contract suite fixtures and the attack tally printed at the end of the run.

Each auth-matrix case records its outcome as a ``user_property``; pytest-xdist ships those
to the controller with the test reports, so the summary counts every worker's cases.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from faker import Faker

from harness.attacks import AttackContext, AttackListener
from harness.issuer import IssuerControl
from harness.pytest_plugin import User, make_user, share_stacks

from .support import ATTACK_PROPERTY, FUZZ_ALL_PHASES_PROPERTY, FUZZ_PROPERTY, ROTATING


def pytest_configure(config: pytest.Config) -> None:
    # Started with the run's stack, so the rotation test waits for nobody.
    share_stacks(config, {"key-rotation": ROTATING})


_tally: dict[str, dict[str, Any]] = {}
_fuzz_cases: dict[str, int] = {}
_all_phases: dict[str, int] = {}


@pytest.fixture(scope="session")
def listener() -> Iterator[AttackListener]:
    """Where the jku/x5u attack tokens point: it must never receive a request."""
    with AttackListener() as running:
        yield running


@pytest.fixture(scope="session")
def trusted_jwks(issuer: IssuerControl) -> dict[str, Any]:
    return issuer.jwks()


@pytest.fixture
def attack_context(
    issuer: IssuerControl, trusted_jwks: dict[str, Any], user: User, listener: AttackListener
) -> AttackContext:
    return AttackContext.create(issuer, trusted_jwks, user.id, listener.url)


@pytest.fixture
def new_user(issuer: IssuerControl, faker_session: Faker) -> Callable[[], User]:
    return lambda: make_user(issuer, faker_session)


@pytest.fixture
def create_task(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def create(user: User, **fields: Any) -> dict[str, Any]:
        body = {"title": "a task", **fields}
        response = api.post(user.tasks_path, json=body, headers=user.headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return create


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == ATTACK_PROPERTY:
            case = json.loads(str(value))
            _tally[case["name"]] = case
        elif name == FUZZ_PROPERTY:
            _fuzz_cases[report.nodeid] = int(str(value))
        elif name == FUZZ_ALL_PHASES_PROPERTY:
            _all_phases.update(json.loads(str(value)))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not (_tally or _fuzz_cases or _all_phases):
        return
    terminalreporter.write_sep("=", "contract summary")
    if _tally:
        cases = list(_tally.values())
        attacks = [c for c in cases if not c["control"]]
        accepted = [c["name"] for c in attacks if 200 <= c["status"] < 300]
        # A documented temporary refusal (503 + Retry-After for a kid not known yet) is an
        # expected answer, not a server error.
        server_errors = [
            c["name"] for c in cases if c["status"] >= 500 and not c.get("expected", False)
        ]
        unsafe = [c["name"] for c in cases if c.get("finding")]
        unavailable = [c["name"] for c in cases if c["status"] == 503 and c.get("expected")]
        controls = [c["name"] for c in cases if c["control"] and 200 <= c["status"] < 300]
        line = (
            f"attack corpus: {len(attacks)} attack cases tried, {len(accepted)} accepted, "
            f"{len(server_errors)} server errors, {len(unsafe)} unsafe responses; "
            f"{len(controls)} control case(s) accepted as documented "
            f"({', '.join(controls) or 'none'})"
        )
        failed = bool(accepted or server_errors or unsafe)
        terminalreporter.write_line(line, bold=True, red=failed, green=not failed)
        if unavailable:
            terminalreporter.write_line(
                f"temporarily refused (503, kid not known yet): {', '.join(unavailable)}"
            )
        if failed:
            terminalreporter.write_line(
                f"accepted: {accepted}  5xx: {server_errors}  unsafe: {unsafe}", red=True
            )
    if _fuzz_cases:
        total = sum(_fuzz_cases.values())
        terminalreporter.write_line(
            f"schemathesis: {total} generated cases over {len(_fuzz_cases)} operations"
        )
    if _all_phases:
        terminalreporter.write_line(
            f"schemathesis, every phase and check: {_all_phases['cases']} cases, "
            f"{_all_phases['failures']} failures"
        )
