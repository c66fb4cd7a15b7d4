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
    return _JWT_LIKE.sub("[redacted-token]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RESERVED:
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Route the app's and uvicorn's loggers to one JSON stream on stderr."""
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
