"""Browser, accounts and failure artifacts for the end-to-end suite.

The stack comes from the harness plugin (one per run, shared by xdist workers). Chromium is
found by ``harness.browser``: ``HARNESS_CHROMIUM``, else Playwright's own, else a system
one. On a failure the Playwright trace, a screenshot and (written by the plugin) the
services' logs are kept under ``test-results/<test>/``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faker import Faker
from playwright.sync_api import BrowserContext, BrowserType, Page, Playwright, expect

from harness.browser import find_chromium
from harness.config import DpopMode, StackConfig
from harness.errors import UsageError
from harness.pytest_plugin import extra_stack, share_stacks
from harness.report import ARTIFACTS_PROPERTY
from harness.settings import settings
from harness.stack import Stack

from .support import Account, Accounts, NetworkLog

# Generous: two cores shared by the stack, the browser and the other xdist worker.
expect.set_options(timeout=15_000)

# Stacks of their own, started next to the shared one. The token-expiry test's: the token
# lifetime is a frontend setting, and forks of the shared stack share its frontend (the app
# renews at 75 % of the lifetime). The plain Bearer flow's: token binding off on both sides.
SHORT_TOKEN_CONFIG = StackConfig(name="e2e-short-token", jwt_expiration="5s", auth_rate_limit=False)
BEARER_CONFIG = StackConfig(name="e2e-bearer", dpop_mode=DpopMode.OFF, auth_rate_limit=False)
EXTRA_STACKS = {"short-token": SHORT_TOKEN_CONFIG, "bearer": BEARER_CONFIG}


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # Keep evidence of failures without paying for it on passing tests.
    if config.getoption("--tracing", default=None) == "off":
        config.option.tracing = "retain-on-failure"
    if config.getoption("--screenshot", default=None) == "off":
        config.option.screenshot = "only-on-failure"
    # Started with the run's stack, before any browser runs: creating Docker networks
    # mid-run changes the host's addresses, and Chromium then fails in-flight loads with
    # ERR_NETWORK_CHANGED.
    share_stacks(config, EXTRA_STACKS)


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], browser_type: BrowserType
) -> dict[str, Any]:
    try:
        chromium = find_chromium(settings().chromium, browser_type.executable_path)
    except UsageError as exc:
        raise pytest.UsageError(f"e2e: {exc}") from None
    return {**browser_type_launch_args, **chromium.launch_args()}


@pytest.fixture(autouse=True)
def _artifacts(
    output_path: str, request: pytest.FixtureRequest, record_property: Callable[[str, object], None]
) -> str:
    """Every test has its artifacts folder, where the plugin writes service logs on failure.
    JUnit records it relative to the folder the reports sit in (the parent of ``--output``),
    so a merged report can link a failure to its trace wherever the results are copied."""
    reports_root = Path(request.config.getoption("--output")).resolve().parent
    record_property(ARTIFACTS_PROPERTY, os.path.relpath(output_path, reports_root))
    return output_path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """In the HTML report, a failed test links its trace and logs and shows its screenshots.
    Added to the teardown report: the browser context has written its artifacts by then."""
    report: pytest.TestReport = yield
    folder = getattr(item, "funcargs", {}).get("output_path")
    html_path = item.config.getoption("htmlpath", default=None)
    if report.when != "teardown" or not folder or not html_path or not Path(folder).is_dir():
        return report
    import pytest_html

    extras = list(getattr(report, "extras", []))
    html_dir = Path(html_path).resolve().parent
    for path in sorted(Path(folder).iterdir()):
        if path.suffix == ".png":
            extras.append(pytest_html.extras.png(base64.b64encode(path.read_bytes()).decode()))
        else:
            extras.append(pytest_html.extras.url(os.path.relpath(path, html_dir), name=path.name))
    report.extras = extras  # type: ignore[attr-defined]  # pytest-html reads it
    return report


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    """``page.goto("/tasks")`` resolves against the stack's frontend."""
    return stack.frontend_url


@pytest.fixture
def short_token_stack(request: pytest.FixtureRequest, stack: Stack) -> Stack:
    """The stack with 5-second tokens (binding on, like the shared one)."""
    return extra_stack(request, "short-token", SHORT_TOKEN_CONFIG)


@pytest.fixture
def bearer_stack(request: pytest.FixtureRequest, stack: Stack) -> Stack:
    """The seed's plain Bearer flow: DPOP_MODE=off for the backend and the frontend."""
    return extra_stack(request, "bearer", BEARER_CONFIG)


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
