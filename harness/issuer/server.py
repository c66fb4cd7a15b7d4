"""The issuer over HTTP: JWKS endpoints, OpenID discovery and the admin API.

The admin API is the HTTP form of ``IssuerControl`` (``IssuerClient`` speaks it). It has no
authentication: bind it to loopback (the default) or to a private container network only.

    python -m harness.issuer --port 9000 --issuer http://localhost:3000   # container entry
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.errors import HarnessError, IssuerError
from harness.issuer.control import parse_mint_request
from harness.issuer.keys import Issuer
from harness.issuer.service import IssuerService
from harness.serving import BackgroundServer

log = logging.getLogger("harness.issuer")

Handler = Callable[[Request], Awaitable[Response]]


def create_app(service: IssuerService) -> Starlette:
    async def jwks(_: Request) -> Response:
        service.count_hit()
        mode, remaining = service.failing()
        if mode == "hang":
            await asyncio.sleep(remaining)
        elif mode == "error":
            return JSONResponse({"error": "jwks unavailable (injected)"}, status_code=503)
        keys = list(service.jwks()["keys"])
        if service.upstream_jwks:
            keys.extend(await _upstream_keys(service.upstream_jwks))
        return JSONResponse({"keys": keys}, headers={"Cache-Control": "no-store"})

    async def discovery(_: Request) -> Response:
        base = service.issuer.issuer
        return JSONResponse(
            {
                "issuer": base,
                "jwks_uri": f"{base}/api/auth/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def mint(request: Request) -> Response:
        sub, options = parse_mint_request(await _json_body(request))
        try:
            return JSONResponse({"token": service.mint(sub, **options)})
        except KeyError as exc:
            return JSONResponse({"error": f"unknown kid {exc}"}, 404)

    async def own_jwks(_: Request) -> Response:
        return JSONResponse(service.jwks())

    async def rotate(request: Request) -> Response:
        body = await _json_body(request)
        kid = service.rotate(keep_old=bool(body.get("keep_old", True)))
        return JSONResponse({"kid": kid, "kids": service.issuer.kids})

    async def drop(request: Request) -> Response:
        body = await _json_body(request)
        try:
            service.drop(str(body.get("kid")))
        except KeyError:
            return JSONResponse({"error": "unknown kid"}, 404)
        return JSONResponse({"kids": service.issuer.kids})

    async def fail(request: Request) -> Response:
        body = await _json_body(request)
        service.fail(float(body.get("seconds", 30)), body.get("mode", "error"))
        return JSONResponse(service.stats().to_json())

    def admin(action: Callable[[], None]) -> Handler:
        async def handle(_: Request) -> Response:
            action()
            return JSONResponse(service.stats().to_json())

        return handle

    async def refused(_: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc)}, 422 if isinstance(exc, ValueError) else 409)

    return Starlette(
        exception_handlers={ValueError: refused, TypeError: refused, HarnessError: refused},
        routes=[
            Route("/jwks", jwks),
            Route("/api/auth/jwks", jwks),
            Route("/.well-known/jwks.json", jwks),
            Route("/.well-known/openid-configuration", discovery),
            Route("/healthz", health),
            Route("/admin/mint", mint, methods=["POST"]),
            Route("/admin/jwks", own_jwks),
            Route("/admin/rotate", rotate, methods=["POST"]),
            Route("/admin/drop", drop, methods=["POST"]),
            Route("/admin/fail", fail, methods=["POST"]),
            Route("/admin/recover", admin(service.recover), methods=["POST"]),
            Route("/admin/reset", admin(service.reset), methods=["POST"]),
            Route("/admin/stats", admin(lambda: None)),
        ],
    )


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise ValueError("a JSON object is expected")
    return data


async def _upstream_keys(url: str) -> list[dict[str, Any]]:
    # An upstream outage must not hide the issuer's own keys: serve what we have.
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(url)
            response.raise_for_status()
            keys = response.json().get("keys", [])
            return [k for k in keys if isinstance(k, dict)]
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("upstream JWKS %s unavailable: %s", url, exc)
        return []


class IssuerServer(IssuerService):
    """The control interface in-process, served over HTTP from a background thread."""

    def __init__(
        self,
        issuer: Issuer,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        upstream_jwks: str | None = None,
    ) -> None:
        super().__init__(issuer, upstream_jwks)
        self._server = BackgroundServer(create_app(self), host, port)
        self.host, self.port = host, self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks"

    def start(self) -> IssuerServer:
        try:
            self._server.start()
        except RuntimeError as exc:
            raise IssuerError(f"the mock issuer did not start: {exc}") from None
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> IssuerServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def serve(issuer: Issuer, host: str, port: int, *, upstream_jwks: str | None = None) -> None:
    """Serve in the foreground until interrupted (``harness issuer serve``, the container)."""
    app = create_app(IssuerService(issuer, upstream_jwks))
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def main(argv: list[str] | None = None) -> None:
    """``python -m harness.issuer``: the container entry point (no CLI dependencies)."""
    parser = argparse.ArgumentParser(prog="python -m harness.issuer")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--issuer", default="http://localhost:3000")
    parser.add_argument("--audience", default=None)
    parser.add_argument("--key-file", type=Path, default=None)
    parser.add_argument("--upstream-jwks", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        issuer = Issuer(args.issuer, args.audience, key_file=args.key_file)
    except IssuerError as exc:
        parser.exit(1, f"harness issuer: error: {exc}\n")
    serve(issuer, args.host, args.port, upstream_jwks=args.upstream_jwks)
