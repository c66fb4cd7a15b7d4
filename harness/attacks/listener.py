"""``AttackListener``: where the ``jku``/``x5u`` attack tokens point.

A small HTTP server on 127.0.0.1 serving the attacker's JWKS and certificate. It records
every request: a verifier that follows those headers shows up here, and any request it
receives is a finding.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import serialization

from harness.attacks.tokens import foreign_certificate, foreign_public_jwk


class AttackListener:
    """An HTTP server on 127.0.0.1 serving the attacker's JWKS and certificate.

    It records every request: a verifier that follows ``jku``/``x5u`` shows up here.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[str] = []
        self._lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener._record(self.path)
                if self.path.startswith("/cert.pem"):
                    body = foreign_certificate().public_bytes(serialization.Encoding.PEM)
                    kind = "application/x-pem-file"
                else:
                    body = json.dumps({"keys": [foreign_public_jwk()]}).encode()
                    kind = "application/json"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # recorded in `requests`; no console noise

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _record(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    @property
    def hits(self) -> int:
        with self._lock:
            return len(self.requests)

    def start(self) -> AttackListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> AttackListener:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
