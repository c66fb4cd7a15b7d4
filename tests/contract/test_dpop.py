"""Token binding (DPoP, RFC 9449) through the running stack, in both enforcing modes.

The shared stack runs ``DPOP_MODE=optional`` (the default); a fork of it (own issuer and
backend on the same database) runs ``required``, and another ``off``. Every DPoP case of the
attack corpus is sent to both enforcing backends with the mode's expected answer; every
refusal is checked for the error shape and its challenge. Real bound tokens come from
Better Auth's ``/api/auth/dpop/token``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any, cast

import httpx
import jwt
import pytest
from faker import Faker

from harness.attacks import DPOP_ATTACKS, DpopAttack, DpopContext, DpopMode
from harness.audit import ReplayNotPrimed, run_audit, send_dpop
from harness.config import DpopMode as StackDpopMode
from harness.config import StackConfig
from harness.demo import frontend_client
from harness.dpop import DpopKey, bound_claims, dpop_headers
from harness.pytest_plugin import sign_up_with
from harness.stack import Stack
from harness.waiting import poll

from .support import (
    ATTACK_PROPERTY,
    TASK_ROUTES,
    assert_error,
    audit_entry,
    route_id,
    wait_for_log_entries,
)

BOUND_TOKEN_PATH = "/api/auth/dpop/token"


@pytest.fixture(scope="module")
def required_stack(stack: Stack) -> Iterator[Stack]:
    fork = stack.fork(StackConfig(name="dpop-required", dpop_mode=StackDpopMode.REQUIRED))
    try:
        yield fork
    finally:
        fork.down()


@pytest.fixture(scope="module", params=["optional", "required"])
def mode(request: pytest.FixtureRequest) -> DpopMode:
    return cast(DpopMode, request.param)


@pytest.fixture(scope="module")
def target(mode: DpopMode, stack: Stack, request: pytest.FixtureRequest) -> Stack:
    """The backend running ``mode``: the shared stack, or the fork that requires DPoP."""
    if mode == "optional":
        return stack
    required: Stack = request.getfixturevalue("required_stack")
    return required


@pytest.fixture
def client(target: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=15.0) as http:
        yield http


def _context(target: Stack, method: str = "GET", path: str = "") -> DpopContext:
    sub = f"dpop-{secrets.token_hex(6)}"
    url = f"{target.backend_url}/api/{sub}/tasks{path}"
    return DpopContext.create(target.issuer, sub, url, method)


def assert_challenge(response: httpx.Response, mode: DpopMode) -> None:
    """A 401's error code and challenge: DPoP refusals say DPoP, Bearer ones Bearer."""
    error = assert_error(response, 401)
    challenge = response.headers["www-authenticate"]
    if challenge.startswith("Bearer"):
        assert mode == "optional", "a backend that requires DPoP challenges with DPoP"
        assert challenge == 'Bearer error="invalid_token"'
        assert error["code"] == "invalid_token"
    else:
        assert challenge == f'DPoP error="{error["code"]}", algs="ES256 ES384 ES512 EdDSA"'
        assert error["code"] in ("invalid_token", "invalid_dpop_proof")


@pytest.mark.parametrize("attack", DPOP_ATTACKS, ids=lambda attack: attack.name)
def test_dpop_case(
    client: httpx.Client,
    target: Stack,
    mode: DpopMode,
    attack: DpopAttack,
    record_property: Callable[[str, object], None],
) -> None:
    ctx = _context(target)
    try:
        response = send_dpop(client, ctx, attack)
    except ReplayNotPrimed as exc:
        pytest.fail(f"the valid request before the replay was refused ({exc.status})")
    expected = attack.expected(mode)
    record_property(
        ATTACK_PROPERTY,
        json.dumps(
            {
                "name": f"{attack.name}[{mode}]",
                "status": response.status_code,
                "control": attack.is_control(mode),
            }
        ),
    )
    assert response.status_code in expected, (attack.description, response.text)
    if response.status_code == 401:
        assert_challenge(response, mode)
    else:
        assert response.json()["items"] == []
    # The client's own key and token still work after the attempt.
    assert client.get(ctx.url, headers=ctx.with_proof(ctx.proof())).status_code == 200


@pytest.mark.parametrize("route", TASK_ROUTES, ids=route_id)
def test_every_route_works_bound_and_refuses_the_bound_token_as_bearer(
    client: httpx.Client, target: Stack, route: tuple[str, str, dict[str, Any] | None]
) -> None:
    ctx = _context(target)
    base = ctx.url
    created = client.post(
        base, json={"title": "bound"}, headers=dpop_headers(ctx.key, ctx.bound_token, "POST", base)
    )
    assert created.status_code == 201, created.text
    method, template, body = route
    url = f"{target.backend_url}{template.format(user=ctx.sub, task=created.json()['id'])}"
    stolen = client.request(
        method, url, json=body, headers={"Authorization": f"Bearer {ctx.bound_token}"}
    )
    assert_error(stolen, 401, "invalid_token")
    answered = client.request(
        method, url, json=body, headers=dpop_headers(ctx.key, ctx.bound_token, method, url)
    )
    assert answered.status_code in (200, 201, 204), answered.text


