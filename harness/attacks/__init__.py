"""The attack-token corpus and what runs it.

- ``corpus``: ``Attack``, ``AttackContext``, the builders and ``ATTACKS`` / ``BY_NAME``;
- ``tokens``: hand-assembled tokens and the attacker's keys;
- ``verdicts``: ``Verdict`` and ``judge``;
- ``listener``: ``AttackListener`` (the jku/x5u target).
"""

from harness.attacks.corpus import (
    ACCEPTED,
    ATTACKS,
    BY_NAME,
    REFUSED,
    REFUSED_OR_TOO_LARGE,
    Attack,
    AttackContext,
    Minter,
)
from harness.attacks.listener import AttackListener
from harness.attacks.verdicts import Verdict, judge

__all__ = [
    "ACCEPTED",
    "ATTACKS",
    "BY_NAME",
    "REFUSED",
    "REFUSED_OR_TOO_LARGE",
    "Attack",
    "AttackContext",
    "AttackListener",
    "Minter",
    "Verdict",
    "judge",
]
