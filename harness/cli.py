"""``harness``: bring the stack up and down, mint tokens, serve the mock issuer, audit an API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import jwt
import typer
from rich.console import Console
from rich.table import Table

from harness.dpop import DpopKey, bound_claims
from harness.durations import parse_duration
from harness.issuer import Issuer
from harness.issuer_client import IssuerClient
from harness.launch import resolve_mode, start_stack
from harness.stack import (
    SERVICES,
    StackConfig,
    controller,
    forget_saved_stack,
    load_saved_stack,
    save_stack,
    state_dir,
)

app = typer.Typer(
    name="harness",
    help="Full-stack harness for the tasks app: stacks, tokens, the mock issuer, audits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
issuer_app = typer.Typer(help="The mock JWKS issuer.", no_args_is_help=True)
app.add_typer(issuer_app, name="issuer")

err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]harness: error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def running_issuer(option: str | None) -> str | None:
    """The issuer named on the command line, else the saved stack's, else none."""
    if option is not None:
        return option
    saved = load_saved_stack()
    return saved.issuer_url if saved else None


def default_key_file() -> Path:
    return state_dir() / "issuer-keys.json"


@app.command()
def up(
    mode: Annotated[str, typer.Option(help="auto, containers or local")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
    trust: Annotated[
        str, typer.Option(help="both (mock issuer + Better Auth keys) or better-auth")
    ] = "both",
    frontend_port: Annotated[int, typer.Option(help="0 picks a free port")] = 3000,
    backend_port: Annotated[int, typer.Option(help="0 picks a free port")] = 8000,
    issuer_port: Annotated[int, typer.Option(help="0 picks a free port")] = 9000,
    jwt_expiration: Annotated[str, typer.Option(help="Better Auth token lifetime")] = "15m",
) -> None:
    """Start postgres, issuer, backend and frontend; return once healthy, leave them running."""
    if trust not in ("both", "better-auth"):
        fail("--trust must be both or better-auth", 2)
    saved = load_saved_stack()
    if saved is not None:
        fail(f"a {saved.mode} stack is already up ({saved.frontend_url}): run `harness down` first")
    try:
        chosen, why = resolve_mode(mode)
    except ValueError as exc:
        fail(str(exc), 2)
    err.print(f"harness: provider: {why}", highlight=False)
    config = StackConfig(
        trust=trust,  # type: ignore[arg-type]
        frontend_port=frontend_port,
        backend_port=backend_port,
        issuer_port=issuer_port,
        jwt_expiration=jwt_expiration,
        name="dev",
    )
    try:
        with err.status("starting the stack...") as status:
            stack = start_stack(chosen, config, lambda msg: status.update(msg))
    except Exception as exc:  # every provider failure becomes one readable line
        fail(str(exc))
    save_stack(stack)
    if as_json:
        out.print_json(json.dumps(stack.summary()), indent=None)
        return
    table = Table(title=f"stack up ({stack.mode})", show_header=False)
    for key in ("frontend_url", "backend_url", "issuer_url", "database_url", "jwks_url"):
        table.add_row(key, str(getattr(stack, key)))
    out.print(table)
    out.print("Mint a token: harness mint-token --sub <user-id>    Stop: harness down")


@app.command()
def down() -> None:
    """Stop and remove the stack `harness up` started (containers, processes, data)."""
    stack = load_saved_stack()
    if stack is None:
        err.print("harness: no stack is up")
        return
    try:
        stack.down()
    except Exception as exc:
        fail(f"could not remove the stack cleanly: {exc}")
    forget_saved_stack()
    err.print(f"harness: {stack.mode} stack removed")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
) -> None:
    """Show the running stack's URLs and which services are up."""
    stack = load_saved_stack()
    if stack is None:
        if as_json:
            out.print_json(json.dumps({"up": False}), indent=None)
        else:
            err.print("harness: no stack is up")
        raise typer.Exit(3)
    running = controller(stack).running()
    if as_json:
        out.print_json(
            json.dumps({"up": True, **stack.summary(), "services": running}), indent=None
        )
        return
    table = Table(title=f"{stack.mode} stack")
    table.add_column("service")
    table.add_column("state")
    for name in SERVICES:
        table.add_row(name, "[green]running[/]" if running.get(name) else "[red]stopped[/]")
    out.print(table)
    out.print(
        f"frontend {stack.frontend_url}  backend {stack.backend_url}  issuer {stack.issuer_url}"
    )


@app.command()
def logs(
    service: Annotated[str, typer.Argument(help="postgres, issuer, backend or frontend")],
    tail: Annotated[int, typer.Option(help="Last N lines (0: all)")] = 200,
) -> None:
    """Print a service's log."""
    if service not in SERVICES:
        fail(f"unknown service {service!r}: use one of {', '.join(SERVICES)}", 2)
    stack = load_saved_stack()
    if stack is None:
        fail("no stack is up")
    text = stack.logs(service)
    lines = text.splitlines()
    sys.stdout.write("\n".join(lines[-tail:] if tail else lines) + "\n")


