"""Access tokens renew silently past their expiry; a session revoked elsewhere ends cleanly."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from faker import Faker
from playwright.sync_api import BrowserContext, Playwright, Request, expect

from harness.stack import Stack

from .support import (
    Account,
    Accounts,
    NetworkLog,
    add_task,
    expect_saved,
    jwt_claims,
    login_url,
    sign_in,
    task_item,
)

EXPIRIES = 3
USE_TIMEOUT = 90.0


def test_app_keeps_working_past_several_token_expiries(
    short_token_stack: Stack,
    playwright: Playwright,
    faker_session: Faker,
    new_context: Any,
) -> None:
    frontend = short_token_stack.frontend_url
    accounts = Accounts(playwright, frontend, faker_session)
    try:
        account = accounts.create()
        context: BrowserContext = new_context(storage_state=account.storage_state())
        network = NetworkLog(short_token_stack.backend_url).attach(context)
        # When each request left the browser, by its token, to compare with the token's exp.
        sent_at: list[tuple[float, str]] = []

        def record(request: Request) -> None:
            auth = request.all_headers().get("authorization", "")
            if auth.startswith("DPoP ") and request.method != "OPTIONS":
                sent_at.append((time.time(), auth.removeprefix("DPoP ")))

        context.on("request", record)
        page = context.new_page()
        page.goto(f"{frontend}/tasks")
        add_task(page, "Keep me")
        expect_saved(page, "Keep me")
        toggle = task_item(page, "Keep me").get_by_test_id("task-toggle")

        # Keep using the app until the browser has needed several new tokens.
        deadline = time.monotonic() + USE_TIMEOUT
        checked = False
        while len({token for _, token in sent_at}) <= EXPIRIES:
            assert time.monotonic() < deadline, f"only {len(network.token_fetches)} token fetches"
            checked = not checked
            with page.expect_response(lambda response: "/complete" in response.url) as answer:
                toggle.click()
            assert answer.value.status == 200
            if checked:
                expect(toggle).to_be_checked()
            else:
                expect(toggle).not_to_be_checked()
            expect(page).to_have_url(f"{frontend}/tasks")

        tokens = network.access_tokens()
        assert len(set(tokens)) > EXPIRIES
        assert len(network.token_fetches) >= len(set(tokens))
        first_exp = min(jwt_claims(token)["exp"] for token in tokens)
        assert sent_at[-1][0] > first_exp, "the run outlived the first token"
        for when, token in sent_at:
            # Renewed ahead of time: no request carried a token past its exp.
            assert when < jwt_claims(token)["exp"] + 1, (when, jwt_claims(token))
        assert [status for status in network.statuses() if status >= 400] == []
        expect(page.get_by_test_id("toast-session-expired")).to_have_count(0)
        expect(page.get_by_test_id("toast-error")).to_have_count(0)

        page.reload()
        expect(task_item(page, "Keep me")).to_have_attribute(
            "data-completed", "true" if checked else "false"
        )
    finally:
        accounts.close()


def test_revoked_session_lands_on_login_with_notice(
    signed_in: BrowserContext, account: Account, base_url: str
) -> None:
    page = signed_in.new_page()
    # A controllable clock: the access token in memory stays valid until its exp, so the
    # test jumps to the time the app must renew it.
    page.clock.install()
    page.goto("/tasks?filter=active")
    add_task(page, "Before the revocation")
    expect_saved(page, "Before the revocation")

    # Another client of the same account signs out everywhere.
    revoked = account.session.post("/api/auth/revoke-sessions", data={})
    assert revoked.status == 200, revoked.text()
    assert account.session.get("/api/auth/token").status == 401

    page.clock.fast_forward("20:00")
    page.get_by_test_id("new-task-title").fill("Typed after the revocation")
    page.get_by_test_id("new-task-submit").click()

    expect(page).to_have_url(login_url(base_url, "/tasks?filter=active"))
    assert page.url.endswith("&reason=expired")
    expect(page.get_by_test_id("toast-session-expired")).to_be_visible()
    expect(page.get_by_test_id("toast-session-expired")).to_contain_text("session has ended")
    expect(page.get_by_test_id("session-expired-notice")).to_be_visible()

    # The jump stood for 20 minutes passing, but the servers' clocks did not move: bring the
    # page's back, since DPoP proofs carry the page's time and must be near the servers'.
    page.clock.set_system_time(datetime.now(UTC))

    # Signing in again returns to the same list with the unsent text still in the form.
    sign_in(page, account.email, account.password)
    expect(page).to_have_url(f"{base_url}/tasks?filter=active")
    expect(page.get_by_test_id("draft-restored")).to_be_visible()
    expect(page.get_by_test_id("new-task-title")).to_have_value("Typed after the revocation")
    expect_saved(page, "Before the revocation")
