"""``harness audit`` passes the real backend and fails verifiers with known flaws.

The real backend runs as a uvicorn process (SQLite, trusting an in-process mock issuer).
The weak verifiers are small ASGI apps served in this process, each with one classic
mistake, so the audit is shown to detect what it claims to detect.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from rich.console import Console
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.attacks import ATTACKS, DPOP_ATTACKS, Verdict
from harness.audit import AuditReport, print_report, run_audit
from harness.dpop import access_token_hash, htu, thumbprint
from harness.issuer import Issuer, IssuerClient, IssuerServer
from harness.ports import free_port
from harness.serving import BackgroundServer
from harness.waiting import http_ok, wait_for

ORIGIN = "http://localhost:3000"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def issuer_server() -> Iterator[IssuerServer]:
    with IssuerServer(Issuer(ORIGIN)) as server:
        yield server


@pytest.fixture(scope="module")
def issuer(issuer_server: IssuerServer) -> Iterator[IssuerClient]:
    with IssuerClient(issuer_server.url) as client:
        yield client


@pytest.fixture(scope="module")
def backend(issuer_server: IssuerServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real backend with its default DPoP mode (optional)."""
    yield from _backend(issuer_server, tmp_path_factory, {})


@pytest.fixture(scope="module")
def required_backend(
    issuer_server: IssuerServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from _backend(issuer_server, tmp_path_factory, {"DPOP_MODE": "required"})


def _backend(
    issuer_server: IssuerServer, tmp_path_factory: pytest.TempPathFactory, extra: dict[str, str]
) -> Iterator[str]:
    """The real backend: ``uvicorn todo_api.main:app`` on SQLite, trusting the mock issuer."""
    workdir = tmp_path_factory.mktemp("backend")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'todo.db'}",
        "JWKS_URL": issuer_server.jwks_url,
        "JWT_ISSUER": ORIGIN,
        "JWT_AUDIENCE": ORIGIN,
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    log = (workdir / "backend.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "todo_api.main:app", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: http_ok(f"{url}/readyz"),
            what="backend",
            timeout=30,
            gone=lambda: None if process.poll() is None else "the backend exited",
        )
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


class ThreadedServer(BackgroundServer):
    """A test double served on a free loopback port; ``with`` yields its URL."""

    def __enter__(self) -> str:  # type: ignore[override]
        self.start()
        return self.url


MAX_LIFETIME = 3600


async def decode(issuer: Issuer, token: str, flaw: str = "") -> dict[str, Any]:
    """The token's claims, verified correctly except for ``flaw``."""
    header = jwt.get_unverified_header(token)
    if flaw == "alg-none" and str(header.get("alg")).lower() == "none":
        return jwt.decode(token, options={"verify_signature": False})
    if flaw == "follows-jku" and "jku" in header:
        async with httpx.AsyncClient() as client:
            keys = (await client.get(header["jku"])).json()["keys"]
        key: Any = jwt.PyJWK(keys[0])
    else:
        key = issuer.public_key(header["kid"])
    checks_aud = flaw != "skips-aud"
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=["RS256"],
        issuer=issuer.issuer,
        audience=issuer.audience if checks_aud else None,
        options={
            "verify_aud": checks_aud,
            "require": ["exp", "iat", "sub", "iss", *(["aud"] if checks_aud else [])],
        },
    )
    # PyJWT reads exp and iat with int(), so "1767225600" passes; a careful verifier
    # checks the types.
    if flaw != "plain-pyjwt" and not all(isinstance(claims[name], int) for name in ("exp", "iat")):
        raise jwt.InvalidTokenError("exp or iat is not a number")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise jwt.InvalidTokenError("sub is not a non-empty string")
    if flaw != "no-lifetime-cap" and int(claims["exp"]) - time.time() > MAX_LIFETIME:
        raise jwt.InvalidTokenError("lives too long")
    if flaw != "raw-location" and any(ord(char) < 0x20 for char in claims["sub"]):
        raise jwt.InvalidTokenError("control characters in sub")
    return claims


def weak_verifier(issuer: Issuer, flaw: str) -> Starlette:
    """A tasks endpoint whose token check is correct except for one ``flaw``."""

    async def tasks(request: Request) -> Response:
        values = request.headers.getlist("authorization")
        if len(values) > 1 and flaw != "first-header-wins":
            return JSONResponse({"error": "one Authorization header"}, 401)
        scheme, _, token = (values[0] if values else "").partition(" ")
        if scheme.lower() != "bearer":
            return JSONResponse({"error": "no token"}, 401)
        try:
            claims = await decode(issuer, token, flaw)
        except Exception:  # any failure to verify is a refusal in this toy
            return JSONResponse({"error": "invalid token"}, 401)
        if claims.get("sub") != request.path_params["sub"]:
            return JSONResponse({"error": "forbidden"}, 403)
        if request.method == "POST":
            # The raw subject in Location: a 500 outside Latin-1, a dropped answer with CR/LF.
            location = f"/api/{claims['sub']}/tasks/1"
            return JSONResponse({"id": "1"}, 201, headers={"Location": location})
        return JSONResponse({"items": []})

    methods = ["GET", "POST"] if flaw == "raw-location" else ["GET"]
    app = Starlette(routes=[Route("/api/{sub}/tasks", tasks, methods=methods)])
    # Starlette redirects /path/ to /path, building the target from the Host header.
    app.router.redirect_slashes = flaw == "slash-redirect"
    if flaw == "cors-reflects-origin":
        app.add_middleware(
            CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_headers=["*"]
        )
    return app


