"""The JWKS cache seen from outside: fetch counts at the issuer, rotation, outages."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from backend_support import Api, assert_error, eventually
from faker import Faker

from harness.issuer import Issuer, IssuerServer

pytestmark = pytest.mark.anyio

COOLDOWN = 30.0


def fresh(issuer: Issuer, sub: str, **mint: Any) -> str:
    """A token no request has used yet (identical claims in one second sign identically)."""
    claims = {"jti": secrets.token_hex(8), **mint.pop("claims", {})}
    return issuer.mint(sub, claims=claims, **mint)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get_tasks(api: Api, sub: str, token: str) -> int:
    response = await api.http.get(f"/api/{sub}/tasks", headers=auth(token))
    return response.status_code


async def test_jwks_fetched_once_across_1000_requests(
    api: Api, token_issuer: Issuer, jwks_server: IssuerServer, fake: Faker
) -> None:
    users = [fake.uuid4() for _ in range(10)]
    # Distinct tokens, so each request is verified, not answered from the token cache.
    tokens = [(sub, fresh(token_issuer, sub)) for _ in range(100) for sub in users]
    statuses = [await get_tasks(api, sub, token) for sub, token in tokens]
    assert statuses == [200] * 1000
    assert jwks_server.jwks_hits == 1
    assert api.jwks_fetches == 1


async def test_concurrent_first_requests_share_one_fetch(
    api: Api, token_issuer: Issuer, jwks_server: IssuerServer, fake: Faker
) -> None:
    subs = [fake.uuid4() for _ in range(30)]
    statuses = await asyncio.gather(*(get_tasks(api, s, fresh(token_issuer, s)) for s in subs))
    assert list(statuses) == [200] * 30
    assert jwks_server.jwks_hits == 1


async def test_rotated_key_is_accepted_after_one_refetch(
    api: Api, token_issuer: Issuer, jwks_server: IssuerServer, user_id: str
) -> None:
    old_kid = token_issuer.kid
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200
    api.clock.advance(COOLDOWN)
    new_kid = token_issuer.rotate(keep_old=True)
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id, kid=new_kid)) == 200
    assert jwks_server.jwks_hits == 2
    # The old key is still published: its tokens keep working without another fetch.
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id, kid=old_kid)) == 200
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id, kid=new_kid)) == 200
    assert jwks_server.jwks_hits == 2


async def test_dropped_key_is_refused_once_the_set_is_refreshed(
    make_api: Callable[..., Any], token_issuer: Issuer, jwks_server: IssuerServer, user_id: str
) -> None:
    async with make_api(jwks_max_age_seconds=60) as api:
        old_kid = token_issuer.kid
        old_token = fresh(token_issuer, user_id, kid=old_kid)
        assert await get_tasks(api, user_id, old_token) == 200
        token_issuer.rotate(keep_old=True)
        token_issuer.drop(old_kid)
        api.clock.advance(61)
        # First request after max-age: served from the cache while the refresh runs.
        await get_tasks(api, user_id, old_token)
        await eventually(lambda: api.app.state.jwks.version == 2)
        response = await api.http.get(f"/api/{user_id}/tasks", headers=auth(old_token))
        assert_error(response, 401, "invalid_token")


async def test_jwks_down_with_cached_kid_still_serves(
    make_api: Callable[..., Any], token_issuer: Issuer, jwks_server: IssuerServer, user_id: str
) -> None:
    async with make_api(jwks_max_age_seconds=60) as api:
        assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200
        jwks_server.fail(600)
        assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200
        # Past max-age and cool-down the refresh fails: the cached key is kept.
        api.clock.advance(120)
        for _ in range(5):
            assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200
        await eventually(lambda: api.jwks_fetches == 2 and not api.app.state.jwks.refreshing)
        assert jwks_server.jwks_hits == 2
        assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200


async def test_jwks_down_with_unknown_kid_is_503(
    api: Api, token_issuer: Issuer, jwks_server: IssuerServer, user_id: str
) -> None:
    jwks_server.fail(600)
    response = await api.http.get(
        f"/api/{user_id}/tasks", headers=auth(fresh(token_issuer, user_id))
    )
    assert_error(response, 503, "jwks_unavailable")
    assert 1 <= int(response.headers["retry-after"]) <= COOLDOWN
    assert "www-authenticate" not in response.headers

    # Within the cool-down no new attempt is made; the answer stays 503.
    again = await api.http.get(f"/api/{user_id}/tasks", headers=auth(fresh(token_issuer, user_id)))
    assert_error(again, 503, "jwks_unavailable")
    assert jwks_server.jwks_hits == 1

    jwks_server.recover()
    api.clock.advance(COOLDOWN)
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200
    assert jwks_server.jwks_hits == 2


async def test_jwks_down_with_new_kid_after_rotation_is_503(
    api: Api, token_issuer: Issuer, jwks_server: IssuerServer, user_id: str
) -> None:
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200
    new_kid = token_issuer.rotate()
    jwks_server.fail(600)
    api.clock.advance(COOLDOWN)
    response = await api.http.get(
        f"/api/{user_id}/tasks", headers=auth(fresh(token_issuer, user_id, kid=new_kid))
    )
    assert_error(response, 503, "jwks_unavailable")
    assert int(response.headers["retry-after"]) >= 1


async def test_hanging_jwks_is_cut_off_and_answers_503(
    make_api: Callable[..., Any], token_issuer: Issuer, jwks_server: IssuerServer, user_id: str
) -> None:
    async with make_api(jwks_timeout_seconds=0.3) as api:
        jwks_server.fail(1.5, mode="hang")
        response = await api.http.get(
            f"/api/{user_id}/tasks", headers=auth(fresh(token_issuer, user_id))
        )
        assert_error(response, 503, "jwks_unavailable")


async def test_random_kids_cause_at_most_one_refetch_per_cooldown(
    api: Api, token_issuer: Issuer, jwks_server: IssuerServer, user_id: str
) -> None:
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200
    for window in range(1, 4):
        for _ in range(100):
            token = fresh(token_issuer, user_id, headers={"kid": secrets.token_urlsafe(12)})
            response = await api.http.get(f"/api/{user_id}/tasks", headers=auth(token))
            # Refused either way: 401 once a fetch looked for the kid, 503 + Retry-After
            # while the cool-down forbids one (the kid may be a key published since).
            if response.status_code == 503:
                assert_error(response, 503, "jwks_unavailable")
                assert 1 <= int(response.headers["retry-after"]) <= COOLDOWN
            else:
                assert_error(response, 401, "invalid_token")
        # The first window shares the initial fetch's cool-down; each later one adds one.
        assert jwks_server.jwks_hits == window
        api.clock.advance(COOLDOWN)
    # Legitimate traffic is unaffected throughout.
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200


async def test_same_unknown_kid_is_answered_from_the_negative_cache(
    api: Api, token_issuer: Issuer, jwks_server: IssuerServer, user_id: str
) -> None:
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200
    api.clock.advance(COOLDOWN)
    token = fresh(token_issuer, user_id, headers={"kid": "retired"})
    assert await get_tasks(api, user_id, token) == 401
    assert jwks_server.jwks_hits == 2
    api.clock.advance(COOLDOWN)
    assert await get_tasks(api, user_id, token) == 401
    assert jwks_server.jwks_hits == 2


async def test_new_kid_first_seen_during_cooldown_is_503_never_401(
    api: Api, token_issuer: Issuer, jwks_server: IssuerServer, user_id: str
) -> None:
    """A rotation just after a fetch must not sign anyone out: the new kid is not known
    *yet*, which is temporary (503 + Retry-After), and it is accepted once a fetch may run."""
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200
    new_kid = token_issuer.rotate()
    api.clock.advance(COOLDOWN / 2)
    response = await api.http.get(
        f"/api/{user_id}/tasks", headers=auth(fresh(token_issuer, user_id, kid=new_kid))
    )
    assert_error(response, 503, "jwks_unavailable")
    assert int(response.headers["retry-after"]) == COOLDOWN / 2
    assert "www-authenticate" not in response.headers
    assert jwks_server.jwks_hits == 1
    api.clock.advance(COOLDOWN / 2)
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id, kid=new_kid)) == 200
    assert jwks_server.jwks_hits == 2


async def test_random_kid_probes_cannot_turn_rotations_into_sign_outs(
    api: Api, token_issuer: Issuer, jwks_server: IssuerServer, user_id: str
) -> None:
    """A probe with a random kid at the start of every cool-down keeps a fetch just before
    each rotation; the rotated key's users get a temporary 503, never a 401."""
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200
    for _ in range(3):
        api.clock.advance(COOLDOWN)
        probe = fresh(token_issuer, user_id, headers={"kid": secrets.token_urlsafe(12)})
        assert await get_tasks(api, user_id, probe) == 401  # its own fetch looked for it
        new_kid = token_issuer.rotate()
        api.clock.advance(1)
        assert await get_tasks(api, user_id, fresh(token_issuer, user_id, kid=new_kid)) == 503
    api.clock.advance(COOLDOWN)
    assert await get_tasks(api, user_id, fresh(token_issuer, user_id)) == 200


async def test_cached_token_is_refused_once_its_key_is_removed(
    make_api: Callable[..., Any], token_issuer: Issuer, jwks_server: IssuerServer, user_id: str
) -> None:
    """The same token, answered from the verified-token cache, stops working once the key
    set no longer publishes its key: within max-age (+ cool-down), not whenever some other
    request happens to refresh the set."""
    async with make_api(jwks_max_age_seconds=60) as api:
        old_kid = token_issuer.kid
        token = fresh(token_issuer, user_id)
        for _ in range(3):
            assert await get_tasks(api, user_id, token) == 200
        token_issuer.rotate(keep_old=True)
        token_issuer.drop(old_kid)
        api.clock.advance(30)
        assert await get_tasks(api, user_id, token) == 200  # within max-age: still valid
        api.clock.advance(31)
        # Only this token is in use; its own request finds the set due and refreshes it.
        await get_tasks(api, user_id, token)
        await eventually(lambda: not api.app.state.jwks.refreshing)
        response = await api.http.get(f"/api/{user_id}/tasks", headers=auth(token))
        assert_error(response, 401, "invalid_token")
        assert jwks_server.jwks_hits == 2
