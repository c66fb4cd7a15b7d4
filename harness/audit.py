"""``harness audit``: run the attack corpus against any API that trusts the mock issuer.

The API must verify bearer tokens against the issuer's JWKS. The audit mints a valid token
for a fresh subject, checks the API accepts it on the protected path (otherwise nothing
below would prove anything), sends every attack from ``harness.attacks`` and checks the
valid token still works afterwards. It fails when an attack is accepted, answered with a
5xx or not answered, answered unsafely (a redirect to the attacker's host, a CORS grant for
the attacker's origin, a header injected through the subject), or when the server fetched
the attacker's ``jku``/``x5u`` URL.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from rich.console import Console
from rich.table import Table

from harness.attacks import (
    ATTACKS,
    DPOP_ATTACKS,
    REFUSED,
    Attack,
    AttackContext,
    AttackListener,
    DpopAttack,
    DpopContext,
    DpopMode,
    Minter,
    Probe,
    Verdict,
    judge,
    send,
)


class TrustedIssuer(Minter, Protocol):
    def jwks(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class CaseResult:
    attack: Attack
    status: int | None
    verdict: Verdict
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.attack.name,
            "category": self.attack.category,
            "description": self.attack.description,
            "expected": sorted(self.attack.expect),
            "status": self.status,
            "verdict": self.verdict.value,
            "note": self.note,
        }


@dataclass
class AuditReport:
    api: str
    path: str
    sub: str
    results: list[CaseResult] = field(default_factory=list)
    listener_requests: list[str] = field(default_factory=list)
    # Set when the audit could not be meaningful (the API refused a valid token).
    error: str | None = None
    dpop: DpopPosture | None = None

    def _count(self, *verdicts: Verdict) -> int:
        return sum(1 for r in self.results if r.verdict in verdicts)

    @property
    def tried(self) -> int:
        return sum(1 for r in self.results if not r.attack.is_control)

    @property
    def accepted(self) -> int:
        return self._count(Verdict.ACCEPTED, Verdict.FETCHED)

    @property
    def server_errors(self) -> int:
        return self._count(Verdict.SERVER_ERROR, Verdict.NO_ANSWER)

    @property
    def unsafe(self) -> int:
        return self._count(Verdict.UNSAFE)

    @property
    def unexpected(self) -> int:
        return self._count(Verdict.UNEXPECTED)

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if r.verdict.failing]

    @property
    def passed(self) -> bool:
        dpop_failures = self.dpop.failures if self.dpop else []
        return (
            self.error is None
            and not self.failures
            and not dpop_failures
            and not self.listener_requests
        )

    def summary_line(self) -> str:
        outcome = "PASS" if self.passed else "FAIL"
        line = (
            f"harness audit {outcome}: {self.tried} attack cases tried, {self.accepted} accepted, "
            f"{self.server_errors} server errors, {self.unsafe} unsafe responses, "
            f"{self.unexpected} refused with another status, "
            f"{len(self.listener_requests)} requests reached the jku/x5u listener"
        )
        return line if self.dpop is None else f"{line}; {self.dpop.summary()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "path": self.path,
            "passed": self.passed,
            "error": self.error,
            "tried": self.tried,
            "accepted": self.accepted,
            "server_errors": self.server_errors,
            "unsafe": self.unsafe,
            "unexpected": self.unexpected,
            "listener_requests": self.listener_requests,
            "summary": self.summary_line(),
            "results": [r.to_dict() for r in self.results],
            "dpop": self.dpop.to_dict() if self.dpop else None,
        }


@dataclass
class DpopPosture:
    """How the API treats token binding, and how it answered the DPoP cases.

    ``mode``: ``optional`` (bound tokens need a proof, unbound Bearer still works),
    ``required``, ``off`` (no DPoP: bound tokens are plain bearer tokens there) or
    ``unsupported`` (neither a bound token with its proof nor as Bearer is accepted).
    """

    mode: str
    probes: dict[str, int | None]
    results: list[CaseResult] = field(default_factory=list)

    @property
    def enforced(self) -> bool:
        return self.mode in ("optional", "required")

    @property
    def tried(self) -> int:
        return sum(1 for r in self.results if not r.attack.is_control)

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if r.verdict.failing]

    def _count(self, *verdicts: Verdict) -> int:
        return sum(1 for r in self.results if r.verdict in verdicts)

    def summary(self) -> str:
        if not self.enforced:
            return f"DPoP {self.mode}: tokens are not bound to a key, no DPoP case tried"
        return (
            f"DPoP {self.mode}: {self.tried} DPoP cases tried, "
            f"{self._count(Verdict.ACCEPTED)} accepted, "
            f"{self._count(Verdict.SERVER_ERROR, Verdict.NO_ANSWER)} server errors"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "probes": self.probes,
            "summary": self.summary(),
            "results": [r.to_dict() for r in self.results],
        }


def send_dpop(client: httpx.Client, ctx: DpopContext, attack: DpopAttack) -> httpx.Response:
    """One DPoP case; for a replay, the first (accepted) sending is not the answer judged."""
    headers = attack.build(ctx)
    if attack.replay:
        first = client.request(ctx.method, ctx.url, headers=headers)
        if not first.is_success:
            raise ReplayNotPrimed(first.status_code)
    return client.request(ctx.method, ctx.url, headers=headers)


class ReplayNotPrimed(Exception):
    """The first sending of a replay case was refused: the replay would prove nothing."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the original request got {status}")
        self.status = status


