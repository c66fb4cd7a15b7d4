"""The one ASGI layer around the app: request id, CORS, security headers, body limit, the
last-resort 500 and the access line.

One layer rather than one per concern: as three stacked middlewares they cost 20 us of a
64 us `/healthz` in process (each parsed the request headers again and wrapped `send` once
more). Here the request headers are read in one pass and the response headers extended in
one. The CORS rules stay Starlette's (`CORSMiddleware`'s preflight and simple-response
logic); the only case handled here is a request without `Origin`, which just gets
`Vary: Origin`.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections.abc import Callable, Collection
from typing import NamedTuple

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_api.errors import error_response, internal_error_response
from todo_api.logs import access_logger, logger, request_id_var

MAX_BODY_BYTES = 64 * 1024
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_DOC_PATHS = ("/docs", "/redoc")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
# The API only ever returns JSON; the interactive docs page needs its scripts.
API_CSP = "default-src 'none'; frame-ancestors 'none'"

# Encoded once: the per-request work is one pass over the response's raw headers.
_DEFAULT_HEADERS = [
    (name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()
]
_CSP_HEADER = (b"content-security-policy", API_CSP.encode())
_REQUEST_ID = b"x-request-id"
_ORIGIN = b"origin"
_CONTENT_LENGTH = b"content-length"
_VARY = b"vary"


class CorsPolicy(NamedTuple):
    """`CORSMiddleware`'s arguments: the origins, methods and headers browsers may use."""

    allow_origins: Collection[str]
    allow_methods: Collection[str]
    allow_headers: Collection[str]
    expose_headers: Collection[str]
    allow_credentials: bool = True
    max_age: int = 600


class _RequestHeaders(NamedTuple):
    request_id: str | None
    has_origin: bool
    declared_length: int


def _read_request_headers(scope: Scope) -> _RequestHeaders:
    """The three request headers this layer needs, in one pass (ASGI names are lowercase)."""
    request_id = None
    has_origin = False
    declared_length = 0
    for name, value in scope["headers"]:
        if name == _REQUEST_ID:
            incoming = value.decode("latin-1")
            request_id = incoming if _CLIENT_REQUEST_ID.fullmatch(incoming) else None
        elif name == _ORIGIN:
            has_origin = True
        elif name == _CONTENT_LENGTH:
            try:
                declared_length = int(value)
            except ValueError:
                declared_length = 0
    return _RequestHeaders(request_id, has_origin, declared_length)


def _tail(csp: bool, vary_origin: bool) -> list[tuple[bytes, bytes]]:
    headers = list(_DEFAULT_HEADERS)
    if csp:
        headers.append(_CSP_HEADER)
    if vary_origin:
        headers.append((_VARY, b"Origin"))
    return headers


# What a response that set none of these headers itself gets, by (csp, vary_origin).
_TAILS = {(csp, vary): _tail(csp, vary) for csp in (False, True) for vary in (False, True)}
_OWN_NAMES = frozenset({_REQUEST_ID, _VARY, _CSP_HEADER[0], *(n for n, _ in _DEFAULT_HEADERS)})


def _with_context_headers(
    raw: list[tuple[bytes, bytes]], request_id: bytes, csp: bool, vary_origin: bool
) -> None:
    """Set X-Request-ID; add each security header the response did not set itself; with
    `vary_origin`, add `Origin` to `Vary` (as CORSMiddleware does for a request without one)."""
    present = {name.lower() for name, _ in raw}
    if present.isdisjoint(_OWN_NAMES):  # the usual case: one append, one extend
        raw.append((_REQUEST_ID, request_id))
        raw.extend(_TAILS[csp, vary_origin])
        return
    kept = []
    vary: list[bytes] = []
    for name, value in raw:
        lowered = name.lower()
        if lowered == _REQUEST_ID:
            continue
        if vary_origin and lowered == _VARY:
            vary.append(value)
            continue
        kept.append((name, value))
    if vary_origin:
        kept.append((_VARY, b", ".join([*vary, b"Origin"])))
    kept.append((_REQUEST_ID, request_id))
    kept.extend(header for header in _DEFAULT_HEADERS if header[0] not in present)
    if csp and _CSP_HEADER[0] not in present:
        kept.append(_CSP_HEADER)
    raw[:] = kept


class EdgeMiddleware:
    """Outermost of the app's own layers: every response, whoever produced it (a route, an
    error handler, a refused preflight, the 413 or the last-resort 500), carries the request
    id, the security headers and the CORS headers, and is logged once."""

    def __init__(self, app: ASGIApp, cors: CorsPolicy, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body
        self.cors = JsonCORSMiddleware(app, **cors._asdict())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _read_request_headers(scope)
        # 32 random hex digits, like a uuid4's hex without building the UUID object.
        request_id = incoming.request_id or os.urandom(16).hex()
        encoded_id = request_id.encode()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0
        path: str = scope["path"]
        csp = not path.startswith(_DOC_PATHS)
        # A browser's request: Starlette's CORS rules read its headers.
        browser = Headers(scope=scope) if incoming.has_origin else None

        async def send_out(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                raw = message["headers"] = list(message.get("headers", ()))
                _with_context_headers(raw, encoded_id, csp, vary_origin=browser is None)
            await send(message)

        def response_started() -> bool:
            return status != 0

        try:
            if browser is not None and self._is_preflight(scope, browser):
                await self.cors.preflight_response(browser)(scope, receive, send_out)
            else:
                # From a browser, Starlette's simple-response rules add the CORS headers.
                app_send: Send = (
                    send_out
                    if browser is None
                    else functools.partial(self.cors.send, send=send_out, request_headers=browser)
                )
                await self._guarded(
                    scope, receive, app_send, incoming.declared_length, response_started
                )
        finally:
            # The fields are only gathered when the line is written (not at LOG_LEVEL=WARNING).
            if access_logger.isEnabledFor(logging.INFO):
                access_logger.info(
                    "%s %s %s",
                    scope["method"],
                    path,
                    status,
                    extra={
                        "method": scope["method"],
                        "path": path,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "client_ip": scope["client"][0] if scope.get("client") else None,
                    },
                )
            request_id_var.reset(token)

    @staticmethod
    def _is_preflight(scope: Scope, headers: Headers) -> bool:
        return scope["method"] == "OPTIONS" and "access-control-request-method" in headers

    async def _guarded(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        declared: int,
        response_started: Callable[[], bool],
    ) -> None:
        """The app behind the body limit; an exception it lets out becomes the 500."""
        if declared > self.max_body:
            await _too_large()(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    # Raised inside the app, so FastAPI's handlers render it as our 413.
                    raise HTTPException(413, "The request body is larger than 64 KiB.")
            return message

        try:
            await self.app(scope, limited_receive, send)
        except Exception:
            logger.exception("unhandled error", extra={"path": scope["path"]})
            if response_started():
                raise
            await internal_error_response(request_id_var.get())(scope, receive, send)


def _too_large() -> Response:
    return error_response(413, "payload_too_large", "The request body is larger than 64 KiB.")


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a rejected preflight answered in the common error shape."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        message = bytes(response.body).decode("utf-8", "replace")
        rejected: JSONResponse = error_response(response.status_code, "cors_rejected", message)
        for name, value in response.headers.items():
            if name.lower() not in {"content-type", "content-length"}:
                rejected.headers[name] = value
        return rejected
