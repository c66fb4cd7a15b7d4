"""Pure ASGI middleware: request ids and headers, body limit, last-resort 500, CORS shape."""

from __future__ import annotations

import logging
import os
import re
import time

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


def _client_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:  # ASGI header names are lowercase
        if name == _REQUEST_ID:
            incoming = value.decode("latin-1")
            return incoming if _CLIENT_REQUEST_ID.fullmatch(incoming) else None
    return None


def _with_context_headers(raw: list[tuple[bytes, bytes]], request_id: bytes, csp: bool) -> None:
    """Set X-Request-ID; add each security header the response did not set itself."""
    present = set()
    kept = []
    for name, value in raw:
        lowered = name.lower()
        if lowered != _REQUEST_ID:
            present.add(lowered)
            kept.append((name, value))
    kept.append((_REQUEST_ID, request_id))
    kept.extend(header for header in _DEFAULT_HEADERS if header[0] not in present)
    if csp and _CSP_HEADER[0] not in present:
        kept.append(_CSP_HEADER)
    raw[:] = kept


class RequestContextMiddleware:
    """Outermost: every response, whoever produced it, gets the request id and headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # 32 random hex digits, like a uuid4's hex without building the UUID object.
        request_id = _client_request_id(scope) or os.urandom(16).hex()
        encoded_id = request_id.encode()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0
        path: str = scope["path"]
        csp = not path.startswith(_DOC_PATHS)

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                raw = message["headers"] = list(message.get("headers", ()))
                _with_context_headers(raw, encoded_id, csp)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
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


class GuardMiddleware:
    """Inside CORS: body size limit and the last-resort 500 (so both carry CORS headers)."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.max_body:
            await _too_large()(scope, receive, send)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    # Raised inside the app, so FastAPI's handlers render it as our 413.
                    raise HTTPException(413, "The request body is larger than 64 KiB.")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            logger.exception("unhandled error", extra={"path": scope["path"]})
            if response_started:
                raise
            request_id = scope.get("state", {}).get("request_id")
            await internal_error_response(request_id)(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    try:
        return int(Headers(scope=scope).get("content-length", "0"))
    except ValueError:
        return 0


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