def flagged(report: AuditReport) -> dict[str, Verdict]:
    return {r.attack.name: r.verdict for r in report.results if r.verdict.failing}


def test_real_backend_accepts_no_attack(backend: str, issuer: IssuerClient) -> None:
    report = run_audit(backend, "/api/{sub}/tasks", issuer)
    assert report.error is None
    assert report.accepted == 0
    assert report.server_errors == 0
    assert report.unexpected == 0, [r.to_dict() for r in report.results if r.verdict.failing]
    assert report.listener_requests == []
    assert report.tried == len([a for a in ATTACKS if not a.is_control])
    assert report.passed
    # Every 401 carries the Bearer challenge (no "note" was needed for any case).
    assert all(not r.note for r in report.results)
    assert report.dpop is not None
    assert report.dpop.mode == "optional"
    assert report.dpop.tried == len([a for a in DPOP_ATTACKS if not a.is_control("optional")])
    assert report.dpop.failures == []
    assert all(r.verdict is Verdict.PASSED for r in report.dpop.results)


def test_backend_that_requires_dpop_passes(required_backend: str, issuer: IssuerClient) -> None:
    report = run_audit(required_backend, "/api/{sub}/tasks", issuer)
    assert report.error is None
    assert report.dpop is not None
    assert report.dpop.mode == "required"
    assert report.dpop.probes["bearer_unbound"] == 401
    assert [r.attack.name for r in report.dpop.results if r.verdict is not Verdict.PASSED] == []
    assert report.passed, report.summary_line()
    assert "DPoP required: 26 DPoP cases tried, 0 accepted" in report.summary_line()


def weak_dpop_verifier(issuer: Issuer, flaw: str) -> Starlette:
    """Bearer and DPoP done right except for one ``flaw`` in the proof or binding checks."""
    spent: set[str] = set()

    def proof_ok(request: Request, token: str, jkt: str) -> bool:
        proofs = request.headers.getlist("dpop")
        if len(proofs) != 1:
            return False
        header = jwt.get_unverified_header(proofs[0])
        jwk = header.get("jwk")
        if header.get("typ") != "dpop+jwt" or not isinstance(jwk, dict) or "d" in jwk:
            return False
        claims = jwt.decode(
            proofs[0],
            jwt.PyJWK(jwk, algorithm="ES256").key,
            algorithms=["ES256"],
            options={"require": ["iat", "jti", "htm", "htu"]},
        )
        checks = [
            flaw == "ignores-htm" or claims["htm"] == request.method,
            htu(claims["htu"]) == htu(str(request.url)),
            abs(claims["iat"] - time.time()) < 60,
            flaw == "ignores-ath" or claims.get("ath") == access_token_hash(token),
            thumbprint(jwk) == jkt,
            flaw == "no-replay-check" or claims["jti"] not in spent,
        ]
        spent.add(claims["jti"])
        return all(checks)

    async def tasks(request: Request) -> Response:
        values = request.headers.getlist("authorization")
        scheme, _, token = (values[0] if len(values) == 1 else "").partition(" ")
        try:
            claims = await decode(issuer, token)
            jkt = claims.get("cnf", {}).get("jkt")
            if scheme.lower() == "bearer":
                allowed = jkt is None or flaw == "bearer-ignores-cnf"
            else:
                allowed = scheme.lower() == "dpop" and jkt and proof_ok(request, token, jkt)
        except Exception:  # any failure to verify is a refusal in this toy
            allowed = False
        if not allowed:
            return JSONResponse({"error": "invalid token"}, 401)
        return JSONResponse({"items": []})

    app = Starlette(routes=[Route("/api/{sub}/tasks", tasks)])
    app.router.redirect_slashes = False
    return app


