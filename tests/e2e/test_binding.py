"""Token binding (DPoP) in the browser: bound tokens, stolen ones useless elsewhere, the key."""

from __future__ import annotations

import time
from typing import Any

import httpx
from faker import Faker
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from harness.dpop import DpopKey, thumbprint
from harness.stack import Stack

from .support import (
    BOUND_TOKEN_PATH,
    TOKEN_PATH,
    Account,
    Accounts,
    NetworkLog,
    Seen,
    add_task,
    expect_saved,
    jwt_claims,
    sign_in,
    task_item,
)

# The key as the page keeps it: whether its private half is extractable (and really cannot be
# exported) and the public coordinates. `indexedDB.databases()` first: opening a database that
# does not exist would create it without the app's object store.
READ_KEY = """
async () => {
  const names = (await indexedDB.databases()).map((db) => db.name);
  if (!names.includes("tasks-dpop")) return null;
  const db = await new Promise((resolve, reject) => {
    const opened = indexedDB.open("tasks-dpop");
    opened.onsuccess = () => resolve(opened.result);
    opened.onerror = () => reject(opened.error);
  });
  try {
    if (!db.objectStoreNames.contains("keys")) return null;
    const pair = await new Promise((resolve, reject) => {
      const read = db.transaction("keys").objectStore("keys").get("current");
      read.onsuccess = () => resolve(read.result);
      read.onerror = () => reject(read.error);
    });
    if (!pair) return null;
    let exported = true;
    try { await crypto.subtle.exportKey("pkcs8", pair.privateKey); } catch { exported = false; }
    const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
    return { extractable: pair.privateKey.extractable, exported, kty: jwk.kty, crv: jwk.crv,
             x: jwk.x, y: jwk.y };
  } finally {
    db.close();
  }
}
"""


def stored_key(page: Page) -> dict[str, Any] | None:
    key: dict[str, Any] | None = page.evaluate(READ_KEY)
    return key


def stored_thumbprint(page: Page) -> str:
    key = stored_key(page)
    assert key is not None, "no DPoP key in IndexedDB"
    assert key["extractable"] is False
    assert key["exported"] is False
    return thumbprint(key)


def token_of(seen: Seen) -> str:
    assert seen.authorization is not None
    assert seen.authorization.startswith("DPoP "), seen.authorization
    return seen.authorization.removeprefix("DPoP ")


def proof_of(seen: Seen) -> str:
    assert seen.dpop, f"{seen.method} {seen.url} had no proof"
    return seen.dpop


def bound_requests(network: NetworkLog) -> list[Seen]:
    assert network.api_requests, "the page sent no API request"
    for seen in network.api_requests:
        token_of(seen)
        proof_of(seen)
    return network.api_requests


