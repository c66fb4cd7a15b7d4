"""``harness``: bring the stack up and down, mint tokens, serve the mock issuer, audit an API.

Each command imports what it uses when it runs, so `harness mint-token` loads no Docker SDK,
no providers and no HTTP library. argparse rather than typer for the same reason: typer's
import alone (its pydantic type adapters) costs more than a whole mint-token run may.
Expected failures (``HarnessError``) print one line and exit 1 (2 for bad arguments);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from harness.config import ModeChoice, Trust
from harness.errors import HarnessError, NoStackError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from harness.dpop import DpopKey
    from harness.stack import Stack

SERVICE_NAMES = ("postgres", "issuer", "backend", "frontend")
# `status` when no stack is up.
EXIT_NO_STACK = 3


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def say(message: str) -> None:
    """One line on stderr, prefixed like every harness message."""
    sys.stderr.write(f"harness: {message}\n")


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def saved_stack() -> Stack:
    from harness.stack import load_saved_stack

    stack = load_saved_stack()
    if stack is None:
        raise NoStackError("no stack is up (start one with `harness up`)")
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


# -- stacks ---------------------------------------------------------------------------


def up(args: argparse.Namespace) -> None:
    """Start postgres, issuer, backend and frontend; return once healthy, leave them running.

    A developer's stack: secrets come from `.env` (created with fresh ones when missing) and
    the demo account is seeded; its email and password are printed with the URLs.
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
        raise HarnessError(
            f"a {saved.mode} stack is already up ({saved.frontend_url}): run `harness down` first"
        )
    choice = ModeChoice(args.mode) if args.mode else settings().mode
    chosen, why = choose(choice, DEVELOPMENT_ORDER)
    say(f"provider: {why}")
    ensure_env_file(announce=say)
    config = StackConfig(
        name=args.name,
        development=True,
        hot_reload=args.hot_reload,
        trust=Trust(args.trust),
        frontend_port=args.frontend_port,
        backend_port=args.backend_port,
        issuer_port=args.issuer_port,
        postgres_port=args.postgres_port,
        jwt_expiration=args.jwt_expiration,
        auth_rate_limit=args.auth_rate_limit == "on",
        backend_workers=args.backend_workers,
    )
    with _console(stderr=True).status("starting the stack...") as status:
        stack = start_stack(chosen, config, lambda message: status.update(message))
    save_stack(stack)
    if args.json:
        _out(json.dumps(stack.summary()))
        return
    _print_stack(stack, _console())


def _print_stack(stack: Stack, out: Console) -> None:
    reload = ", hot reload" if stack.config.hot_reload else ""
    rows = [
        ("frontend", stack.frontend_url),
        ("backend", stack.backend_url),
        ("issuer", stack.issuer_url),
        ("database", _without_password(stack.database_url)),
        ("backend trusts", f"{stack.jwks_url} ({stack.trust})"),
    ]
    if stack.demo is not None:
        rows.append(("demo account", f"{stack.demo.email}  password {stack.demo.password}"))
    out.print(f"[bold]stack up[/] ({stack.mode}{reload})")
    for label, value in rows:
        # Whole URLs on one line each: a table would cut or wrap them.
        out.print(f"  {label:<15} {value}", highlight=False, crop=False, overflow="ignore")
    out.print("Mint a token: harness mint-token --sub <user-id>    Stop: harness down")


def _without_password(url: str) -> str:
    """A URL as shown on the terminal: its password masked (`--json` and `.env` have it)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{hostpart}"


def down(_: argparse.Namespace) -> None:
    """Stop and remove the stack `harness up` started (containers, processes, data)."""
    from harness.stack import forget_saved_stack, load_saved_stack

    stack = load_saved_stack()
    if stack is None:
        say("no stack is up")
        return
    stack.down()
    forget_saved_stack()
    say(f"{stack.mode} stack removed")


def status(args: argparse.Namespace) -> None:
    """Show the running stack's URLs and which services are up (exit 3: none is)."""
    from harness.stack import load_saved_stack

    stack = load_saved_stack()
    if stack is None:
        if args.json:
            _out(json.dumps({"up": False}))
        else:
            say("no stack is up")
        raise _Exit(EXIT_NO_STACK)
    running = stack.running()
    _warn_if_stale(stack)
    if args.json:
        _out(json.dumps({"up": True, **stack.summary(), "services": running}))
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


def logs(args: argparse.Namespace) -> None:
    """Print a service's log."""
    lines = saved_stack().logs(args.service).splitlines()
    _out("\n".join(lines[-args.tail :] if args.tail else lines))


