"""Browser, accounts and failure artifacts for the end-to-end suite.

The stack comes from the harness plugin (one per run, shared by xdist workers). Chromium is
``HARNESS_CHROMIUM`` when set (e.g. Debian's /usr/bin/chromium), else Playwright's own.
On a failure, the Playwright trace, a screenshot and the services' logs are kept under
``test-results/<test>/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faker import Faker
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from harness.stack import SERVICES, Stack

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


def pytest_configure(config: pytest.Config) -> None:
    # Keep evidence of failures without paying for it on passing tests.
    if config.getoption("--tracing", default=None) == "off":
        config.option.tracing = "retain-on-failure"
    if config.getoption("--screenshot", default=None) == "off":
        config.option.screenshot = "only-on-failure"


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
