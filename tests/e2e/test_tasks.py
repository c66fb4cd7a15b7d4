"""Task CRUD through the UI, persisted in the backend; another user's list stays closed."""

from __future__ import annotations

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from harness.stack import Stack

from .support import (
    Account,
    Accounts,
    NetworkLog,
    add_task,
    by_id,
    expect_saved,
    is_write,
    jwt_claims,
    task_item,
)


def test_create_edit_toggle_delete_persist(
    tasks_page: Page, signed_in: BrowserContext, network: NetworkLog
) -> None:
    page = tasks_page
    expect(page.get_by_test_id("tasks-empty")).to_be_visible()

    add_task(page, "Buy milk", "two litres")
    add_task(page, "Water plants")
    expect_saved(page, "Buy milk")
    expect_saved(page, "Water plants")
    expect(page.get_by_test_id("tasks-total")).to_have_text("2 tasks")
    expect(task_item(page, "Buy milk").get_by_test_id("task-description")).to_have_text(
        "two litres"
    )

    item = by_id(page, "Buy milk")
    item.get_by_test_id("task-edit").click()
    item.get_by_test_id("task-edit-title").fill("Buy oat milk")
    with page.expect_response(is_write("PATCH")) as saved:
        item.get_by_test_id("task-edit-save").click()
    assert saved.value.status == 200
    expect(item.get_by_test_id("task-title")).to_have_text("Buy oat milk")

    edited = task_item(page, "Buy oat milk")
    # A click, not check(): the box follows the (optimistic) cache a tick after the click.
    with page.expect_response(is_write("PATCH")) as toggled:
        edited.get_by_test_id("task-toggle").click()
    assert toggled.value.status == 200
    expect(edited.get_by_test_id("task-toggle")).to_be_checked()
    expect(edited).to_have_attribute("data-completed", "true")

    page.reload()
    edited = task_item(page, "Buy oat milk")
    expect(edited).to_have_attribute("data-completed", "true")
    expect(edited.get_by_test_id("task-description")).to_have_text("two litres")
    expect(task_item(page, "Water plants")).to_have_attribute("data-completed", "false")
    expect(task_item(page, "Buy milk")).to_have_count(0)

    second_tab = signed_in.new_page()
    second_tab.goto("/tasks?filter=completed")
    expect(second_tab.get_by_test_id("task-title")).to_have_text(["Buy oat milk"])

    task_item(page, "Water plants").get_by_test_id("task-delete").click()
    expect(page.get_by_test_id("delete-dialog")).to_be_visible()
    with page.expect_response(is_write("DELETE")) as deleted:
        page.get_by_test_id("delete-confirm").click()
    assert deleted.value.status == 204
    expect(task_item(page, "Water plants")).to_have_count(0)
    expect(page.get_by_test_id("tasks-total")).to_have_text("1 task")

    second_tab.goto("/tasks")
    expect(second_tab.get_by_test_id("task-title")).to_have_text(["Buy oat milk"])
    assert [status for status in network.statuses() if status >= 400] == []


def test_other_users_list_is_refused(
    signed_in: BrowserContext,
    account: Account,
    accounts: Accounts,
    stack: Stack,
    network: NetworkLog,
) -> None:
    other = accounts.create()
    secret = httpx.post(
        f"{stack.backend_url}/api/{other.id}/tasks",
        json={"title": "other user's secret"},
        headers={"Authorization": f"Bearer {other.access_token()}"},
        timeout=15.0,
    )
    assert secret.status_code == 201, secret.text

    page = signed_in.new_page()
    page.goto(f"/tasks?user={other.id}")

    denied = page.get_by_test_id("permission-denied")
    expect(denied).to_be_visible()
    expect(denied).to_contain_text("You don't have permission")
    expect(page.get_by_test_id("viewing-other-user")).to_contain_text(other.id)
    expect(page.get_by_test_id("new-task-form")).to_have_count(0)
    expect(page.get_by_text("other user's secret")).to_have_count(0)
    assert 403 in network.statuses()

    denied.get_by_test_id("back-to-my-tasks").click()
    expect(page.get_by_test_id("tasks-empty")).to_be_visible()
    expect(page.get_by_test_id("permission-denied")).to_have_count(0)
    # The browser always asked as itself: only the path named the other user.
    assert {jwt_claims(token)["sub"] for token in network.access_tokens()} == {account.id}
    assert any(f"/api/{other.id}/tasks" in seen.url for seen in network.api_requests)
