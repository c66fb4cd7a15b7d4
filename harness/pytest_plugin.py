"""pytest plugin: one stack per test run, shared by xdist workers; users and tokens per test.

``--stack-mode`` starts the run's stack before any test with a provider (``auto``,
``local``, ``containers``, ``compose``) or reuses the one ``harness up`` left running
(``saved``). With pytest-xdist the controller starts it once and hands its description to
every worker; the xdist hook is optional, so the plugin works without xdist. Without the
option the ``stack`` fixture starts one on first use (provider: ``HARNESS_MODE``, else auto).

Public API (documented in docs/harness.md): fixtures ``stack``, ``issuer``, ``api``,
``user``, ``other_user``, ``stack_fork``, ``faker_session``; ``share_stacks`` and
``extra_stack`` for a suite's extra stacks (``shared_stack`` underneath); ``watch_stack``
to add a stack to a test's failure logs; ``User``, ``make_user``, ``sign_up``,
``sign_up_with``.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from faker import Faker

from harness.config import Mode, ModeChoice, StackConfig
from harness.demo import frontend_client
from harness.errors import HarnessError
from harness.issuer.control import IssuerControl
from harness.stack import Stack, load_saved_stack, service_names

RUN_STACK = "stack"
# Test stacks: many users from one address, so Better Auth's rate limit is off.
TEST_CONFIG = StackConfig(name="test", auth_rate_limit=False)
LOG_LINES = 40

_SHARED = pytest.StashKey[dict[str, Stack]]()
_PENDING = pytest.StashKey[dict[str, Callable[[], Stack]]]()
_MODE = pytest.StashKey[Mode]()
_STARTED = pytest.StashKey[dict[str, Stack]]()
_WATCHED = pytest.StashKey[list[tuple[str, Stack]]]()
_WORKER_KEY = "harness_stacks"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness")
    group.addoption(
        "--stack-mode",
        default=None,
        choices=[*(choice.value for choice in ModeChoice), "saved"],
        help="start a stack for this run with this provider (saved: reuse `harness up`'s)",
    )


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def stack_mode(config: pytest.Config) -> str | None:
    """The ``--stack-mode`` option (None when not given)."""
    value: str | None = config.getoption("--stack-mode", default=None)
    return value


def run_mode(config: pytest.Config) -> Mode:
    """The provider of this run's stacks: ``--stack-mode`` (a saved stack's own), else
    ``HARNESS_MODE``, else auto. Chosen once per run, and said in one line."""
    chosen = config.stash.get(_MODE, None)
    if chosen is not None:
        return chosen
    from harness.registry import choose
    from harness.settings import settings

    option = stack_mode(config)
    if option == "saved":
        saved = load_saved_stack()
        if saved is None:
            raise pytest.UsageError("--stack-mode=saved but no stack is up (run `harness up`)")
        chosen, why = saved.mode, f"{saved.mode} (the saved stack's)"
    else:
        choice = ModeChoice(option) if option else settings().mode
        try:
            chosen, why = choose(choice)
        except HarnessError as exc:
            raise pytest.UsageError(f"harness: {exc}") from None
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"harness: test stacks with {why}")
    config.stash[_MODE] = chosen
    return chosen


def start_test_stack(config: pytest.Config, stack_config: StackConfig, mode: Mode | None) -> Stack:
    """Start a stack for this run (``mode`` None: the run's provider) and stop it when the
    run ends. A start-up failure is one readable error, not a traceback."""
    from harness.providers import start_stack

    mode = mode or run_mode(config)
    try:
        stack = start_stack(mode, stack_config)
    except HarnessError as exc:
        raise pytest.UsageError(f"harness: the {mode} stack did not start: {exc}") from None
    config.add_cleanup(stack.down)
    return stack


def shared_stack(config: pytest.Config, key: str, start: Callable[[], Stack]) -> None:
    """Have a stack started once for the run (by the controller, or the process of a run
    without xdist) and shared with every xdist worker under ``key``; tests get it with
    ``get_shared_stack``.

    Call it from ``pytest_configure``. The stacks start together when the session starts,
    before any test, browser or worker does.
    """
    if is_worker(config):
        return
    config.stash.setdefault(_PENDING, {})[key] = start


def share_stacks(config: pytest.Config, stacks: Mapping[str, StackConfig]) -> None:
    """From a suite's ``pytest_configure``: when the run starts its stack (``--stack-mode``),
    start these next to it, with the same provider, and share them (``extra_stack``)."""
    if stack_mode(config) is None:
        return
    for key, stack_config in stacks.items():
        shared_stack(config, key, functools.partial(start_test_stack, config, stack_config, None))


def extra_stack(request: pytest.FixtureRequest, key: str, stack_config: StackConfig) -> Stack:
    """A suite's extra stack: the shared one (``share_stacks``), else one started now for
    this process and kept for the run. Added to the test's failure logs."""
    config = request.config
    started = config.stash.setdefault(_STARTED, {})
    found = get_shared_stack(config, key) or started.get(key)
    if found is None:
        found = started[key] = start_test_stack(config, stack_config, None)
    watch_stack(request, key, found)
    return found


def get_shared_stack(config: pytest.Config, key: str) -> Stack | None:
    """A stack ``shared_stack`` started under ``key``, in the controller or any worker."""
    if is_worker(config):
        states = json.loads(config.workerinput.get(_WORKER_KEY, "{}"))  # type: ignore[attr-defined]
        return Stack.from_state(states[key]) if key in states else None
    return config.stash.get(_SHARED, {}).get(key)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stack: the test needs the running full stack")
    option = stack_mode(config)
    if option == "saved":
        saved = load_saved_stack()
        if saved is None:
            raise pytest.UsageError("--stack-mode=saved but no stack is up (run `harness up`)")
        config.stash.setdefault(_SHARED, {})[RUN_STACK] = saved
    elif option is not None:
        shared_stack(config, RUN_STACK, lambda: start_test_stack(config, TEST_CONFIG, None))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the shared stacks, all at once (before xdist starts its workers)."""
    config = session.config
    pending = config.stash.get(_PENDING, {})
    if not pending:
        return
    run_mode(config)  # chosen (and said) once, before the threads
    shared = config.stash.setdefault(_SHARED, {})
    with ThreadPoolExecutor(max_workers=len(pending), thread_name_prefix="stack") as pool:
        futures = {key: pool.submit(start) for key, start in pending.items()}
    failures = []
    for key, future in futures.items():
        error = future.exception()
        if error is None:
            shared[key] = future.result()
        else:
            failures.append(str(error))
    pending.clear()
    if failures:
        # The stacks that did start are stopped by the run's clean-up.
        pytest.exit("; ".join(failures), returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist (controller side): hand every shared stack to the worker being started."""
    shared = node.config.stash.get(_SHARED, {})
    node.workerinput[_WORKER_KEY] = json.dumps(
        {key: stack.to_state() for key, stack in shared.items()}
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    stack = get_shared_stack(config, RUN_STACK)
    if stack is None:
        return None
    return f"harness stack: {stack.mode} frontend={stack.frontend_url} backend={stack.backend_url}"


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Stack:
    """The run's stack (started by ``--stack-mode``, else now)."""
    config = request.config
    found = get_shared_stack(config, RUN_STACK)
    if found is None:
        found = start_test_stack(config, TEST_CONFIG, None)
        config.stash.setdefault(_SHARED, {})[RUN_STACK] = found
    return found


@pytest.fixture
def stack_fork(stack: Stack, request: pytest.FixtureRequest) -> Iterator[Callable[..., Stack]]:
    """Factory: ``stack_fork(jwks_cooldown_seconds=2)`` starts a private issuer + backend on
    the run's database and frontend (removed after the test), for tests that change keys or
    break the JWKS without disturbing tests sharing the stack."""
    started: list[Stack] = []

    def make(**options: Any) -> Stack:
        config = StackConfig(name=f"{stack.name}-fork", auth_rate_limit=False, **options)
        forked = stack.fork(config)
        started.append(forked)
        watch_stack(request, "fork", forked)
        return forked

    yield make
    for forked in started:
        forked.down()


@pytest.fixture(scope="session")
def issuer(stack: Stack) -> IssuerControl:
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


def make_user(issuer: IssuerControl, fake: Faker) -> User:
    # Random, not from the seeded Faker: a reused (`saved`) stack keeps earlier runs' data,
    # and a repeated id would meet it.
    user_id = str(uuid.uuid4())
    return User(
        id=user_id,
        token=issuer.mint(user_id),
        email=f"{user_id[:8]}.{fake.unique.email()}",
        name=fake.name(),
    )


def sign_up_with(client: httpx.Client, fake: Faker) -> tuple[str, dict[str, str]]:
    """Sign a new account up through Better Auth's HTTP API on ``client`` (a
    ``frontend_client``, which then holds its session cookie): its user id and credentials."""
    body = {
        # Random part: a reused (`saved`) stack already holds earlier runs' accounts.
        "email": f"{secrets.token_hex(4)}.{fake.unique.email()}",
        "password": fake.password(length=16),
        "name": fake.name(),
    }
    signed_up = client.post("/api/auth/sign-up/email", json=body)
    assert signed_up.status_code == 200, signed_up.text
    return str(signed_up.json()["user"]["id"]), body


def sign_up(stack: Stack, fake: Faker) -> User:
    """A real account: signed up through Better Auth's HTTP API, with a token it issued."""
    with frontend_client(stack) as client:
        user_id, body = sign_up_with(client, fake)
        issued = client.get("/api/auth/token")  # authenticated by the session cookie
        assert issued.status_code == 200, issued.text
        return User(
            id=user_id, token=issued.json()["token"], email=body["email"], name=body["name"]
        )


@pytest.fixture
def user(issuer: IssuerControl, faker_session: Faker) -> User:
    return make_user(issuer, faker_session)


@pytest.fixture
def other_user(issuer: IssuerControl, faker_session: Faker) -> User:
    return make_user(issuer, faker_session)


# -- service logs of failed tests -------------------------------------------------------


def watch_stack(request: pytest.FixtureRequest, label: str, watched: Stack) -> None:
    """Add a stack to the current test's failure logs (the run's stack is always there)."""
    request.node.stash.setdefault(_WATCHED, []).append((label, watched))


def _failure_logs(item: pytest.Item) -> dict[str, str]:
    extra: list[tuple[str, Stack]] = item.stash.get(_WATCHED, [])
    stacks = list(extra)
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    run_stack = funcargs.get("stack")
    if isinstance(run_stack, Stack):
        stacks.insert(0, (RUN_STACK, run_stack))
    logs: dict[str, str] = {}
    for label, watched in stacks:
        for service in service_names(watched):
            try:
                logs[f"{label}-{service}"] = watched.logs(service)
            except Exception as exc:  # logs are a diagnostic aid, never a second failure
                logs[f"{label}-{service}"] = f"(logs unavailable: {exc})"
    return logs


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failure in a test that used a stack, attach the last lines of each service's log
    to the report and, for a browser test, write the whole logs next to its trace."""
    report = yield
    if report.failed and report.when in ("setup", "call"):
        logs = _failure_logs(item)
        folder: str | None = getattr(item, "funcargs", {}).get("output_path")
        for name, text in logs.items():
            lines = "\n".join(text.splitlines()[-LOG_LINES:])
            report.sections.append((f"{name} log (last {LOG_LINES} lines)", lines))
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)
                (Path(folder) / f"{name}.log").write_text(text)
    return report
