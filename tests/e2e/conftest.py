"""Browser, accounts and failure artifacts for the end-to-end suite.

The stack comes from the harness plugin (one per run, shared by xdist workers). Chromium is
``HARNESS_CHROMIUM`` when set (e.g. Debian's /usr/bin/chromium), else Playwright's own.
On a failure, the Playwright trace, a screenshot and the services' logs are kept under
``test-results/<test>/``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faker import Faker
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from harness.launch import resolve_mode, start_stack
from harness.stack import SERVICES, Stack, StackConfig

from .support import Account, Accounts, NetworkLog

# Flags a system Chromium needs in a container or CI sandbox (no GPU, no user namespaces,
# no background traffic to Google services).
SYSTEM_CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Generous: two cores shared by the stack, the browser and the other xdist worker.
expect.set_options(timeout=15_000)

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_STACKS = pytest.StashKey[list[tuple[str, Stack]]]()


# Stacks of their own, started next to the shared one. The token-expiry test's: the token
# lifetime is a frontend setting, and forks of the shared stack share its frontend (the app
# renews at 75 % of the lifetime). The plain Bearer flow's: token binding off on both sides.
SHORT_TOKEN_CONFIG = StackConfig(name="e2e-short-token", jwt_expiration="5s", auth_rate_limit=False)
BEARER_CONFIG = StackConfig(name="e2e-bearer", dpop_mode="off", auth_rate_limit=False)
EXTRA_STACKS = {"short_token": SHORT_TOKEN_CONFIG, "bearer": BEARER_CONFIG}
_extra = pytest.StashKey[dict[str, Stack]]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    # Keep evidence of failures without paying for it on passing tests.
    if config.getoption("--tracing", default=None) == "off":
        config.option.tracing = "retain-on-failure"
    if config.getoption("--screenshot", default=None) == "off":
        config.option.screenshot = "only-on-failure"
    # Started before any browser runs: creating Docker networks mid-run changes the host's
    # addresses, and Chromium then fails in-flight loads with ERR_NETWORK_CHANGED.
    mode_option = config.getoption("--stack-mode", default=None)
    if mode_option in ("auto", "local", "containers") and not _is_worker(config):
        mode, _ = resolve_mode(mode_option)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        started: dict[str, Stack] = {}
        config.stash[_extra] = started
        for key, stack_config in EXTRA_STACKS.items():
            if reporter is not None:
                reporter.write_line(f"e2e: starting the {stack_config.name} stack")
            extra = start_stack(mode, stack_config)
            config.add_cleanup(extra.down)
            started[key] = extra


def pytest_configure_node(node: Any) -> None:
    """xdist hook (controller side): hand the extra stacks to each worker."""
    for key, extra in node.config.stash.get(_extra, {}).items():
        node.workerinput[f"e2e_{key}_stack"] = json.dumps(extra.to_state())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    executable = os.environ.get("HARNESS_CHROMIUM")
    if not executable:
        return browser_type_launch_args
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "args": list(SYSTEM_CHROMIUM_ARGS),
    }


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    """``page.goto("/tasks")`` resolves against the stack's frontend."""
    return stack.frontend_url


@pytest.fixture(autouse=True)
def service_logs_on_failure(
    request: pytest.FixtureRequest, stack: Stack, output_path: str
) -> Iterator[list[tuple[str, Stack]]]:
    """Writes every stack's service logs next to the trace when the test fails.

    Tests that start a stack of their own add it to this list.
    """
    stacks = request.node.stash.setdefault(_STACKS, [("stack", stack)])
    yield stacks
    reports = request.node.stash.get(_REPORTS, {})
    if not any(report.failed for report in reports.values()):
        return
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    for label, running in stacks:
        for service in SERVICES:
            try:
                text = running.logs(service)
            except Exception as exc:  # a diagnostic aid must not hide the real failure
                text = f"(logs unavailable: {exc})"
            (folder / f"{label}-{service}.log").write_text(text)


def _extra_stack(request: pytest.FixtureRequest, stack: Stack, key: str) -> Iterator[Stack]:
    """An extra stack: the run's own, else one started for this worker."""
    config = request.config
    name = f"e2e_{key}_stack"
    if _is_worker(config) and name in config.workerinput:  # type: ignore[attr-defined]
        yield Stack.from_state(json.loads(config.workerinput[name]))  # type: ignore[attr-defined]
        return
    started = config.stash.get(_extra, {}).get(key)
    if started is not None:
        yield started
        return
    # A reused (`saved`) stack: start one like it now.
    own = start_stack(stack.mode, EXTRA_STACKS[key])
    try:
        yield own
    finally:
        own.down()


@pytest.fixture(scope="session")
def short_token_stack(request: pytest.FixtureRequest, stack: Stack) -> Iterator[Stack]:
    """The stack with 5-second tokens (binding on, like the shared one)."""
    yield from _extra_stack(request, stack, "short_token")


@pytest.fixture(scope="session")
def bearer_stack(request: pytest.FixtureRequest, stack: Stack) -> Iterator[Stack]:
    """The seed's plain Bearer flow: DPOP_MODE=off for the backend and the frontend."""
    yield from _extra_stack(request, stack, "bearer")


@pytest.fixture
def accounts(playwright: Playwright, stack: Stack, faker_session: Faker) -> Iterator[Accounts]:
    made = Accounts(playwright, stack.frontend_url, faker_session)
    yield made
    made.close()


@pytest.fixture
def account(accounts: Accounts) -> Account:
    """A fresh user of this worker, signed up through Better Auth's HTTP API."""
    return accounts.create()


@pytest.fixture
def network(stack: Stack) -> NetworkLog:
    return NetworkLog(stack.backend_url)


@pytest.fixture
def signed_in(new_context: Any, account: Account, network: NetworkLog) -> BrowserContext:
    """A browser context carrying ``account``'s session cookie, its traffic recorded."""
    context: BrowserContext = new_context(storage_state=account.storage_state())
    network.attach(context)
    return context


@pytest.fixture
def tasks_page(signed_in: BrowserContext) -> Page:
    """``/tasks`` of the signed-in account, loaded (list or empty state shown)."""
    page = signed_in.new_page()
    page.goto("/tasks")
    expect(page.get_by_test_id("tasks-total")).to_be_visible()
    return page
