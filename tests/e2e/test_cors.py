"""CORS as a real browser enforces it: the frontend's origin may read the API, others may not."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from harness.stack import Stack

from .support import Account

# The page a disallowed origin serves: it calls the API with a valid token taken from the
# URL fragment and writes what it could read (or the error) into #result.
PROBE_PAGE = b"""<!doctype html>
<html><body><pre id="result">pending</pre>
<script>
const { api, path, token } = JSON.parse(decodeURIComponent(location.hash.slice(1)));
fetch(api + path, { headers: { Authorization: "Bearer " + token } })
  .then(async (response) => `read ${response.status} ${await response.text()}`)
  .catch((error) => `blocked ${error.name}`)
  .then((text) => { document.getElementById("result").textContent = text; });
</script></body></html>
"""

# Runs in the page: the same call as the probe page, returning what the script could read.
FETCH_IN_PAGE = """async ({ api, path, token }) => {
  const response = await fetch(api + path, { headers: { Authorization: "Bearer " + token } });
  return { status: response.status, body: await response.json() };
}"""


class ProbeHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PROBE_PAGE)))
        self.end_headers()
        self.wfile.write(PROBE_PAGE)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is not the place for access logs."""


@pytest.fixture
def foreign_origin() -> Iterator[str]:
    """An origin the backend does not allow: a tiny page server on a free loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProbeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_frontend_origin_reads_the_api(tasks_page: Page, stack: Stack, account: Account) -> None:
    call = {
        "api": stack.backend_url,
        "path": f"/api/{account.id}/tasks",
        "token": account.access_token(),
    }
    result = tasks_page.evaluate(FETCH_IN_PAGE, call)
    assert result["status"] == 200
    assert result["body"]["items"] == []


def test_disallowed_origin_cannot_read_the_api(
    context: BrowserContext, stack: Stack, account: Account, foreign_origin: str
) -> None:
    token = account.access_token()
    call = {"api": stack.backend_url, "path": f"/api/{account.id}/tasks", "token": token}
    page = context.new_page()
    page.goto(f"{foreign_origin}/probe#{quote(json.dumps(call))}")

    expect(page.locator("#result")).to_have_text("blocked TypeError")
    # The same token is good: only the page's origin made the difference.
    control = context.request.get(
        f"{stack.backend_url}/api/{account.id}/tasks", headers={"Authorization": f"Bearer {token}"}
    )
    assert control.status == 200
