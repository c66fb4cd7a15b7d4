"""The attack-token corpus and what runs it.

- ``corpus``: ``Attack``, ``AttackContext``, the builders and ``ATTACKS`` / ``BY_NAME``;
- ``tokens``: hand-assembled tokens and the attacker's keys;
- ``verdicts``: ``Verdict`` and ``judge``;
- ``dpop``: the DPoP cases (``DPOP_ATTACKS``, ``DpopContext``);
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
from harness.attacks.dpop import DPOP_ATTACKS, DPOP_BY_NAME, DpopAttack, DpopContext, DpopMode
from harness.attacks.listener import AttackListener
from harness.attacks.verdicts import Verdict, judge

__all__ = [
    "ACCEPTED",
    "ATTACKS",
    "BY_NAME",
    "DPOP_ATTACKS",
    "DPOP_BY_NAME",
    "REFUSED",
    "REFUSED_OR_TOO_LARGE",
    "Attack",
    "AttackContext",
    "AttackListener",
    "DpopAttack",
    "DpopContext",
    "DpopMode",
    "Minter",
    "Verdict",
    "judge",
]