def test_unbound_bearer_depends_on_the_mode(
    client: httpx.Client, target: Stack, mode: DpopMode
) -> None:
    ctx = _context(target)
    response = client.get(ctx.url, headers={"Authorization": f"Bearer {ctx.unbound_token}"})
    if mode == "optional":
        assert response.status_code == 200
    else:
        assert_challenge(response, mode)
        assert response.headers["www-authenticate"].startswith('DPoP error="invalid_token"')


def test_refusal_is_audited_with_its_reason(target: Stack, client: httpx.Client) -> None:
    ctx = _context(target)
    replay = next(a for a in DPOP_ATTACKS if a.name == "dpop-replayed")
    response = send_dpop(client, ctx, replay)
    assert_error(response, 401, "invalid_dpop_proof")
    request_id = response.headers["x-request-id"]
    entries = wait_for_log_entries(target, "backend", [request_id], event="auth_failed")
    entry = audit_entry(entries[request_id], "auth_failed")
    assert entry["reason"] == "dpop_replayed"
    assert entry["path_user_id"] == ctx.sub
    assert entry["sub"] is None
    log = target.logs("backend")
    assert ctx.bound_token not in log
    assert ctx.bound_token.split(".")[2] not in log


def test_preflight_allows_the_dpop_header(client: httpx.Client, target: Stack) -> None:
    response = client.options(
        f"{target.backend_url}/api/someone/tasks",
        headers={
            "Origin": target.frontend_url,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization, dpop",
        },
    )
    assert response.status_code == 200
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "dpop"} <= allowed


def test_harness_audit_reports_the_posture(target: Stack, mode: DpopMode) -> None:
    report = run_audit(target.backend_url, "/api/{sub}/tasks", target.issuer)
    assert report.dpop is not None
    assert report.dpop.mode == mode
    assert report.dpop.failures == []
    assert report.passed, report.summary_line()


def _real_bound_token(stack: Stack, fake: Faker, key: DpopKey) -> tuple[str, str]:
    """Sign up through Better Auth, then get a token bound to ``key`` from the frontend."""
    with frontend_client(stack) as frontend:
        user_id, _ = sign_up_with(frontend, fake)
        token_url = f"{stack.frontend_url}{BOUND_TOKEN_PATH}"
        no_proof = frontend.post(BOUND_TOKEN_PATH, json={})
        assert no_proof.status_code == 400, no_proof.text
        assert no_proof.json()["code"] == "INVALID_DPOP_PROOF"
        proof = key.proof("POST", token_url)
        issued = frontend.post(BOUND_TOKEN_PATH, json={}, headers={"DPoP": proof})
        assert issued.status_code == 200, issued.text
        return user_id, issued.json()["token"]


def test_better_auth_issues_bound_tokens_the_backend_enforces(
    stack: Stack, target: Stack, client: httpx.Client, faker_session: Faker
) -> None:
    key = DpopKey.generate()
    user_id, token = _real_bound_token(stack, faker_session, key)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["cnf"] == bound_claims(key.jkt)["cnf"]
    assert claims["sub"] == user_id
    assert claims["iss"] == claims["aud"] == stack.frontend_url
    url = f"{target.backend_url}/api/{user_id}/tasks"

    # A key Better Auth created moments ago may be new to a backend worker: it is fetched on
    # the next JWKS refresh (at most one cool-down), answered 503 + Retry-After till then.
    def accepted() -> int | None:
        status = client.get(url, headers=dpop_headers(key, token, "GET", url)).status_code
        return None if status == 503 else status

    assert poll(accepted, what="the backend to know Better Auth's key", timeout=45) == 200
    assert_error(client.get(url, headers={"Authorization": f"Bearer {token}"}), 401)
    thief = DpopKey.generate()
    assert_error(client.get(url, headers=dpop_headers(thief, token, "GET", url)), 401)


def test_off_mode_is_the_seed_bearer_flow(stack: Stack) -> None:
    fork = stack.fork(StackConfig(name="dpop-off", dpop_mode=StackDpopMode.OFF))
    try:
        key = DpopKey.generate()
        sub = f"dpop-off-{secrets.token_hex(4)}"
        url = f"{fork.backend_url}/api/{sub}/tasks"
        bound = fork.issuer.mint(sub, claims=bound_claims(key.jkt))
        with httpx.Client(timeout=15.0) as http:
            refused = http.get(url, headers=dpop_headers(key, bound, "GET", url))
            assert_error(refused, 401, "invalid_token")
            assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
            unbound = fork.issuer.mint(sub)
            assert http.get(url, headers={"Authorization": f"Bearer {unbound}"}).status_code == 200
        report = run_audit(fork.backend_url, "/api/{sub}/tasks", fork.issuer)
        assert report.dpop is not None
        assert report.dpop.mode == "off"
        assert report.passed
    finally:
        fork.down()
