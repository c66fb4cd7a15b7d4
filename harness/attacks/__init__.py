"""The attack-token corpus and what runs it.

- ``corpus``: ``Attack``, ``AttackContext``, ``Probe``, ``send``, the builders and
  ``ATTACKS`` / ``BY_NAME``;
- ``tokens``: hand-assembled tokens and the attacker's keys;
- ``dpop``: the DPoP cases (``DPOP_ATTACKS``, ``DpopContext``);
- ``verdicts``: ``Verdict`` and ``judge``;
- ``listener``: ``AttackListener`` (the jku/x5u target).
"""

from harness.attacks.corpus import (
    ACCEPTED,
    ATTACKER_HOST,
    ATTACKER_ORIGIN,
    ATTACKS,
    BY_NAME,
    CREATED,
    CRLF_SUFFIX,
    INJECTED_HEADER,
    NOT_SERVED,
    REFUSED,
    REFUSED_OR_TOO_LARGE,
    REFUSED_OR_UNAVAILABLE,
    UNICODE_SUFFIX,
    YEAR_9999,
    Attack,
    AttackContext,
    Minter,
    Probe,
    send,
)
from harness.attacks.dpop import DPOP_ATTACKS, DPOP_BY_NAME, DpopAttack, DpopContext, DpopMode
from harness.attacks.listener import AttackListener
from harness.attacks.verdicts import Verdict, judge

__all__ = [
    "ACCEPTED",
    "ATTACKER_HOST",
    "ATTACKER_ORIGIN",
    "ATTACKS",
    "BY_NAME",
    "CREATED",
    "CRLF_SUFFIX",
    "DPOP_ATTACKS",
    "DPOP_BY_NAME",
    "INJECTED_HEADER",
    "NOT_SERVED",
    "REFUSED",
    "REFUSED_OR_TOO_LARGE",
    "REFUSED_OR_UNAVAILABLE",
    "UNICODE_SUFFIX",
    "YEAR_9999",
    "Attack",
    "AttackContext",
    "AttackListener",
    "DpopAttack",
    "DpopContext",
    "DpopMode",
    "Minter",
    "Probe",
    "Verdict",
    "judge",
    "send",
]
