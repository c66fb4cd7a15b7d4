"""Protected pages send a visitor to /login and back; sessions persist; sign-out ends them."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from .support import Account, login_url, sign_in


def test_protected_page_sends_to_login_and_back(
    page: Page, base_url: str, account: Account
) -> None:
    page.goto("/tasks")
    expect(page).to_have_url(login_url(base_url, "/tasks"))
    expect(page.get_by_test_id("login-form")).to_be_visible()

    sign_in(page, account.email, account.password)

    expect(page).to_have_url(f"{base_url}/tasks")
    expect(page.get_by_test_id("toast-signed-in")).to_be_visible()
    expect(page.get_by_test_id("user-email")).to_have_text(account.email)


def test_deep_link_with_query_survives_login(page: Page, base_url: str, account: Account) -> None:
    page.goto("/tasks?filter=completed")
    expect(page).to_have_url(login_url(base_url, "/tasks?filter=completed"))

    sign_in(page, account.email, account.password)

    expect(page).to_have_url(f"{base_url}/tasks?filter=completed")
    expect(page.get_by_test_id("filter-completed")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("tasks-empty")).to_have_text("No completed tasks yet.")


# Each value is put in the query string as is: protocol-relative, absolute, a backslash that
# browsers read as a slash, and a percent-encoded protocol-relative path.
OPEN_REDIRECTS = (
    "//evil.example",
    "https://evil.example/",
    "/%5Cevil.example",
    "%2F%2Fevil.example",
)


@pytest.mark.parametrize("next_param", OPEN_REDIRECTS)
def test_login_never_redirects_off_site(
    context: BrowserContext, base_url: str, account: Account, next_param: str
) -> None:
    offsite: list[str] = []

    def refuse(route: Route) -> None:
        offsite.append(route.request.url)
        route.abort()

    context.route(lambda url: urlsplit(url).hostname == "evil.example", refuse)
    page = context.new_page()
    page.goto(f"/login?next={next_param}")

    sign_in(page, account.email, account.password)

    expect(page).to_have_url(f"{base_url}/tasks")
    expect(page.get_by_test_id("tasks-page")).to_be_visible()
    assert offsite == []


def test_signed_in_visit_to_login_with_offsite_next_stays(
    signed_in: BrowserContext, base_url: str
) -> None:
    page = signed_in.new_page()
    page.goto("/login?next=//evil.example")
    expect(page).to_have_url(f"{base_url}/tasks")


def test_session_persists_across_reload_and_navigation(
    signed_in: BrowserContext, base_url: str, account: Account
) -> None:
    page = signed_in.new_page()
    page.goto("/tasks")
    expect(page.get_by_test_id("user-email")).to_have_text(account.email)

    page.reload()
    expect(page.get_by_test_id("user-email")).to_have_text(account.email)

    for path in ("/", "/login", "/signup"):
        page.goto(path)
        expect(page).to_have_url(f"{base_url}/tasks")
        expect(page.get_by_test_id("user-email")).to_have_text(account.email)

    other_tab = signed_in.new_page()
    other_tab.goto("/tasks")
    expect(other_tab.get_by_test_id("user-email")).to_have_text(account.email)


def test_sign_out_protects_pages_again(
    signed_in: BrowserContext, base_url: str, account: Account
) -> None:
    page = signed_in.new_page()
    page.goto("/tasks")
    # The list has loaded, so the page is hydrated and the button has its handler.
    expect(page.get_by_test_id("tasks-total")).to_be_visible()
    page.get_by_test_id("sign-out").click()

    expect(page).to_have_url(f"{base_url}/login")
    expect(page.get_by_test_id("toast-signed-out")).to_be_visible()

    page.goto("/tasks?filter=active")
    expect(page).to_have_url(login_url(base_url, "/tasks?filter=active"))
    # The session is gone on the server too, not only the cookie in this browser.
    assert account.session.get("/api/auth/token").status == 401