def _parse_claims(pairs: list[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            fail(f"--claim expects NAME=VALUE, got {pair!r}", 2)
        # JSON when it parses (numbers, true, lists), else the plain string.
        try:
            claims[name] = json.loads(raw)
        except ValueError:
            claims[name] = raw
    return claims


@app.command("mint-token")
def mint_token(
    sub: Annotated[str, typer.Option(help="Subject: the user id the token speaks for.")],
    ttl: Annotated[str, typer.Option(help="Lifetime, e.g. 15m, 30s, 2h.")] = "15m",
    expired: Annotated[bool, typer.Option(help="Mint a token that expired a minute ago.")] = False,
    aud: Annotated[str | None, typer.Option(help="Audience (default: the issuer's).")] = None,
    iss: Annotated[str | None, typer.Option(help="Issuer claim (default: the issuer's).")] = None,
    claim: Annotated[
        list[str] | None, typer.Option(help="Extra claim NAME=VALUE (JSON values parsed).")
    ] = None,
    kid: Annotated[str | None, typer.Option(help="Sign with this key id.")] = None,
    dpop_key: Annotated[
        Path | None,
        typer.Option(help="Bind the token to this DPoP key file (created when missing)."),
    ] = None,
    dpop_jkt: Annotated[
        str | None, typer.Option(help="Bind the token to this JWK thumbprint (cnf.jkt).")
    ] = None,
    issuer_url: Annotated[
        str | None, typer.Option(help="A running issuer (default: the stack's, else local keys).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print header, claims and token.")
    ] = False,
) -> None:
    """Print a token signed by the mock issuer (the running stack's when one is up)."""
    try:
        seconds = -60.0 if expired else parse_duration(ttl)
    except ValueError as exc:
        fail(str(exc), 2)
    claims = _parse_claims(claim or [])
    if dpop_key is not None and dpop_jkt is not None:
        fail("--dpop-key and --dpop-jkt are alternatives: pass one", 2)
    if dpop_key is not None:
        claims.update(bound_claims(_dpop_key(dpop_key, create=True).jkt))
    elif dpop_jkt is not None:
        claims.update(bound_claims(dpop_jkt))
    if aud is not None:
        claims["aud"] = aud
    if iss is not None:
        claims["iss"] = iss
    url = running_issuer(issuer_url)
    try:
        if url:
            with IssuerClient(url) as client:
                token = client.mint(sub, ttl=seconds, claims=claims, kid=kid)
        else:
            token = Issuer(key_file=default_key_file()).mint(
                sub, ttl=seconds, claims=claims, kid=kid
            )
    except KeyError:
        fail(f"unknown kid {kid!r}")
    except Exception as exc:
        fail(str(exc))
    if as_json:
        body = {
            "header": jwt.get_unverified_header(token),
            "claims": jwt.decode(token, options={"verify_signature": False}),
            "token": token,
        }
        sys.stdout.write(json.dumps(body) + "\n")
    else:
        sys.stdout.write(token + "\n")


def _dpop_key(path: Path, *, create: bool) -> DpopKey:
    try:
        if not create:
            return DpopKey.load(path)
        key, created = DpopKey.load_or_create(path)
    except ValueError as exc:
        fail(str(exc), 2)
    if created:
        err.print(f"harness: new DPoP key in {path} (thumbprint {key.jkt})", highlight=False)
    return key


@app.command("dpop-proof")
def dpop_proof(
    key: Annotated[Path, typer.Option(help="DPoP key file (from mint-token --dpop-key).")],
    url: Annotated[str, typer.Option(help="The request's URL (query and fragment are dropped).")],
    method: Annotated[str, typer.Option(help="The request's method.")] = "GET",
    token: Annotated[
        str | None, typer.Option(help="The access token the proof goes with (sets ath).")
    ] = None,
    nonce: Annotated[str | None, typer.Option(help="A server-provided DPoP-Nonce.")] = None,
) -> None:
    """Print a DPoP proof for one request (send it as the `DPoP` header)."""
    proof = _dpop_key(key, create=False).proof(method.upper(), url, token=token, nonce=nonce)
    sys.stdout.write(proof + "\n")


@app.command()
def jwks(
    issuer_url: Annotated[str | None, typer.Option(help="A running issuer.")] = None,
) -> None:
    """Print the mock issuer's public keys (JWKS)."""
    url = running_issuer(issuer_url)
    try:
        if url:
            with IssuerClient(url) as client:
                data = client.jwks()
        else:
            data = Issuer(key_file=default_key_file()).jwks()
    except Exception as exc:
        fail(str(exc))
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


@issuer_app.command("serve")
def issuer_serve(
    host: Annotated[str, typer.Option(help="Bind address (keep it loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 9000,
    issuer: Annotated[str, typer.Option(help="iss of minted tokens")] = "http://localhost:3000",
    audience: Annotated[str | None, typer.Option(help="aud (default: the issuer)")] = None,
    key_file: Annotated[Path | None, typer.Option(help="Keys to load or create")] = None,
    upstream_jwks: Annotated[
        str | None, typer.Option(help="Also serve this JWKS's keys (e.g. Better Auth's)")
    ] = None,
) -> None:
    """Serve the JWKS, discovery and admin endpoints in the foreground."""
    from harness.issuer_server import serve

    try:
        keys = Issuer(issuer, audience, key_file=key_file or default_key_file())
    except ValueError as exc:
        fail(str(exc))
    err.print(f"harness: issuer on http://{host}:{port} (jwks: /jwks, /api/auth/jwks)")
    serve(keys, host, port, upstream_jwks=upstream_jwks)


@app.command()
def audit(
    api: Annotated[str, typer.Option(help="Base URL of the API under audit.")],
    path: Annotated[str, typer.Option(help="Protected path; {sub} is the token's subject.")] = (
        "/api/{sub}/tasks"
    ),
    issuer_url: Annotated[
        str | None, typer.Option(help="The issuer the API trusts (default: the stack's).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Run the attack-token corpus against an API that trusts the mock issuer.

    Exit 1 if any attack is accepted or answered with a 5xx.
    """
    from harness.audit import print_report, run_audit

    url = running_issuer(issuer_url)
    if url is None:
        fail("no issuer: pass --issuer-url or start a stack with `harness up`", 2)
    try:
        with IssuerClient(url) as client:
            report = run_audit(api, path, client)
    except Exception as exc:
        fail(str(exc))
    print_report(report, out, as_json=as_json)
    if not report.passed:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
