"""The demo account of a developer's stack: signed up through Better Auth's own API on first
start, so the login page works at once. Never created on test stacks."""

from __future__ import annotations

import httpx

from harness.envfile import DEMO_EMAIL, ensure_env_file
from harness.errors import ProviderError
from harness.stack import DemoAccount, Stack

DEMO_NAME = "Demo User"


def frontend_client(stack: Stack) -> httpx.Client:
    """An httpx client for the frontend. Better Auth checks the Origin of state-changing
    requests against its base URL, so every request carries the frontend's own."""
    return httpx.Client(
        base_url=stack.frontend_url, headers={"Origin": stack.frontend_url}, timeout=30.0
    )


def seed_demo_account(stack: Stack) -> DemoAccount:
    """Sign the demo account up (credentials from ``.env``); an existing one must sign in."""
    values = ensure_env_file()
    account = DemoAccount(values.get("DEMO_EMAIL") or DEMO_EMAIL, values["DEMO_PASSWORD"])
    body = {"email": account.email, "password": account.password}
    with frontend_client(stack) as client:
        signed_up = client.post("/api/auth/sign-up/email", json={**body, "name": DEMO_NAME})
        if signed_up.status_code == 200:
            return account
        signed_in = client.post("/api/auth/sign-in/email", json=body)
    if signed_in.status_code == 200:
        return account
    raise ProviderError(
        f"the demo account {account.email} could not be created ({signed_up.status_code}) nor "
        f"signed in ({signed_in.status_code}): does DEMO_PASSWORD in .env match its password?"
    )
