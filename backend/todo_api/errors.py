"""One error shape for every 4xx/5xx: {"error": {"code", "message", "fields"?}}."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from todo_api.db import DatabaseUnavailable
from todo_api.logs import logger

BEARER_CHALLENGE = 'Bearer error="invalid_token"'
DB_RETRY_AFTER_SECONDS = 5
_PROBED_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")

_CODES = {
    400: "bad_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorResponse(BaseModel):
    """Body of every 4xx/5xx response."""

    error: ErrorBody


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    fields: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = dict(fields)
    return JSONResponse({"error": body}, status_code=status, headers=dict(headers or {}))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def status_code_name(status: int) -> str:
    return _CODES.get(status) or _phrase(status).lower().replace(" ", "_")


def _field_errors(exc: RequestValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        # ("body", "title") -> "title"; a body that is missing or not JSON -> "body".
        if error.get("type") == "json_invalid" or len(loc) < 2:
            name = loc[0] if loc else "request"
        else:
            # ("body", "title", "constrained-str"): later parts name pydantic union members,
            # not fields; no request model here nests objects, so the field is loc[1].
            name = loc[1]
        fields.setdefault(name, str(error.get("msg", "invalid value")))
    return fields


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, headers=exc.headers)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this request's path (RFC 9110 section 10.2.1).

    Asked of the routes themselves, one probe per method: Starlette's own 405 names only
    the methods of the first route whose path matched, and a resource's methods are spread
    over several routes (one per operation).
    """
    allowed = []
    for method in _PROBED_METHODS:
        probe: dict[str, Any] = {
            "type": "http",
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "method": method,
            "headers": [],
        }
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's only 400: a body it cannot decode (e.g. not UTF-8). For the client that
        # is an invalid body like any other, so it gets the documented 422.
        return error_response(
            422,
            "validation_error",
            "The request is not valid.",
            fields={"body": "The body could not be decoded as JSON."},
        )
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = BEARER_CHALLENGE
    message = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    return error_response(
        exc.status_code, status_code_name(exc.status_code), message, headers=headers
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        422, "validation_error", "The request is not valid.", fields=_field_errors(exc)
    )


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    logger.error("database unavailable", extra={"error": type(exc).__name__})
    return error_response(
        503,
        "database_unavailable",
        "The database is unavailable; retry later.",
        headers={"Retry-After": str(DB_RETRY_AFTER_SECONDS)},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # Connection-level failures only; any other database error is a bug (500).
    unavailable = (
        DatabaseUnavailable,
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.TimeoutError,
    )
    for exc_type in unavailable:
        app.add_exception_handler(exc_type, _database_unavailable)


def internal_error_response(request_id: str | None) -> JSONResponse:
    return error_response(
        500,
        "internal_error",
        f"Internal server error (request id {request_id}).",
    )
