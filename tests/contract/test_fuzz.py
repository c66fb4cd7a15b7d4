"""Fuzzing: schemathesis generates requests from the live ``/openapi.json``.

Two ways. First, schemathesis's own runner with every phase (examples, coverage, fuzzing,
stateful) and every check (``--checks all``: negative data rejected, positive data
accepted, undocumented methods answered 405 with a matching ``Allow``, auth not ignored,
use after free, ...): it must report no issue at all, not only no server error. Second,
per operation through the pytest integration, as below.

Every task operation gets positive (schema-valid) and negative (schema-violating) cases,
sent with a valid token for the path's own user -- half of them aimed at a task that
exists -- so generated data reaches validation and the database, not just the auth check.
Every response must be free of 5xx and match the published schema: status codes, content
type, headers and body. At least 75 cases per operation, 7 operations: >= 525 in total.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

from harness.pytest_plugin import User
from harness.stack import Stack

from .support import FUZZ_ALL_PHASES_PROPERTY, FUZZ_PROPERTY

CASES_PER_OPERATION = 80
MIN_CASES_PER_OPERATION = 75
OPERATIONS = (
    ("GET", "/api/{user_id}/tasks"),
    ("POST", "/api/{user_id}/tasks"),
    ("GET", "/api/{user_id}/tasks/{task_id}"),
    ("PUT", "/api/{user_id}/tasks/{task_id}"),
    ("PATCH", "/api/{user_id}/tasks/{task_id}"),
    ("DELETE", "/api/{user_id}/tasks/{task_id}"),
    ("PATCH", "/api/{user_id}/tasks/{task_id}/complete"),
)
# Operations with a body or query string: the only ones negative cases can say anything about.
WITH_BODY_OR_QUERY = {OPERATIONS[i] for i in (0, 1, 3, 4)}
CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, openapi_checks.negative_data_rejection]


@pytest.fixture(scope="session")
def api_schema(stack: Stack) -> Any:
    return schemathesis.openapi.from_url(f"{stack.backend_url}/openapi.json")


def test_schema_documents_every_task_route(api_schema: Any) -> None:
    documented = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert set(OPERATIONS) <= documented
    schemes = api_schema.raw_schema["components"]["securitySchemes"]
    assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values())


@pytest.fixture
def real_task(api: httpx.Client, user: User) -> Callable[[], str]:
    """The id of a task of the user that exists when asked for (recreated once deleted)."""
    current: dict[str, str] = {}

    def task_id() -> str:
        if (
            "id" not in current
            or api.get(f"{user.tasks_path}/{current['id']}", headers=user.headers).status_code
            != 200
        ):
            response = api.post(user.tasks_path, json={"title": "fuzz"}, headers=user.headers)
            assert response.status_code == 201, response.text
            current["id"] = response.json()["id"]
        return current["id"]

    return task_id


def fuzz(strategy: Any, send: Callable[[Any], None], examples: int) -> int:
    """Run ``send`` on up to ``examples`` generated cases; the number run."""
    count = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        nonlocal count
        count += 1
        send(case)

    run()
    return count


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=lambda v: str(v))
def test_operation_conforms(
    api_schema: Any,
    stack: Stack,
    user: User,
    real_task: Callable[[], str],
    method: str,
    path: str,
    record_property: Callable[[str, object], None],
) -> None:
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {user.token}"}
    count = 0
    # With only string path parameters and a fixed token there is nothing to negate.
    modes = [(GenerationMode.POSITIVE, CHECKS)]
    if (method, path) in WITH_BODY_OR_QUERY:
        modes.append((GenerationMode.NEGATIVE, NEGATIVE_CHECKS))
    examples = CASES_PER_OPERATION // len(modes)
    for mode, checks in modes:
        # Fixed in the strategy (not added at call time), so schemathesis knows the token and
        # the user id are never the negated parts of a negative case.
        fixed: dict[str, Any] = {"generation_mode": mode, "headers": headers}
        own = {"user_id": user.id}
        strategies = [operation.as_strategy(path_parameters=own, **fixed)]
        if "{task_id}" in path:
            existing = {**own, "task_id": real_task()}
            strategies.append(operation.as_strategy(path_parameters=existing, **fixed))

        def send(case: Any, checks: list[Any] = checks) -> None:
            response = case.call(base_url=stack.backend_url)
            case.validate_response(response, checks=checks)

        count += fuzz(st.one_of(strategies), send, examples)

    record_property(FUZZ_PROPERTY, count)
    assert count >= MIN_CASES_PER_OPERATION


PHASES = "examples,coverage,fuzzing,stateful"
MIN_ALL_PHASES_CASES = 700


def test_every_phase_and_check_finds_no_issue(
    stack: Stack, user: User, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    config = tmp_path / "schemathesis.toml"
    # The path's own user, so generated requests get past the owner check to the data.
    config.write_text(f'[parameters]\nuser_id = "{user.id}"\n\n[generation]\ndatabase = "none"\n')
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{stack.backend_url}/openapi.json",
        "--phases",
        PHASES,
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {user.token}",
        "--no-color",
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path
    )
    output = done.stdout + done.stderr
    # "1535 generated, 1535 passed" or "1249 generated, 2 found 2 unique failures".
    generated = re.search(r"(\d+) generated", output)
    assert generated is not None, output[-4000:]
    failures = re.search(r"found (\d+) unique failures", output)
    record_property(
        FUZZ_ALL_PHASES_PROPERTY,
        json.dumps({"cases": int(generated[1]), "failures": int(failures[1]) if failures else 0}),
    )
    assert done.returncode == 0, output[-8000:]
    assert "No issues found" in output, output[-8000:]
    assert re.search(rf"{generated[1]} generated, {generated[1]} passed", output), output[-4000:]
    assert int(generated[1]) >= MIN_ALL_PHASES_CASES
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅ {phase}", output), output[-4000:]
