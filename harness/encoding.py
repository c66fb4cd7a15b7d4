"""base64url as JOSE uses it (RFC 7515 §2: no padding), and JSON segments."""

from __future__ import annotations

import base64
import json
from typing import Any


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def json_segment(value: Any) -> str:
    """A compact JSON value as one base64url segment of a JWT."""
    return b64url(json.dumps(value, separators=(",", ":")).encode())
