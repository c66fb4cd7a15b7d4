"""``harness``: bring the stack up and down, mint tokens, serve the mock issuer, audit an API.

Each command imports what it uses when it runs, so `harness mint-token` does not load the
Docker SDK or the providers. Expected failures (``HarnessError``) print one line and exit 1
(2 for bad arguments); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from harness.config import ModeChoice, Trust
from harness.errors import HarnessError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from harness.dpop import DpopKey
    from harness.stack import Stack

app = typer.Typer(
    name="harness",
    help="Full-stack harness for the tasks app: stacks, tokens, the mock issuer, audits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
issuer_app = typer.Typer(help="The mock JWKS issuer.", no_args_is_help=True)
app.add_typer(issuer_app, name="issuer")

SERVICE_NAMES = ("postgres", "issuer", "backend", "frontend")


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def say(message: str) -> None:
    """One line on stderr, prefixed like every harness message."""
    sys.stderr.write(f"harness: {message}\n")


def fail(message: str, code: int = 1) -> NoReturn:
    sys.stderr.write(f"harness: error: {message}\n")
    raise typer.Exit(code)


def saved_stack_or_fail() -> Stack:
    from harness.stack import load_saved_stack

    stack = load_saved_stack()
    if stack is None:
        fail("no stack is up (start one with `harness up`)")
    return stack


def running_issuer(option: str | None) -> str | None:
    """The issuer named on the command line, else the saved stack's, else none."""
    if option is not None:
        return option
    from harness.stack import load_saved_stack

    saved = load_saved_stack()
    return saved.issuer_url if saved else None


def default_key_file() -> Path:
    from harness.settings import state_dir

    return state_dir() / "issuer-keys.json"


