"""The app under a failing network: backend unreachable, browser offline, a slow token endpoint."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, Route, expect

from harness.stack import Stack

from .support import NetworkLog, add_task, expect_saved, is_token_url, task_item


def test_backend_unreachable_then_back(tasks_page: Page, stack: Stack) -> None:
    page = tasks_page
    add_task(page, "Already saved")
    expect_saved(page, "Already saved")

    backend = f"{stack.backend_url}/**"
    page.route(backend, lambda route: route.abort("connectionrefused"))

    add_task(page, "Typed while the API was down", "every word of it")
    expect(page.get_by_test_id("toast-error")).to_contain_text("Could not add the task")
    # The optimistic row is rolled back and the typed text is back in the form.
    expect(task_item(page, "Typed while the API was down")).to_have_count(0)
    expect(page.get_by_test_id("new-task-title")).to_have_value("Typed while the API was down")
    expect(page.get_by_test_id("new-task-description")).to_have_value("every word of it")
    expect_saved(page, "Already saved")

    # A reload while the API is still down: an error panel with a retry button, and the
    # draft survives the reload.
    page.reload()
    expect(page.get_by_test_id("tasks-error")).to_be_visible()
    expect(page.get_by_test_id("draft-restored")).to_be_visible()
    expect(page.get_by_test_id("new-task-title")).to_have_value("Typed while the API was down")

    page.unroute(backend)
    page.get_by_test_id("tasks-retry").click()
    expect_saved(page, "Already saved")

    page.get_by_test_id("new-task-submit").click()
    expect_saved(page, "Typed while the API was down")
    page.reload()
    expect_saved(page, "Typed while the API was down")
    expect(page.get_by_test_id("new-task-title")).to_have_value("")
    expect(page.get_by_test_id("draft-restored")).to_have_count(0)


def test_offline_banner_and_write_sent_on_reconnect(
    tasks_page: Page, signed_in: BrowserContext, network: NetworkLog
) -> None:
    page = tasks_page
    banner = page.get_by_test_id("offline-banner")
    expect(banner).to_have_count(0)

    signed_in.set_offline(True)
    expect(banner).to_be_visible()
    add_task(page, "Written offline")
    # Shown at once, held back until the connection returns.
    pending = task_item(page, "Written offline")
    expect(pending).to_have_attribute("data-pending", "true")
    assert not any(seen.method == "POST" for seen in network.api_requests)

    signed_in.set_offline(False)
    expect(banner).to_have_count(0)
    expect_saved(page, "Written offline")
    expect(page.get_by_test_id("toast-error")).to_have_count(0)

    page.reload()
    expect_saved(page, "Written offline")
    assert [seen.method for seen in network.api_requests].count("POST") == 1


def test_parallel_requests_share_one_token_fetch(
    signed_in: BrowserContext, network: NetworkLog
) -> None:
    """20 task writes issued while the first token is still on its way: one token fetch."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    signed_in.route(is_token_url, hold)
    page = signed_in.new_page()
    with page.expect_request(lambda request: is_token_url(request.url)):
        page.goto("/tasks")
    expect(page.get_by_test_id("tasks-loading")).to_be_visible()

    expect(page.get_by_test_id("new-task-submit")).to_be_enabled()
    titles = [f"parallel {index:02d}" for index in range(20)]
    title = page.get_by_test_id("new-task-title")
    for text in titles:
        title.fill(text)
        title.press("Enter")
        expect(title).to_have_value("")
    assert network.api_requests == [], "nothing reaches the API before a token exists"

    assert len(held) == 1
    held[0].continue_()
    signed_in.unroute(is_token_url)

    expect(page.get_by_test_id("tasks-total")).to_have_text("20 tasks")
    for text in titles:
        expect_saved(page, text)
    assert len(network.token_fetches) == 1
    posts = [seen for seen in network.api_requests if seen.method == "POST"]
    assert len(posts) == 20
    assert len(set(network.access_tokens())) == 1
