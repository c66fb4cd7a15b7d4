"""Durations as people type them: ``15m``, ``30s``, ``2h``, ``1d``, ``900``, ``-5m``."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; a bare number is seconds. Raises ValueError with the accepted forms."""
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"invalid duration {text!r}: use a number with s, m, h or d (e.g. 15m)")
    value, unit = match.groups()
    return float(value) * _UNITS[unit or "s"]