def test_browser_uses_bound_tokens_and_a_stolen_one_is_useless_elsewhere(
    tasks_page: Page, network: NetworkLog, account: Account, stack: Stack
) -> None:
    add_task(tasks_page, "Bound")
    expect_saved(tasks_page, "Bound")
    jkt = stored_thumbprint(tasks_page)
    assert network.token_fetches
    assert all(BOUND_TOKEN_PATH in url for url in network.token_fetches)
    seen = bound_requests(network)
    for request in seen:
        assert jwt_claims(token_of(request))["cnf"] == {"jkt": jkt}
        assert jwt_claims(token_of(request))["sub"] == account.id
        proof_claims = jwt_claims(proof_of(request))
        assert proof_claims["htm"] == request.method
        assert proof_claims["htu"] == request.url.split("?")[0]
    assert len({jwt_claims(proof_of(r))["jti"] for r in seen}) == len(seen)

    # The thief has what the browser sent (token and proofs), but not the key.
    captured = next(r for r in seen if r.method == "GET")
    token = token_of(captured)
    path = f"/api/{account.id}/tasks"
    url = f"{stack.backend_url}{path}"
    thief = DpopKey.generate()
    attempts: dict[str, dict[str, str]] = {
        "as Bearer": {"Authorization": f"Bearer {token}"},
        "without a proof": {"Authorization": f"DPoP {token}"},
        "with the captured proof": {"Authorization": f"DPoP {token}", "DPoP": proof_of(captured)},
        "with a proof by another key": {
            "Authorization": f"DPoP {token}",
            "DPoP": thief.proof("GET", url, token=token),
        },
    }
    with httpx.Client(base_url=stack.backend_url, timeout=15.0) as thief_client:
        for name, headers in attempts.items():
            response = thief_client.get(path, headers=headers)
            assert response.status_code == 401, (name, response.text)
            assert response.json()["error"]["code"] in ("invalid_token", "invalid_dpop_proof")

    # The browser, holding the key, carries on with the same token.
    network.api_requests.clear()
    with tasks_page.expect_response(lambda response: "/complete" in response.url) as answer:
        task_item(tasks_page, "Bound").get_by_test_id("task-toggle").click()
    assert answer.value.status == 200
    expect(task_item(tasks_page, "Bound")).to_have_attribute("data-completed", "true")
    assert [s.status for s in network.api_responses if s.status and s.status >= 400] == []
    assert token in {token_of(r) for r in bound_requests(network)}


def wait_for_no_key(page: Page, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while stored_key(page) is not None:
        assert time.monotonic() < deadline, "the DPoP key is still stored after sign-out"
        page.wait_for_timeout(100)


def test_key_survives_a_reload_and_is_gone_after_sign_out(
    tasks_page: Page, network: NetworkLog, account: Account, base_url: str
) -> None:
    first = stored_thumbprint(tasks_page)
    tasks_page.reload()
    expect(tasks_page.get_by_test_id("tasks-total")).to_be_visible()
    assert stored_thumbprint(tasks_page) == first
    # The reloaded page fetched a new token, bound to the same key.
    tokens = network.access_tokens()
    assert {jwt_claims(t)["cnf"]["jkt"] for t in tokens} == {first}

    tasks_page.get_by_test_id("sign-out").click()
    expect(tasks_page).to_have_url(f"{base_url}/login")
    wait_for_no_key(tasks_page)

    sign_in(tasks_page, account.email, account.password)
    expect(tasks_page).to_have_url(f"{base_url}/tasks")
    add_task(tasks_page, "After signing in again")
    expect_saved(tasks_page, "After signing in again")
    assert stored_thumbprint(tasks_page) != first


def test_plain_bearer_flow_with_binding_off(
    bearer_stack: Stack,
    playwright: Playwright,
    faker_session: Faker,
    new_context: Any,
) -> None:
    accounts = Accounts(playwright, bearer_stack.frontend_url, faker_session)
    try:
        account = accounts.create()
        context: BrowserContext = new_context(storage_state=account.storage_state())
        network = NetworkLog(bearer_stack.backend_url).attach(context)
        page = context.new_page()
        page.goto(f"{bearer_stack.frontend_url}/tasks")
        add_task(page, "Plain")
        expect_saved(page, "Plain")
        with page.expect_response(lambda response: "/complete" in response.url) as answer:
            task_item(page, "Plain").get_by_test_id("task-toggle").click()
        assert answer.value.status == 200
        expect(task_item(page, "Plain")).to_have_attribute("data-completed", "true")

        tokens = network.access_tokens("Bearer")
        assert all(seen.dpop is None for seen in network.api_requests)
        assert all("cnf" not in jwt_claims(token) for token in tokens)
        assert {jwt_claims(token)["sub"] for token in tokens} == {account.id}
        assert network.token_fetches
        assert all(url.endswith(TOKEN_PATH) for url in network.token_fetches)
        assert stored_key(page) is None
        assert [status for status in network.statuses() if status >= 400] == []
    finally:
        accounts.close()