@pytest.mark.parametrize(
    ("flaw", "expected"),
    [
        ("no-replay-check", {"dpop-replayed"}),
        ("ignores-htm", {"dpop-wrong-method"}),
        ("ignores-ath", {"dpop-ath-mismatch", "dpop-ath-missing"}),
        ("bearer-ignores-cnf", {"dpop-bound-as-bearer", "dpop-bound-as-bearer-with-proof"}),
    ],
)
def test_audit_flags_a_weak_dpop_verifier(
    issuer_server: IssuerServer, issuer: IssuerClient, flaw: str, expected: set[str]
) -> None:
    with ThreadedServer(weak_dpop_verifier(issuer_server.issuer, flaw)) as url:
        report = run_audit(url, "/api/{sub}/tasks", issuer)
    assert report.error is None
    assert flagged(report) == {}
    assert report.dpop is not None
    assert report.dpop.mode == "optional"
    assert {r.attack.name for r in report.dpop.failures} == expected
    assert not report.passed


def test_a_bearer_only_api_has_dpop_off(issuer_server: IssuerServer, issuer: IssuerClient) -> None:
    with ThreadedServer(weak_verifier(issuer_server.issuer, "no flaw")) as url:
        report = run_audit(url, "/api/{sub}/tasks", issuer)
    assert report.dpop is not None
    assert report.dpop.mode == "off"
    assert report.dpop.results == []
    assert report.passed
    assert "DPoP off" in report.summary_line()


@pytest.mark.parametrize(
    ("flaw", "expected"),
    [
        ("alg-none", {"alg-none", "alg-None", "alg-NONE", "alg-nOnE"}),
        ("skips-aud", {"aud-wrong", "aud-missing", "aud-list-without-ours"}),
        ("follows-jku", {"jku-listener"}),
        ("plain-pyjwt", {"exp-string", "iat-string"}),
        ("no-lifetime-cap", {"exp-year-9999", "exp-huge-integer"}),
        ("first-header-wins", {"authorization-twice-valid-first"}),
        ("slash-redirect", {"trailing-slash-foreign-host"}),
        ("cors-reflects-origin", {"cors-attacker-origin"}),
        ("raw-location", {"sub-crlf", "sub-unicode-location"}),
    ],
)
def test_audit_flags_a_weak_verifier(
    issuer_server: IssuerServer, issuer: IssuerClient, flaw: str, expected: set[str]
) -> None:
    with ThreadedServer(weak_verifier(issuer_server.issuer, flaw)) as url:
        report = run_audit(url, "/api/{sub}/tasks", issuer)
    assert report.error is None
    assert not report.passed
    assert set(flagged(report)) == expected
    if flaw == "follows-jku":
        assert flagged(report)["jku-listener"] is Verdict.FETCHED
        assert report.listener_requests == ["/jwks.json"]
    elif flaw in ("slash-redirect", "cors-reflects-origin"):
        assert set(flagged(report).values()) == {Verdict.UNSAFE}
        assert report.unsafe == len(expected)
    elif flaw == "raw-location":
        # Outside Latin-1 the toy fails (500); with CR/LF the connection is dropped.
        assert flagged(report) == {
            "sub-unicode-location": Verdict.SERVER_ERROR,
            "sub-crlf": Verdict.NO_ANSWER,
        }
    else:
        assert report.accepted == len(expected)


def test_audit_reports_an_api_that_trusts_another_issuer(issuer: IssuerClient) -> None:
    # A correct verifier that trusts a different key: it refuses even the valid token.
    with ThreadedServer(weak_verifier(Issuer(ORIGIN), "no flaw")) as url:
        report = run_audit(url, "/api/{sub}/tasks", issuer)
    assert not report.passed
    assert report.error is not None
    assert "401" in report.error
    assert report.results == []


def test_report_rendering(issuer_server: IssuerServer, issuer: IssuerClient) -> None:
    with ThreadedServer(weak_verifier(issuer_server.issuer, "alg-none")) as url:
        report = run_audit(url, "/api/{sub}/tasks", issuer)
    console = Console(record=True, width=200, color_system=None)
    print_report(report, console)
    text = console.export_text()
    assert "alg-nOnE" in text
    assert report.summary_line() in text
    assert text.strip().endswith(report.summary_line())
    assert "4 accepted" in report.summary_line()

    as_json = Console(record=True, width=200, color_system=None)
    print_report(report, as_json, as_json=True)
    data = json.loads(as_json.export_text())
    assert data["passed"] is False
    assert data["accepted"] == 4
    assert {r["name"] for r in data["results"] if r["verdict"] == "accepted"} == {
        "alg-none",
        "alg-None",
        "alg-NONE",
        "alg-nOnE",
    }


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
        check=False,
        timeout=120,
    )


def test_cli_exit_codes(backend: str, issuer_server: IssuerServer) -> None:
    ok = run_cli("audit", "--api", backend, "--issuer-url", issuer_server.url)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "harness audit PASS" in ok.stdout
    assert "0 accepted" in ok.stdout

    with ThreadedServer(weak_verifier(issuer_server.issuer, "skips-aud")) as url:
        bad = run_cli("audit", "--api", url, "--issuer-url", issuer_server.url, "--json")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    data = json.loads(bad.stdout)
    assert data["accepted"] == 3
