"""``harness audit``: run the attack corpus against any API that trusts the mock issuer.

The API must verify bearer tokens against the issuer's JWKS. The audit mints a valid token
for a fresh subject, checks the API accepts it on the protected path (otherwise nothing
below would prove anything), sends every attack from ``harness.attacks`` and checks the
valid token still works afterwards. It fails when an attack is accepted, answered with a
5xx or not answered, or when the server fetched the attacker's ``jku``/``x5u`` URL.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from rich.console import Console
from rich.table import Table

from harness.attacks import ATTACKS, Attack, AttackContext, AttackListener, Minter, Verdict, judge


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
    def unexpected(self) -> int:
        return self._count(Verdict.UNEXPECTED)

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if r.verdict.failing]

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures and not self.listener_requests

    def summary_line(self) -> str:
        outcome = "PASS" if self.passed else "FAIL"
        return (
            f"harness audit {outcome}: {self.tried} attack cases tried, {self.accepted} accepted, "
            f"{self.server_errors} server errors, {self.unexpected} refused with another status, "
            f"{len(self.listener_requests)} requests reached the jku/x5u listener"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "path": self.path,
            "passed": self.passed,
            "error": self.error,
            "tried": self.tried,
            "accepted": self.accepted,
            "server_errors": self.server_errors,
            "unexpected": self.unexpected,
            "listener_requests": self.listener_requests,
            "summary": self.summary_line(),
            "results": [r.to_dict() for r in self.results],
        }


def _challenge_note(response: httpx.Response) -> str:
    if response.status_code != 401:
        return ""
    challenge = response.headers.get("www-authenticate", "")
    if not challenge.lower().startswith("bearer"):
        return "401 without a 'WWW-Authenticate: Bearer' challenge (RFC 6750 3)"
    return ""


def _send(client: httpx.Client, url: str, authorization: str | None) -> httpx.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.get(url, headers=headers)


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
        httpx.Client(base_url=api.rstrip("/"), timeout=timeout) as client,
    ):
        context = AttackContext.create(issuer, issuer.jwks(), sub, listener.url)
        valid = f"Bearer {context.valid_token}"
        baseline = _send(client, url, valid)
        if not baseline.is_success:
            report.error = (
                f"the API answered {baseline.status_code} to a valid token on {url}: check that "
                "it trusts this issuer's JWKS and that --path names a route the subject may read"
            )
            return report
        for attack in attacks:
            hits_before = listener.hits
            try:
                response = _send(client, url, attack.build(context))
            except httpx.TransportError as exc:
                result = CaseResult(attack, None, Verdict.NO_ANSWER, f"{type(exc).__name__}: {exc}")
            else:
                verdict = judge(attack, response.status_code, listener.hits - hits_before)
                note = _challenge_note(response)
                result = CaseResult(attack, response.status_code, verdict, note)
            report.results.append(result)
        after = _send(client, url, valid)
        if not after.is_success:
            report.error = f"after the attacks the valid token got {after.status_code}"
        report.listener_requests = list(listener.requests)
    return report


_STYLES = {
    Verdict.PASSED: "green",
    Verdict.UNEXPECTED: "yellow",
}


def print_report(report: AuditReport, console: Console, as_json: bool = False) -> None:
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
        return
    table = Table(title=f"JWT validation audit: GET {report.api}{report.path}")
    table.add_column("attack")
    table.add_column("category")
    table.add_column("expected", justify="right")
    table.add_column("got", justify="right")
    table.add_column("verdict")
    for result in report.results:
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
    console.print(table)
    if report.listener_requests:
        console.print(f"[bold red]listener received:[/] {', '.join(report.listener_requests)}")
    if report.error:
        console.print(f"[bold red]audit error:[/] {report.error}", highlight=False)
    style = "bold green" if report.passed else "bold red"
    console.print(f"[{style}]{report.summary_line()}[/]", highlight=False, soft_wrap=True)
