"""Accounts made through Better Auth's HTTP API, a network recorder and shared UI steps."""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from faker import Faker
from playwright.sync_api import (
    APIRequestContext,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    Request,
    Response,
    StorageState,
    expect,
)

TOKEN_PATH = "/api/auth/token"
# Where the browser gets its tokens with binding on (DPOP_MODE optional or required).
BOUND_TOKEN_PATH = "/api/auth/dpop/token"
TOKEN_PATHS = (TOKEN_PATH, BOUND_TOKEN_PATH)


@dataclass(frozen=True)
class Credentials:
    name: str
    email: str
    password: str


def new_credentials(fake: Faker) -> Credentials:
    # A random suffix keeps emails unique across runs on a reused (`saved`) stack as well.
    local = f"{fake.user_name()}.{secrets.token_hex(3)}"
    return Credentials(name=fake.name(), email=f"{local}@example.test", password=fake.password(14))


@dataclass
class Account:
    """A Better Auth user, signed in through ``session`` (an HTTP client holding its cookie)."""

    id: str
    credentials: Credentials
    session: APIRequestContext

    @property
    def email(self) -> str:
        return self.credentials.email

    @property
    def password(self) -> str:
        return self.credentials.password

    def storage_state(self) -> StorageState:
        """The session cookie as Playwright storage state, to open a signed-in browser context."""
        return self.session.storage_state()

    def access_token(self) -> str:
        response = self.session.get(TOKEN_PATH)
        assert response.status == 200, response.text()
        token: str = response.json()["token"]
        return token


@dataclass
class Accounts:
    """Creates users against one frontend; disposes of their HTTP clients at the end."""

    playwright: Playwright
    frontend_url: str
    fake: Faker
    _sessions: list[APIRequestContext] = field(default_factory=list)

    def client(self) -> APIRequestContext:
        # Better Auth refuses cookie-bearing writes without a trusted Origin (CSRF check).
        session = self.playwright.request.new_context(
            base_url=self.frontend_url, extra_http_headers={"Origin": self.frontend_url}
        )
        self._sessions.append(session)
        return session

    def create(self) -> Account:
        credentials = new_credentials(self.fake)
        session = self.client()
        response = session.post(
            "/api/auth/sign-up/email",
            data={
                "email": credentials.email,
                "password": credentials.password,
                "name": credentials.name,
            },
        )
        assert response.status == 200, response.text()
        return Account(id=response.json()["user"]["id"], credentials=credentials, session=session)

    def close(self) -> None:
        for session in self._sessions:
            session.dispose()
        self._sessions.clear()


@dataclass(frozen=True)
class Seen:
    method: str
    url: str
    authorization: str | None
    status: int | None = None
    dpop: str | None = None


@dataclass
class NetworkLog:
    """What a browser context sent: token fetches and calls to the task API (no preflights)."""

    backend_url: str
    token_fetches: list[str] = field(default_factory=list)
    api_requests: list[Seen] = field(default_factory=list)
    api_responses: list[Seen] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> NetworkLog:
        context.on("request", self._on_request)
        context.on("response", self._on_response)
        return self

    def _is_api(self, request: Request) -> bool:
        return request.url.startswith(f"{self.backend_url}/api/") and request.method != "OPTIONS"

    def _on_request(self, request: Request) -> None:
        if is_token_url(request.url):
            self.token_fetches.append(request.url)
        elif self._is_api(request):
            headers = request.all_headers()
            authorization, proof = headers.get("authorization"), headers.get("dpop")
            self.api_requests.append(Seen(request.method, request.url, authorization, dpop=proof))

    def _on_response(self, response: Response) -> None:
        request = response.request
        if self._is_api(request):
            seen = Seen(request.method, request.url, None, response.status)
            self.api_responses.append(seen)

    def statuses(self) -> list[int]:
        return [seen.status for seen in self.api_responses if seen.status is not None]

    def access_tokens(self, scheme: str = "DPoP") -> list[str]:
        """The token of every API request, each of which must use ``scheme``."""
        tokens = []
        for seen in self.api_requests:
            assert seen.authorization is not None, f"{seen.method} {seen.url} had no token"
            assert seen.authorization.startswith(f"{scheme} "), seen.authorization
            tokens.append(seen.authorization.removeprefix(f"{scheme} "))
        return tokens


def is_token_url(url: str) -> bool:
    return urlsplit(url).path in TOKEN_PATHS


def is_write(method: str) -> Callable[[Response], bool]:
    """Matches the task API's response to a write (for ``page.expect_response``)."""
    return lambda response: response.request.method == method and "/api/" in response.url


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded without verification (the backend verifies)."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def login_url(frontend_url: str, next_path: str) -> re.Pattern[str]:
    """``/login?next=<path>`` (URL-encoded), optionally followed by more parameters."""
    encoded = re.escape(quote(next_path, safe=""))
    return re.compile(rf"^{re.escape(frontend_url)}/login\?next={encoded}(&.*)?$")


def sign_in(page: Page, email: str, password: str) -> None:
    # Submit buttons are enabled once React has hydrated; text typed before that would not
    # reach the form's state.
    expect(page.get_by_test_id("login-submit")).to_be_enabled()
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def add_task(page: Page, title: str, description: str = "") -> None:
    # The form remounts when it hydrates (to restore a draft): wait for it before typing.
    expect(page.get_by_test_id("new-task-submit")).to_be_enabled()
    page.get_by_test_id("new-task-title").fill(title)
    if description:
        page.get_by_test_id("new-task-description").fill(description)
    page.get_by_test_id("new-task-submit").click()


def task_item(page: Page, title: str) -> Locator:
    """The list item whose title is exactly ``title``."""
    return page.get_by_test_id("task-item").filter(
        has=page.get_by_test_id("task-title").get_by_text(title, exact=True)
    )


def by_id(page: Page, title: str) -> Locator:
    """The list item now titled ``title``, found again by its id whatever it shows later."""
    task_id = task_item(page, title).get_attribute("data-task-id")
    return page.locator(f'[data-testid="task-item"][data-task-id="{task_id}"]')


def expect_saved(page: Page, title: str) -> None:
    """The task is listed and confirmed by the API (no longer an optimistic placeholder)."""
    item = task_item(page, title)
    expect(item).to_have_count(1)
    expect(item).not_to_have_attribute("data-pending", "true")
