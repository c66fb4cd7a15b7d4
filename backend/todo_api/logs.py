"""JSON-lines logging on stderr, request-id context and the audit trail."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("todo_api")
audit_logger = logging.getLogger("todo_api.audit")
access_logger = logging.getLogger("todo_api.access")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Anything shaped like a compact JWS is masked, so a token that slips into an
# exception message or a log argument never reaches the log stream.
_JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured duplicate of the message
}


def redact(text: str) -> str:
    # The substring test is far cheaper than the search, and almost every line fails it.
    return _JWT_LIKE.sub("[redacted-token]", text) if "eyJ" in text else text


# One encoder for every line: json.dumps with options builds a new one per call.
_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode


class _Timestamps:
    """ISO 8601 UTC with milliseconds; the date and time of day are formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._prefix}.{int((created - second) * 1000):03d}+00:00"


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._timestamp = _Timestamps()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED:
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return _encode(entry)


def configure_logging(level: str) -> None:
    """Route the app's and uvicorn's loggers to one JSON stream on stderr."""
    # The lines carry none of the caller's file and line, thread, process or task, so every
    # record skips looking them up (the stack walk alone costs more than the formatting).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    if hasattr(logging, "logAsyncioTasks"):  # Python 3.12+
        logging.logAsyncioTasks = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("todo_api", "uvicorn", "uvicorn.error"):
        target = logging.getLogger(name)
        target.handlers = [handler] if name != "uvicorn.error" else []
        target.setLevel(level)
        target.propagate = name == "uvicorn.error"
    # The middleware writes its own access line (with request id); uvicorn's is plain text.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers = []
    uvicorn_access.propagate = False
    uvicorn_access.disabled = True


def audit(
    event: str,
    *,
    sub: str | None,
    path_user_id: str | None,
    method: str,
    path: str,
    client_ip: str | None,
    reason: str | None = None,
) -> None:
    fields: dict[str, Any] = {
        "event": event,
        "sub": sub,
        "path_user_id": path_user_id,
        "method": method,
        "path": path,
        "client_ip": client_ip,
        "request_id": request_id_var.get(),
    }
    if reason is not None:
        fields["reason"] = reason
    audit_logger.warning(event, extra=fields)
