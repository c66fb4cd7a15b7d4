"""Status policy and the one error shape; headers on every response; CORS; outages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from backend_support import Api, assert_error, settings_for
from fastapi import FastAPI, Response
from todo_api.app import create_app

from harness.issuer import Issuer, IssuerServer
from harness.postgres import TempPostgres

pytestmark = pytest.mark.anyio

Bearer = Callable[..., dict[str, str]]
ORIGIN = "http://localhost:3000"


async def test_unknown_route_is_404_json(api: Api) -> None:
    assert_error(await api.http.get("/nowhere"), 404, "not_found")
    assert_error(await api.http.get("/api/someone"), 404, "not_found")


async def test_wrong_method_is_405_json(api: Api, bearer: Bearer, user_id: str) -> None:
    error = assert_error(await api.http.delete("/healthz"), 405, "method_not_allowed")
    assert error["message"]
    response = await api.http.put(f"/api/{user_id}/tasks", json={}, headers=bearer(user_id))
    assert_error(response, 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/{user}/tasks", "GET, POST"),
        ("PUT", "/api/{user}/tasks", "GET, POST"),
        ("POST", "/api/{user}/tasks/{task}", "DELETE, GET, PATCH, PUT"),
        ("GET", "/api/{user}/tasks/{task}/complete", "PATCH"),
        ("POST", "/healthz", "GET"),
    ],
)
async def test_405_allow_lists_every_method_of_the_resource(
    api: Api, bearer: Bearer, user_id: str, method: str, path: str, allowed: str
) -> None:
    """RFC 9110 15.5.6: Allow names the methods the resource supports, not one route's."""
    target = path.format(user=user_id, task="00000000-0000-0000-0000-000000000000")
    response = await api.http.request(method, target, headers=bearer(user_id))
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed


@pytest.mark.parametrize(
    "host_headers",
    [{"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example"}, {}],
    ids=["host", "x-forwarded-host", "plain"],
)
async def test_trailing_slash_is_not_found_never_a_redirect(
    api: Api, bearer: Bearer, user_id: str, host_headers: dict[str, str]
) -> None:
    """A slash redirect was built from the Host header: a 307 to any host, before auth."""
    for path in (f"/api/{user_id}/tasks/", "/healthz/"):
        response = await api.http.get(path, headers=host_headers)
        assert_error(response, 404, "not_found")
        assert "location" not in response.headers


async def test_body_over_64_kib_is_413(api: Api, bearer: Bearer, user_id: str) -> None:
    headers = {**bearer(user_id), "Content-Type": "application/json"}
    big = b'{"title": "' + b"x" * (64 * 1024) + b'"}'
    response = await api.http.post(f"/api/{user_id}/tasks", content=big, headers=headers)
    assert_error(response, 413, "payload_too_large")

    async def chunks() -> Any:
        # No Content-Length: the limit is enforced while the body streams in.
        yield b'{"title": "'
        for _ in range(20):
            yield b"x" * 4096
        yield b'"}'

    response = await api.http.post(f"/api/{user_id}/tasks", content=chunks(), headers=headers)
    assert_error(response, 413, "payload_too_large")
    listing = await api.http.get(f"/api/{user_id}/tasks", headers=bearer(user_id))
    assert listing.json()["total"] == 0


async def test_malformed_json_is_422(api: Api, bearer: Bearer, user_id: str) -> None:
    headers = {**bearer(user_id), "Content-Type": "application/json"}
    response = await api.http.post(f"/api/{user_id}/tasks", content=b"{nope", headers=headers)
    error = assert_error(response, 422, "validation_error")
    assert "body" in error["fields"]


def _add_failing_route(app: FastAPI) -> None:
    async def explode() -> None:
        raise RuntimeError("secret internals: dsn=postgresql://admin:hunter2@db")

    app.add_api_route("/explode", explode)


