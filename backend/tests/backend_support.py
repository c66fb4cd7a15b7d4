"""Assertions shared by the backend's tests."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm
from todo_api.logs import JsonFormatter
from todo_api.settings import Settings

ISSUER = "http://localhost:3000"
AUDIENCE = "http://localhost:3000"


class FakeClock:
    """Monotonic clock the tests move by hand (JWKS cool-down and max-age)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Api:
    """A running app and an HTTP client for it."""

    app: FastAPI
    http: httpx.AsyncClient
    clock: FakeClock

    @property
    def jwks_fetches(self) -> int:
        return int(self.app.state.jwks.fetch_count)


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Audit records exactly as they are written to stderr (parsed back from JSON)."""
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == "todo_api.audit"
    ]


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) <= {"code", "message", "fields"}
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    assert response.headers.get("x-request-id")
    return error


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait for a background effect (polling, never a fixed sleep)."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def settings_for(database_url: str, jwks_url: str, /, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwks_url": jwks_url,
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "jwks_cooldown_seconds": 30,
        "jwks_timeout_seconds": 2,
        **overrides,
    }
    return Settings(**values)


@dataclass
class Reply:
    """What `DocumentServer` answers: the body is sent chunk by chunk, as given."""

    chunks: list[bytes]
    headers: dict[str, str]
    status: int = 200


class DocumentServer:
    """An HTTP server on 127.0.0.1 answering every GET with `reply` (any bytes, any headers).

    For key-set documents the issuer's server would never send: compressed, oversized,
    streamed without a length, or held back until `release` is set.
    """

    def __init__(self) -> None:
        self.reply = Reply(chunks=[b'{"keys": []}'], headers={})
        self.hits = 0
        self.release = threading.Event()
        self.release.set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.hits += 1
                server.release.wait(10)
                reply = server.reply
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                if "Content-Length" not in headers:
                    headers.setdefault("Transfer-Encoding", "chunked")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                chunked = headers.get("Transfer-Encoding") == "chunked"
                try:
                    for chunk in reply.chunks:
                        if chunked:
                            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        else:
                            self.wfile.write(chunk)
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: that is what some tests want

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/jwks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def serve(self, document: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(document).encode()
        length = {"Content-Length": str(len(body))}
        self.reply = Reply(chunks=[body], headers={**length, **(headers or {})})

    def __enter__(self) -> DocumentServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(header: Any, claims: Any, key: rsa.RSAPrivateKey) -> str:
    """An RS256 JWS over any header and claims, however malformed (PyJWT's encoder checks
    header types, so it cannot build these). A `str` is used as the segment's JSON text."""

    def segment(value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return b64url(text.encode("utf-8", "surrogatepass"))

    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = RS256.sign(signing_input.encode(), key)
    return f"{signing_input}.{b64url(signature)}"


RS256 = RSAAlgorithm(RSAAlgorithm.SHA256)