def _status(client: httpx.Client, ctx: DpopContext, headers: list[tuple[str, str]]) -> int | None:
    try:
        return client.request(ctx.method, ctx.url, headers=headers).status_code
    except httpx.TransportError:
        return None


def dpop_posture(client: httpx.Client, ctx: DpopContext) -> DpopPosture:
    """Three probes: a bound token with its proof, an unbound Bearer, the bound one as Bearer."""
    probes = {
        "dpop_bound_with_proof": _status(client, ctx, ctx.with_proof(ctx.proof())),
        "bearer_unbound": _status(client, ctx, [("Authorization", f"Bearer {ctx.unbound_token}")]),
        "bearer_bound": _status(client, ctx, [("Authorization", f"Bearer {ctx.bound_token}")]),
    }
    ok = {name: status is not None and 200 <= status < 300 for name, status in probes.items()}
    if ok["dpop_bound_with_proof"]:
        mode = "optional" if ok["bearer_unbound"] else "required"
    else:
        mode = "off" if ok["bearer_bound"] else "unsupported"
    return DpopPosture(mode=mode, probes=probes)


def run_dpop_cases(
    client: httpx.Client,
    ctx: DpopContext,
    mode: DpopMode,
    attacks: tuple[DpopAttack, ...] = DPOP_ATTACKS,
) -> list[CaseResult]:
    results = []
    for dpop_attack in attacks:
        attack = dpop_attack.as_attack(mode)
        try:
            response = send_dpop(client, ctx, dpop_attack)
        except ReplayNotPrimed as exc:
            results.append(CaseResult(attack, exc.status, Verdict.UNEXPECTED, str(exc)))
            continue
        except httpx.TransportError as exc:
            note = f"{type(exc).__name__}: {exc}"
            results.append(CaseResult(attack, None, Verdict.NO_ANSWER, note))
            continue
        verdict = judge(attack, response.status_code)
        results.append(CaseResult(attack, response.status_code, verdict, _dpop_note(response)))
    return results


def _dpop_note(response: httpx.Response) -> str:
    if response.status_code != 401:
        return ""
    challenge = response.headers.get("www-authenticate", "").lower()
    if not challenge.startswith(("dpop", "bearer")):
        return "401 without a DPoP or Bearer challenge (RFC 9449 7.1)"
    return ""


def _challenge_note(response: httpx.Response) -> str:
    if response.status_code != 401:
        return ""
    challenge = response.headers.get("www-authenticate", "")
    # An API that requires DPoP challenges with DPoP instead (RFC 9449 7.1).
    if not challenge.lower().startswith(("bearer", "dpop")):
        return "401 without a 'WWW-Authenticate: Bearer' challenge (RFC 6750 3)"
    return ""


