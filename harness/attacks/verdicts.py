"""How an API's answer to an attack is judged."""

from __future__ import annotations

from enum import StrEnum

from harness.attacks.corpus import Attack


class Verdict(StrEnum):
    PASSED = "passed"
    ACCEPTED = "accepted"
    SERVER_ERROR = "server_error"
    FETCHED = "fetched_attacker_url"
    NO_ANSWER = "no_answer"
    UNSAFE = "unsafe_response"
    UNEXPECTED = "unexpected_status"

    @property
    def failing(self) -> bool:
        """Findings that make an audit fail; an unexpected 4xx is reported but still a refusal."""
        return self not in (Verdict.PASSED, Verdict.UNEXPECTED)


def judge(
    attack: Attack, status: int | None, listener_hits: int = 0, finding: str | None = None
) -> Verdict:
    if attack.targets_listener and listener_hits:
        return Verdict.FETCHED
    if status is None:
        return Verdict.NO_ANSWER
    if finding is not None:
        return Verdict.UNSAFE
    if status in attack.expect:
        return Verdict.PASSED
    if status >= 500:
        return Verdict.SERVER_ERROR
    if 200 <= status < 300:
        return Verdict.ACCEPTED
    return Verdict.UNEXPECTED