def _warn_if_stale(stack: Stack) -> None:
    if not stack.config.hot_reload:
        return
    from harness.config import Mode
    from harness.dependencies import advice, changed_since
    from harness.paths import source_root

    changed = changed_since(source_root(stack.config), stack.not_reloaded)
    if changed:
        say(f"note: {advice(changed, stack.mode is Mode.LOCAL)}")


# -- tokens ---------------------------------------------------------------------------


def _parse_claims(pairs: Sequence[str]) -> dict[str, Any]:
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


def mint_token(args: argparse.Namespace) -> None:
    """Print a token signed by the mock issuer (the running stack's when one is up)."""
    from harness.durations import parse_duration

    try:
        seconds = -60.0 if args.expired else parse_duration(args.ttl)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    claims = _parse_claims(args.claim)
    if args.dpop_key is not None or args.dpop_jkt is not None:
        from harness.dpop import bound_claims

        jkt = _dpop_key(args.dpop_key, create=True).jkt if args.dpop_key else args.dpop_jkt
        claims.update(bound_claims(jkt))
    if args.aud is not None:
        claims["aud"] = args.aud
    if args.iss is not None:
        claims["iss"] = args.iss
    url = running_issuer(args.issuer_url)
    _warn_if_not_trusted(args.issuer_url)
    try:
        if url:
            from harness.issuer.client import IssuerClient

            token = IssuerClient(url).mint(args.sub, ttl=seconds, claims=claims, kid=args.kid)
        else:
            from harness.issuer.keys import Issuer

            token = Issuer(key_file=default_key_file()).mint(
                args.sub, ttl=seconds, claims=claims, kid=args.kid
            )
    except KeyError:
        raise HarnessError(f"unknown kid {args.kid!r}") from None
    if args.json:
        import jwt

        body = {
            "header": jwt.get_unverified_header(token),
            "claims": jwt.decode(token, options={"verify_signature": False}),
            "token": token,
        }
        _out(json.dumps(body))
    else:
        _out(token)


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


def dpop_proof(args: argparse.Namespace) -> None:
    """Print a DPoP proof for one request (send it as the `DPoP` header)."""
    key = _dpop_key(args.key, create=False)
    _out(key.proof(args.method.upper(), args.url, token=args.token, nonce=args.nonce))


def jwks(args: argparse.Namespace) -> None:
    """Print the mock issuer's public keys (JWKS)."""
    url = running_issuer(args.issuer_url)
    if url:
        from harness.issuer.client import IssuerClient

        data = IssuerClient(url).jwks()
    else:
        from harness.issuer.keys import Issuer

        data = Issuer(key_file=default_key_file()).jwks()
    _out(json.dumps(data, indent=2))


def issuer_serve(args: argparse.Namespace) -> None:
    """Serve the JWKS, discovery and admin endpoints in the foreground."""
    from harness.issuer.keys import Issuer
    from harness.issuer.server import serve

    keys = Issuer(args.issuer, args.audience, key_file=args.key_file or default_key_file())
    say(f"issuer on http://{args.host}:{args.port} (jwks: /jwks, /api/auth/jwks)")
    serve(keys, args.host, args.port, upstream_jwks=args.upstream_jwks)


def audit(args: argparse.Namespace) -> None:
    """Run the attack-token corpus against an API that trusts the mock issuer.

    Exit 1 if any attack is accepted or answered with a 5xx.
    """
    from harness.audit import print_report, run_audit
    from harness.issuer.client import IssuerClient

    url = running_issuer(args.issuer_url)
    if url is None:
        raise UsageError("no issuer: pass --issuer-url or start a stack with `harness up`")
    report = run_audit(args.api, args.path, IssuerClient(url))
    print_report(report, _console(), as_json=args.json)
    if not report.passed:
        raise _Exit(1)