def run_audit(
    api: str,
    path: str,
    issuer: TrustedIssuer,
    *,
    attacks: tuple[Attack, ...] = ATTACKS,
    timeout: float = 10.0,
) -> AuditReport:
    """Send every attack to ``GET {api}{path}``; ``{sub}`` in ``path`` is the token's subject."""
    sub = f"audit-{secrets.token_hex(6)}"
    url = path.replace("{sub}", quote(sub, safe=""))
    report = AuditReport(api=api, path=path, sub=sub)
    with (
        AttackListener() as listener,
        # A fresh connection per request: a server that drops one (say, after a 500 or a
        # header it cannot write) must not turn the next case into a failure of its own.
        httpx.Client(
            base_url=api.rstrip("/"),
            timeout=timeout,
            limits=httpx.Limits(max_keepalive_connections=0),
        ) as client,
    ):
        context = AttackContext.create(issuer, issuer.jwks(), sub, listener.url)
        dpop = DpopContext.create(issuer, sub, f"{api.rstrip('/')}{url}")
        report.dpop = dpop_posture(client, dpop)
        valid = Probe(sub=sub, authorization=(f"Bearer {context.valid_token}",))
        baseline = send(client, path, valid)
        # An API that requires DPoP refuses every Bearer token: the bearer cases then
        # prove only that, and the DPoP cases carry the audit.
        if not baseline.is_success and report.dpop.mode != "required":
            report.error = (
                f"the API answered {baseline.status_code} to a valid token on {url}: check that "
                "it trusts this issuer's JWKS and that --path names a route the subject may read"
            )
            return report
        for case in attacks:
            # Where DPoP is required, a bearer "control" is refused like everything else.
            required = report.dpop.mode == "required" and case.is_control
            attack = dataclasses.replace(case, expect=REFUSED) if required else case
            hits_before = listener.hits
            try:
                response = send(client, path, attack.probe(context))
            except httpx.TransportError as exc:
                result = CaseResult(attack, None, Verdict.NO_ANSWER, f"{type(exc).__name__}: {exc}")
            else:
                finding = attack.finding(response)
                hits = listener.hits - hits_before
                verdict = judge(attack, response.status_code, hits, finding)
                note = finding or _challenge_note(response)
                result = CaseResult(attack, response.status_code, verdict, note)
            report.results.append(result)
        if report.dpop.enforced:
            mode: DpopMode = "required" if report.dpop.mode == "required" else "optional"
            report.dpop.results = run_dpop_cases(client, dpop, mode)
        after = send(client, path, valid)
        if not after.is_success and report.dpop.mode != "required":
            report.error = f"after the attacks the valid token got {after.status_code}"
        report.listener_requests = list(listener.requests)
    return report


_STYLES = {
    Verdict.PASSED: "green",
    Verdict.UNEXPECTED: "yellow",
}


def _table(title: str, results: list[CaseResult]) -> Table:
    table = Table(title=title)
    table.add_column("attack")
    table.add_column("category")
    table.add_column("expected", justify="right")
    table.add_column("got", justify="right")
    table.add_column("verdict")
    for result in results:
        style = _STYLES.get(result.verdict, "bold red")
        if result.verdict is Verdict.PASSED:
            verdict = "accepted (documented)" if result.attack.is_control else "refused"
        else:
            verdict = result.verdict.value.replace("_", " ")
        if result.note:
            verdict = f"{verdict} ({result.note})"
        table.add_row(
            result.attack.name,
            result.attack.category,
            result.attack.expect_label,
            "-" if result.status is None else str(result.status),
            f"[{style}]{verdict}[/]",
        )
    return table


def print_report(report: AuditReport, console: Console, as_json: bool = False) -> None:
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
        return
    console.print(_table(f"JWT validation audit: GET {report.api}{report.path}", report.results))
    if report.dpop is not None:
        probes = ", ".join(f"{name} {status}" for name, status in report.dpop.probes.items())
        console.print(f"DPoP posture: {report.dpop.mode} ({probes})", highlight=False)
        if report.dpop.results:
            console.print(_table("DPoP (RFC 9449) audit", report.dpop.results))
    if report.listener_requests:
        console.print(f"[bold red]listener received:[/] {', '.join(report.listener_requests)}")
    if report.error:
        console.print(f"[bold red]audit error:[/] {report.error}", highlight=False)
    style = "bold green" if report.passed else "bold red"
    console.print(f"[{style}]{report.summary_line()}[/]", highlight=False, soft_wrap=True)