@app.command()
def up(
    mode: Annotated[
        ModeChoice | None,
        typer.Option(
            help="Provider (default: HARNESS_MODE, else auto: compose, containers, local)."
        ),
    ] = None,
    hot_reload: Annotated[
        bool, typer.Option("--hot-reload", help="next dev + uvicorn --reload on the sources.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
    trust: Annotated[Trust, typer.Option(help="Keys the backend accepts.")] = Trust.BETTER_AUTH,
    name: Annotated[
        str, typer.Option(help="Stack name (labels, Compose project tasks-NAME unless dev).")
    ] = "dev",
    frontend_port: Annotated[int, typer.Option(help="0 picks a free port")] = 3000,
    backend_port: Annotated[int, typer.Option(help="0 picks a free port")] = 8000,
    issuer_port: Annotated[int, typer.Option(help="0 picks a free port")] = 9000,
    postgres_port: Annotated[int, typer.Option(help="0 picks a free port")] = 0,
    jwt_expiration: Annotated[str, typer.Option(help="Better Auth token lifetime")] = "15m",
) -> None:
    """Start postgres, issuer, backend and frontend; return once healthy, leave them running.

    A developer's stack: secrets come from `.env` (created with fresh ones when missing)
    and the demo account is seeded; its email and password are printed with the URLs.
    """
    from harness.config import StackConfig
    from harness.envfile import ensure_env_file
    from harness.providers import start_stack
    from harness.registry import DEVELOPMENT_ORDER, choose
    from harness.settings import settings
    from harness.stack import load_saved_stack, save_stack

    saved = load_saved_stack()
    if saved is not None:
        _warn_if_stale(saved)
        fail(f"a {saved.mode} stack is already up ({saved.frontend_url}): run `harness down` first")
    chosen, why = choose(mode or settings().mode, DEVELOPMENT_ORDER)
    say(f"provider: {why}")
    ensure_env_file(announce=say)
    config = StackConfig(
        name=name,
        development=True,
        hot_reload=hot_reload,
        trust=trust,
        frontend_port=frontend_port,
        backend_port=backend_port,
        issuer_port=issuer_port,
        postgres_port=postgres_port,
        jwt_expiration=jwt_expiration,
    )
    with _console(stderr=True).status("starting the stack...") as status:
        stack = start_stack(chosen, config, lambda message: status.update(message))
    save_stack(stack)
    if as_json:
        sys.stdout.write(json.dumps(stack.summary()) + "\n")
        return
    _print_stack(stack, _console())


def _print_stack(stack: Stack, out: Console) -> None:
    reload = ", hot reload" if stack.config.hot_reload else ""
    rows = [
        ("frontend", stack.frontend_url),
        ("backend", stack.backend_url),
        ("issuer", stack.issuer_url),
        ("database", stack.database_url),
        ("backend trusts", f"{stack.jwks_url} ({stack.trust})"),
    ]
    if stack.demo is not None:
        rows.append(("demo account", f"{stack.demo.email}  password {stack.demo.password}"))
    out.print(f"[bold]stack up[/] ({stack.mode}{reload})")
    for label, value in rows:
        # Whole URLs on one line each: a table would cut or wrap them.
        out.print(f"  {label:<15} {value}", highlight=False, crop=False, overflow="ignore")
    out.print("Mint a token: harness mint-token --sub <user-id>    Stop: harness down")


@app.command()
def down() -> None:
    """Stop and remove the stack `harness up` started (containers, processes, data)."""
    from harness.stack import forget_saved_stack, load_saved_stack

    stack = load_saved_stack()
    if stack is None:
        say("no stack is up")
        return
    stack.down()
    forget_saved_stack()
    say(f"{stack.mode} stack removed")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
) -> None:
    """Show the running stack's URLs and which services are up (exit 3: none is)."""
    from harness.stack import load_saved_stack

    stack = load_saved_stack()
    if stack is None:
        if as_json:
            sys.stdout.write(json.dumps({"up": False}) + "\n")
        else:
            say("no stack is up")
        raise typer.Exit(3)
    running = stack.running()
    _warn_if_stale(stack)
    if as_json:
        body = {"up": True, **stack.summary(), "services": running}
        sys.stdout.write(json.dumps(body) + "\n")
        return
    from rich.table import Table

    table = Table(title=f"{stack.mode} stack")
    table.add_column("service")
    table.add_column("state")
    for name in SERVICE_NAMES:
        table.add_row(name, "[green]running[/]" if running.get(name) else "[red]stopped[/]")
    out = _console()
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
    if service not in SERVICE_NAMES:
        fail(f"unknown service {service!r}: use one of {', '.join(SERVICE_NAMES)}", 2)
    lines = saved_stack_or_fail().logs(service).splitlines()
    sys.stdout.write("\n".join(lines[-tail:] if tail else lines) + "\n")


def _parse_claims(pairs: list[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--claim expects NAME=VALUE, got {pair!r}")
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
    from harness.durations import parse_duration

    try:
        seconds = -60.0 if expired else parse_duration(ttl)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    claims = _parse_claims(claim or [])
    if dpop_key is not None and dpop_jkt is not None:
        raise UsageError("--dpop-key and --dpop-jkt are alternatives: pass one")
    if dpop_key is not None or dpop_jkt is not None:
        from harness.dpop import bound_claims

        jkt = _dpop_key(dpop_key, create=True).jkt if dpop_key is not None else dpop_jkt
        assert jkt is not None
        claims.update(bound_claims(jkt))
    if aud is not None:
        claims["aud"] = aud
    if iss is not None:
        claims["iss"] = iss
    url = running_issuer(issuer_url)
    _warn_if_not_trusted(issuer_url)
    try:
        if url:
            from harness.issuer.client import IssuerClient

            with IssuerClient(url) as client:
                token = client.mint(sub, ttl=seconds, claims=claims, kid=kid)
        else:
            from harness.issuer.keys import Issuer

            token = Issuer(key_file=default_key_file()).mint(
                sub, ttl=seconds, claims=claims, kid=kid
            )
    except KeyError:
        fail(f"unknown kid {kid!r}")
    if as_json:
        import jwt

        body = {
            "header": jwt.get_unverified_header(token),
            "claims": jwt.decode(token, options={"verify_signature": False}),
            "token": token,
        }
        sys.stdout.write(json.dumps(body) + "\n")
    else:
        sys.stdout.write(token + "\n")


def _dpop_key(path: Path, *, create: bool) -> DpopKey:
    from harness.dpop import DpopKey

    try:
        if not create:
            return DpopKey.load(path)
        key, created = DpopKey.load_or_create(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if created:
        say(f"new DPoP key in {path} (thumbprint {key.jkt})")
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


def _warn_if_stale(stack: Stack) -> None:
    if not stack.config.hot_reload:
        return
    from harness.config import Mode
    from harness.dependencies import advice, changed_since
    from harness.paths import source_root

    changed = changed_since(source_root(stack.config), stack.not_reloaded)
    if changed:
        say(f"note: {advice(changed, stack.mode is Mode.LOCAL)}")


def _warn_if_not_trusted(issuer_url: str | None) -> None:
    if issuer_url is not None:
        return
    from harness.stack import load_saved_stack

    saved = load_saved_stack()
    if saved is not None and saved.trust is Trust.BETTER_AUTH:
        say(
            "note: the running stack's backend trusts Better Auth's keys only and will refuse "
            "this token; start it with `harness up --trust both` to accept minted tokens"
        )


@app.command()
def jwks(
    issuer_url: Annotated[str | None, typer.Option(help="A running issuer.")] = None,
) -> None:
    """Print the mock issuer's public keys (JWKS)."""
    url = running_issuer(issuer_url)
    if url:
        from harness.issuer.client import IssuerClient

        with IssuerClient(url) as client:
            data = client.jwks()
    else:
        from harness.issuer.keys import Issuer

        data = Issuer(key_file=default_key_file()).jwks()
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
    from harness.issuer.keys import Issuer
    from harness.issuer.server import serve

    keys = Issuer(issuer, audience, key_file=key_file or default_key_file())
    say(f"issuer on http://{host}:{port} (jwks: /jwks, /api/auth/jwks)")
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
    from harness.issuer.client import IssuerClient

    url = running_issuer(issuer_url)
    if url is None:
        fail("no issuer: pass --issuer-url or start a stack with `harness up`", 2)
    with IssuerClient(url) as client:
        report = run_audit(api, path, client)
    print_report(report, _console(), as_json=as_json)
    if not report.passed:
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except HarnessError as exc:
        sys.stderr.write(f"harness: error: {exc}\n")
        sys.exit(2 if isinstance(exc, UsageError) else 1)


if __name__ == "__main__":
    main()