# -- the parser -------------------------------------------------------------------------


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    run: Callable[[argparse.Namespace], None],
) -> argparse.ArgumentParser:
    doc = (run.__doc__ or "").strip()
    parser = commands.add_parser(
        name,
        help=doc.splitlines()[0],
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(run=run)
    return parser


def _positive(value: str) -> int:
    """argparse type: a whole number of at least 1 (else exit 2 with argparse's message)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return number


def _json_flag(parser: argparse.ArgumentParser, help: str = "Print one JSON line.") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="The tasks app's harness: stacks, tokens, the mock issuer, audits.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    cmd = _command(commands, "up", up)
    cmd.add_argument(
        "--mode",
        choices=[c.value for c in ModeChoice],
        help="provider (default: HARNESS_MODE, else auto: compose, containers, local)",
    )
    cmd.add_argument(
        "--hot-reload", action="store_true", help="next dev + uvicorn --reload on the sources"
    )
    cmd.add_argument(
        "--trust",
        choices=[t.value for t in Trust],
        default=Trust.BETTER_AUTH.value,
        help="keys the backend accepts (default: %(default)s)",
    )
    cmd.add_argument(
        "--name", default="dev", help="stack name (Compose project tasks-NAME unless dev)"
    )
    for service, port in (("frontend", 3000), ("backend", 8000), ("issuer", 9000), ("postgres", 0)):
        cmd.add_argument(
            f"--{service}-port", type=int, default=port, help="0 picks a free port (%(default)s)"
        )
    cmd.add_argument("--jwt-expiration", default="15m", help="Better Auth token lifetime")
    cmd.add_argument(
        "--auth-rate-limit",
        choices=["on", "off"],
        default="on",
        help="Better Auth's sign-in/sign-up limits (off: for test suites run against it)",
    )
    cmd.add_argument(
        "--backend-workers",
        type=_positive,
        default=None,
        metavar="N",
        help="backend worker processes (default: the CPU count; 1 for test suites run against it)",
    )
    _json_flag(cmd)

    _command(commands, "down", down)
    _json_flag(_command(commands, "status", status))
    cmd = _command(commands, "logs", logs)
    cmd.add_argument("service", choices=SERVICE_NAMES)
    cmd.add_argument("--tail", type=int, default=200, help="last N lines (0: all)")

    cmd = _command(commands, "mint-token", mint_token)
    cmd.add_argument("--sub", required=True, help="subject: the user id the token speaks for")
    cmd.add_argument("--ttl", default="15m", help="lifetime, e.g. 15m, 30s, 2h")
    cmd.add_argument("--expired", action="store_true", help="a token that expired a minute ago")
    cmd.add_argument("--aud", help="audience (default: the issuer's)")
    cmd.add_argument("--iss", help="issuer claim (default: the issuer's)")
    cmd.add_argument(
        "--claim", action="append", default=[], help="extra claim NAME=VALUE (JSON parsed)"
    )
    cmd.add_argument("--kid", help="sign with this key id")
    binding = cmd.add_mutually_exclusive_group()
    binding.add_argument(
        "--dpop-key", type=Path, help="bind to this DPoP key file (created when missing)"
    )
    binding.add_argument("--dpop-jkt", help="bind to this JWK thumbprint (cnf.jkt)")
    cmd.add_argument(
        "--issuer-url", help="a running issuer (default: the stack's, else local keys)"
    )
    _json_flag(cmd, "print header, claims and token")

    cmd = _command(commands, "dpop-proof", dpop_proof)
    cmd.add_argument("--key", type=Path, required=True, help="DPoP key file")
    cmd.add_argument("--url", required=True, help="the request's URL")
    cmd.add_argument("--method", default="GET", help="the request's method")
    cmd.add_argument("--token", help="the access token the proof goes with (sets ath)")
    cmd.add_argument("--nonce", help="a server-provided DPoP-Nonce")

    _command(commands, "jwks", jwks).add_argument("--issuer-url", help="a running issuer")

    issuer = commands.add_parser("issuer", help="The mock JWKS issuer.")
    issuer_commands = issuer.add_subparsers(metavar="COMMAND", required=True)
    cmd = _command(issuer_commands, "serve", issuer_serve)
    cmd.add_argument("--host", default="127.0.0.1", help="bind address (keep it loopback)")
    cmd.add_argument("--port", type=int, default=9000)
    cmd.add_argument("--issuer", default="http://localhost:3000", help="iss of minted tokens")
    cmd.add_argument("--audience", help="aud (default: the issuer)")
    cmd.add_argument("--key-file", type=Path, help="keys to load or create")
    cmd.add_argument("--upstream-jwks", help="also serve this JWKS's keys (e.g. Better Auth's)")

    cmd = _command(commands, "audit", audit)
    cmd.add_argument("--api", required=True, help="base URL of the API under audit")
    cmd.add_argument(
        "--path", default="/api/{sub}/tasks", help="protected path; {sub} is the token's subject"
    )
    cmd.add_argument("--issuer-url", help="the issuer the API trusts (default: the stack's)")
    _json_flag(cmd, "print results as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> NoReturn:
    parser = build_parser()
    args = parser.parse_args(argv)  # bad arguments: usage line, exit 2
    try:
        args.run(args)
    except _Exit as done:
        sys.exit(done.code)
    except UsageError as exc:
        parser.exit(2, f"harness: error: {exc}\n")
    except HarnessError as exc:
        parser.exit(1, f"harness: error: {exc}\n")
    sys.exit(0)


if __name__ == "__main__":
    main()
