"""pytest plugin: one stack per test run, shared by xdist workers; users and tokens per test.

``--stack-mode`` chooses the provider: ``auto``, ``containers``,
``local``, or ``saved`` to reuse the stack ``harness up`` left running. With pytest-xdist the
controller starts the stack once and hands its description to every worker; without an
option the ``stack`` fixture starts one lazily for this process.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from faker import Faker

from harness.issuer_client import IssuerClient
from harness.launch import resolve_mode, start_stack
from harness.stack import SERVICES, Stack, StackConfig, load_saved_stack

STACK_KEY = "harness_stack"
_started: dict[str, Stack] = {}

# Test stacks: many users from one address, so Better Auth's rate limit is off.
TEST_CONFIG = StackConfig(name="test", auth_rate_limit=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness")
    group.addoption(
        "--stack-mode",
        default=None,
        choices=("auto", "containers", "local", "saved"),
        help="start a stack for this run with this provider (saved: reuse `harness up`'s)",
    )


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _start(mode_option: str, config: pytest.Config) -> Stack:
    if mode_option == "saved":
        saved = load_saved_stack()
        if saved is None:
            raise pytest.UsageError("--stack-mode=saved but no stack is up (run `harness up`)")
        return saved
    mode, why = resolve_mode(mode_option)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"harness: starting a stack with {why}")
    try:
        stack = start_stack(mode, TEST_CONFIG)
    except Exception as exc:  # a start-up failure is one readable error, not a traceback
        raise pytest.UsageError(f"harness: the {mode} stack did not start: {exc}") from exc
    _started["stack"] = stack
    return stack


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stack: the test needs the running full stack")
    mode_option = config.getoption("--stack-mode")
    if mode_option and not _is_worker(config):
        config.stash[_stack_key] = _start(mode_option, config)


def pytest_configure_node(node: Any) -> None:
    """xdist hook (controller side): hand the running stack to each worker."""
    stack = node.config.stash.get(_stack_key, None)
    if stack is not None:
        node.workerinput[STACK_KEY] = json.dumps(stack.to_state())


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = _started.pop("stack", None)
    if stack is not None:
        stack.down()


def pytest_report_header(config: pytest.Config) -> str | None:
    stack = config.stash.get(_stack_key, None)
    if stack is None:
        return None
    return f"harness stack: {stack.mode} frontend={stack.frontend_url} backend={stack.backend_url}"


_stack_key = pytest.StashKey[Stack]()


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    config = request.config
    if _is_worker(config) and STACK_KEY in config.workerinput:  # type: ignore[attr-defined]
        yield Stack.from_state(json.loads(config.workerinput[STACK_KEY]))  # type: ignore[attr-defined]
        return
    existing = config.stash.get(_stack_key, None)
    if existing is not None:
        yield existing
        return
    started = _start("auto", config)
    try:
        yield started
    finally:
        _started.pop("stack", None)
        started.down()


@pytest.fixture(scope="session")
def issuer(stack: Stack) -> IssuerClient:
    return stack.issuer


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    """An httpx client for the backend (no credentials attached)."""
    with httpx.Client(base_url=stack.backend_url, timeout=15.0) as client:
        yield client


@pytest.fixture(scope="session")
def faker_session() -> Faker:
    fake = Faker()
    # Distinct data per xdist worker, reproducible per worker.
    fake.seed_instance(os.environ.get("PYTEST_XDIST_WORKER", "main"))
    return fake


@dataclass(frozen=True)
class User:
    """A test identity: a user id (the token's ``sub``) and a valid token for it."""

    id: str
    token: str
    email: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def tasks_path(self) -> str:
        return f"/api/{self.id}/tasks"


def make_user(issuer: IssuerClient, fake: Faker) -> User:
    # Random, not from the seeded Faker: a reused (`saved`) stack keeps earlier runs' data,
    # and a repeated id would meet it.
    user_id = str(uuid.uuid4())
    return User(
        id=user_id,
        token=issuer.mint(user_id),
        email=f"{user_id[:8]}.{fake.unique.email()}",
        name=fake.name(),
    )


def frontend_client(stack: Stack) -> httpx.Client:
    """An httpx client for the frontend. Better Auth checks the Origin of state-changing
    requests against its base URL, so every request carries the frontend's own."""
    return httpx.Client(
        base_url=stack.frontend_url, headers={"Origin": stack.frontend_url}, timeout=30.0
    )


def sign_up(stack: Stack, fake: Faker) -> User:
    """A real account: signed up through Better Auth's HTTP API, with a token it issued."""
    with frontend_client(stack) as client:
        body = {
            # Random part: a reused (`saved`) stack already holds earlier runs' accounts.
            "email": f"{secrets.token_hex(4)}.{fake.unique.email()}",
            "password": fake.password(length=16),
            "name": fake.name(),
        }
        signed_up = client.post("/api/auth/sign-up/email", json=body)
        assert signed_up.status_code == 200, signed_up.text
        user_id = signed_up.json()["user"]["id"]
        issued = client.get("/api/auth/token")  # authenticated by the session cookie
        assert issued.status_code == 200, issued.text
        return User(
            id=user_id, token=issued.json()["token"], email=body["email"], name=body["name"]
        )


@pytest.fixture
def user(issuer: IssuerClient, faker_session: Faker) -> User:
    return make_user(issuer, faker_session)


@pytest.fixture
def other_user(issuer: IssuerClient, faker_session: Faker) -> User:
    return make_user(issuer, faker_session)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failure in a test that used the stack, attach the services' recent logs."""
    report = yield
    if report.when == "call" and report.failed and "stack" in getattr(item, "fixturenames", ()):
        stack: Stack | None = item.funcargs.get("stack")  # type: ignore[attr-defined]
        if stack is not None:
            for service in SERVICES:
                try:
                    tail = "\n".join(stack.logs(service).splitlines()[-40:])
                except Exception as exc:  # logs are a diagnostic aid, never a second failure
                    tail = f"(logs unavailable: {exc})"
                report.sections.append((f"{service} log (last 40 lines)", tail))
    return report
