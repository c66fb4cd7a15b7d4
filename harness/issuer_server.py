"""The mock issuer over HTTP: JWKS endpoints, OpenID discovery and an admin API for tests.

The admin API mints tokens, rotates or drops keys, makes the JWKS endpoints fail or hang
for a while and reports how often the JWKS was fetched. It has no authentication: bind it
to loopback (the default) or to a private container network only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from typing import Any, Literal

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.issuer import Issuer

log = logging.getLogger("harness.issuer")

FailMode = Literal["error", "hang"]


class IssuerState:
    """What the HTTP endpoints share: the issuer, counters and the failure switch."""

    def __init__(self, issuer: Issuer, upstream_jwks: str | None = None) -> None:
        self.issuer = issuer
        self.upstream_jwks = upstream_jwks
        self.jwks_hits = 0
        self.fail_mode: FailMode | None = None
        self.fail_until = 0.0
        self._lock = threading.Lock()

    def count_hit(self) -> None:
        with self._lock:
            self.jwks_hits += 1

    def reset_counters(self) -> None:
        with self._lock:
            self.jwks_hits = 0

    def fail(self, seconds: float, mode: FailMode = "error") -> None:
        with self._lock:
            self.fail_mode = mode
            self.fail_until = time.monotonic() + seconds

    def recover(self) -> None:
        with self._lock:
            self.fail_mode = None
            self.fail_until = 0.0

    def failing(self) -> tuple[FailMode | None, float]:
        with self._lock:
            remaining = self.fail_until - time.monotonic()
            if self.fail_mode is None or remaining <= 0:
                return None, 0.0
            return self.fail_mode, remaining

    def stats(self) -> dict[str, Any]:
        mode, remaining = self.failing()
        return {
            "jwks_hits": self.jwks_hits,
            "kids": self.issuer.kids,
            "current_kid": self.issuer.kid,
            "failing": mode,
            "failing_for": round(remaining, 3),
            "issuer": self.issuer.issuer,
            "audience": self.issuer.audience,
            "upstream_jwks": self.upstream_jwks,
        }


def create_app(state: IssuerState) -> Starlette:
    async def jwks(_: Request) -> Response:
        state.count_hit()
        mode, remaining = state.failing()
        if mode == "hang":
            await asyncio.sleep(remaining)
        elif mode == "error":
            return JSONResponse({"error": "jwks unavailable (injected)"}, status_code=503)
        keys = list(state.issuer.jwks()["keys"])
        if state.upstream_jwks:
            keys.extend(await _upstream_keys(state.upstream_jwks))
        return JSONResponse({"keys": keys}, headers={"Cache-Control": "no-store"})

    async def discovery(_: Request) -> Response:
        base = state.issuer.issuer
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
        body = await _json_body(request)
        if "sub" not in body:
            return JSONResponse({"error": "sub is required (null for no sub claim)"}, 422)
        try:
            token = state.issuer.mint(
                body["sub"],
                ttl=float(body.get("ttl", 900)),
                claims=body.get("claims"),
                headers=body.get("headers"),
                kid=body.get("kid"),
                alg=body.get("alg"),
                nbf=body.get("nbf"),
                iat=body.get("iat"),
                omit=body.get("omit", ()),
            )
        except KeyError as exc:
            return JSONResponse({"error": f"unknown kid {exc}"}, 404)
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, 422)
        return JSONResponse({"token": token})

    async def rotate(request: Request) -> Response:
        body = await _json_body(request)
        kid = state.issuer.rotate(keep_old=bool(body.get("keep_old", True)))
        return JSONResponse({"kid": kid, "kids": state.issuer.kids})

    async def drop(request: Request) -> Response:
        body = await _json_body(request)
        try:
            state.issuer.drop(str(body.get("kid")))
        except KeyError:
            return JSONResponse({"error": "unknown kid"}, 404)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 409)
        return JSONResponse({"kids": state.issuer.kids})

    async def fail(request: Request) -> Response:
        body = await _json_body(request)
        mode = body.get("mode", "error")
        if mode not in ("error", "hang"):
            return JSONResponse({"error": "mode must be error or hang"}, 422)
        state.fail(float(body.get("seconds", 30)), mode)
        return JSONResponse(state.stats())

    async def recover(_: Request) -> Response:
        state.recover()
        return JSONResponse(state.stats())

    async def stats(_: Request) -> Response:
        return JSONResponse(state.stats())

    async def reset(_: Request) -> Response:
        state.reset_counters()
        state.recover()
        return JSONResponse(state.stats())

    async def bad_request(_: Request, exc: Exception) -> Response:
        return JSONResponse({"error": f"bad request: {exc}"}, 422)

    return Starlette(
        exception_handlers={ValueError: bad_request},
        routes=[
            Route("/jwks", jwks),
            Route("/api/auth/jwks", jwks),
            Route("/.well-known/jwks.json", jwks),
            Route("/.well-known/openid-configuration", discovery),
            Route("/healthz", health),
            Route("/admin/mint", mint, methods=["POST"]),
            Route("/admin/rotate", rotate, methods=["POST"]),
            Route("/admin/drop", drop, methods=["POST"]),
            Route("/admin/fail", fail, methods=["POST"]),
            Route("/admin/recover", recover, methods=["POST"]),
            Route("/admin/stats", stats),
            Route("/admin/reset", reset, methods=["POST"]),
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


class IssuerServer:
    """Runs the issuer app with uvicorn in a background thread (tests, local stacks)."""

    def __init__(
        self,
        issuer: Issuer,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        upstream_jwks: str | None = None,
    ) -> None:
        self.issuer = issuer
        self.state = IssuerState(issuer, upstream_jwks)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(create_app(self.state), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks"

    @property
    def jwks_hits(self) -> int:
        return self.state.jwks_hits

    def fail(self, seconds: float, mode: FailMode = "error") -> None:
        self.state.fail(seconds, mode)

    def recover(self) -> None:
        self.state.recover()

    def reset_counters(self) -> None:
        self.state.reset_counters()

    def start(self) -> IssuerServer:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("mock issuer did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> IssuerServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def serve(issuer: Issuer, host: str, port: int, *, upstream_jwks: str | None = None) -> None:
    """Serve in the foreground until interrupted (``harness issuer serve``)."""
    app = create_app(IssuerState(issuer, upstream_jwks))
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def main(argv: list[str] | None = None) -> None:
    """``python -m harness.issuer_server``: the container entry point (no CLI extras needed)."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m harness.issuer_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--issuer", default="http://localhost:3000")
    parser.add_argument("--audience", default=None)
    parser.add_argument("--key-file", type=Path, default=None)
    parser.add_argument("--upstream-jwks", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    issuer = Issuer(args.issuer, args.audience, key_file=args.key_file)
    serve(issuer, args.host, args.port, upstream_jwks=args.upstream_jwks)


if __name__ == "__main__":
    main()
