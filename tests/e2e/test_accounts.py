"""Sign-up through the form (field errors, then success); sign-in failures reveal nothing."""

from __future__ import annotations

from faker import Faker
from playwright.sync_api import Page, expect

from .support import Account, new_credentials, sign_in

GENERIC_SIGN_IN_ERROR = "Invalid email or password."


def test_sign_up_shows_field_errors_then_succeeds(
    page: Page, base_url: str, account: Account, faker_session: Faker
) -> None:
    page.goto("/signup")
    submit = page.get_by_test_id("signup-submit")
    expect(submit).to_be_enabled()

    submit.click()
    expect(page.get_by_test_id("signup-name-error")).to_have_text("Enter your name.")
    expect(page.get_by_test_id("signup-email-error")).to_have_text("Enter your email address.")
    expect(page.get_by_test_id("signup-password-error")).to_have_text("Use at least 8 characters.")
    expect(page.get_by_test_id("signup-email")).to_have_attribute("aria-invalid", "true")

    fresh = new_credentials(faker_session)
    page.get_by_test_id("signup-name").fill(fresh.name)
    page.get_by_test_id("signup-email").fill("not-an-email")
    page.get_by_test_id("signup-password").fill("short")
    submit.click()
    expect(page.get_by_test_id("signup-name-error")).to_have_count(0)
    expect(page.get_by_test_id("signup-email-error")).to_have_text("Enter a valid email address.")
    expect(page.get_by_test_id("signup-password-error")).to_have_text("Use at least 8 characters.")

    # An address that already has an account: refused by the server, the form stays.
    page.get_by_test_id("signup-email").fill(account.email)
    page.get_by_test_id("signup-password").fill(fresh.password)
    submit.click()
    expect(page.get_by_test_id("signup-error")).to_contain_text("Could not create an account")
    expect(page).to_have_url(f"{base_url}/signup")

    page.get_by_test_id("signup-email").fill(fresh.email)
    submit.click()
    expect(page).to_have_url(f"{base_url}/tasks")
    expect(page.get_by_test_id("toast-signed-up")).to_be_visible()
    expect(page.get_by_test_id("user-email")).to_have_text(fresh.email)
    expect(page.get_by_test_id("tasks-empty")).to_be_visible()


def test_wrong_password_and_unknown_email_get_the_same_message(
    page: Page, base_url: str, account: Account, faker_session: Faker
) -> None:
    page.goto("/login")
    statuses: list[int] = []
    page.on(
        "response",
        lambda response: (
            statuses.append(response.status)
            if response.url.endswith("/api/auth/sign-in/email")
            else None
        ),
    )

    sign_in(page, account.email, account.password + "-wrong")
    error = page.get_by_test_id("login-error")
    expect(error).to_have_text(GENERIC_SIGN_IN_ERROR)
    wrong_password = error.inner_text()

    # Clear the message first, so the next assertion sees the second attempt's.
    page.get_by_test_id("login-email").fill("")
    page.get_by_test_id("login-submit").click()
    expect(error).to_have_count(0)

    sign_in(page, new_credentials(faker_session).email, account.password)
    expect(error).to_have_text(GENERIC_SIGN_IN_ERROR)
    assert error.inner_text() == wrong_password
    expect(page).to_have_url(f"{base_url}/login")
    assert statuses == [401, 401]