async def test_unexpected_exception_is_500_without_internals(
    make_api: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    async with make_api(setup=_add_failing_route) as api:
        response = await api.http.get("/explode", headers={"Origin": ORIGIN})
    error = assert_error(response, 500, "internal_error")
    request_id = response.headers["x-request-id"]
    assert request_id in error["message"]
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    logged = [r for r in caplog.records if r.name == "todo_api" and r.exc_info]
    assert logged, "the traceback is logged server-side"


async def test_every_response_has_request_id_and_security_headers(
    api: Api, bearer: Bearer, user_id: str
) -> None:
    responses = [
        await api.http.get("/healthz"),
        await api.http.get(f"/api/{user_id}/tasks", headers=bearer(user_id)),
        await api.http.get(f"/api/{user_id}/tasks"),
        await api.http.get("/nowhere"),
        await api.http.options(
            f"/api/{user_id}/tasks",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
        ),
    ]
    ids = [r.headers["x-request-id"] for r in responses]
    assert len(set(ids)) == len(ids)
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"


def _add_route_with_own_headers(app: FastAPI) -> None:
    async def own_headers() -> Response:
        headers = {"Vary": "Accept", "Cache-Control": "max-age=5", "X-Request-ID": "forged"}
        return Response(b"{}", media_type="application/json", headers=headers)

    app.add_api_route("/own-headers", own_headers)


@pytest.mark.parametrize("origin", [None, ORIGIN], ids=["no-origin", "frontend-origin"])
async def test_a_response_keeps_its_own_headers_and_gets_the_rest(
    make_api: Callable[..., Any], origin: str | None
) -> None:
    async with make_api(setup=_add_route_with_own_headers) as api:
        response = await api.http.get("/own-headers", headers={"Origin": origin} if origin else {})
    assert response.headers.get_list("vary") == ["Accept, Origin"]
    assert response.headers.get_list("cache-control") == ["max-age=5"]
    assert response.headers.get_list("x-request-id") != ["forged"]
    assert len(response.headers.get_list("x-request-id")) == 1
    assert response.headers["x-frame-options"] == "DENY"
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    assert ("access-control-allow-origin" in response.headers) == (origin is not None)


async def test_safe_client_request_id_is_kept_and_unsafe_one_replaced(api: Api) -> None:
    kept = await api.http.get("/healthz", headers={"X-Request-ID": "trace-abc.123"})
    assert kept.headers["x-request-id"] == "trace-abc.123"
    replaced = await api.http.get("/healthz", headers={"X-Request-ID": "bad id\r\nx: y"})
    assert replaced.headers["x-request-id"] != "bad id\r\nx: y"
    assert replaced.headers["x-request-id"].isalnum()


async def test_cors_preflight_allows_the_frontend_only(api: Api, user_id: str) -> None:
    allowed = await api.http.options(
        f"/api/{user_id}/tasks",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert int(allowed.headers["access-control-max-age"]) > 0

    denied = await api.http.options(
        f"/api/{user_id}/tasks",
        headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "GET"},
    )
    assert_error(denied, 400, "cors_rejected")
    assert "access-control-allow-origin" not in denied.headers


async def test_errors_carry_cors_headers_for_the_frontend(api: Api, user_id: str) -> None:
    response = await api.http.get(f"/api/{user_id}/tasks", headers={"Origin": ORIGIN})
    assert_error(response, 401, "invalid_token")
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


async def test_database_down_is_503_with_retry_after(
    make_api: Callable[..., Any], bearer: Bearer, user_id: str
) -> None:
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    async with make_api(database_url=unreachable, migrate_on_start=False) as api:
        ready = await api.http.get("/readyz")
        assert_error(ready, 503, "database_unavailable")
        assert int(ready.headers["retry-after"]) > 0
        assert (await api.http.get("/healthz")).status_code == 200
        response = await api.http.post(
            f"/api/{user_id}/tasks", json={"title": "x"}, headers=bearer(user_id)
        )
        assert_error(response, 503, "database_unavailable")


async def test_openapi_documents_bearer_scheme_and_error_shape(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operations = [
        operation
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for operation in item.values()
    ]
    assert len(operations) == 7
    for operation in operations:
        assert operation["security"] == [{"HTTPBearer": []}]
        for status in ("401", "403", "422", "503"):
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_postgres_stopping_and_returning_is_503_then_200(
    jwks_server: IssuerServer, token_issuer: Issuer, user_id: str
) -> None:
    # Its own cluster: stopping the shared one would disturb the other tests.
    with TempPostgres() as cluster:
        url = cluster.create_database("outage")
        app = create_app(settings_for(url, jwks_server.jwks_url))
        auth = {"Authorization": f"Bearer {token_issuer.mint(user_id)}"}
        path = f"/api/{user_id}/tasks"
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        ):
            assert (
                await http.post(path, json={"title": "before"}, headers=auth)
            ).status_code == 201
            cluster.stop()
            down = await http.get(path, headers=auth)
            assert_error(down, 503, "database_unavailable")
            assert int(down.headers["retry-after"]) > 0
            assert_error(await http.get("/readyz"), 503, "database_unavailable")
            cluster.start()
            back = await http.get(path, headers=auth)
            assert back.status_code == 200
            assert back.json()["total"] == 1
