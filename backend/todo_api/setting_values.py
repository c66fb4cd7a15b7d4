"""Value checks shared by the settings models (`settings.py`, `dpop_settings.py`)."""

from __future__ import annotations

from collections.abc import Collection


def split_csv(value: object) -> object:
    """`A, B,C` from the environment -> `["A", "B", "C"]`; other values unchanged."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def algorithm_list(value: list[str], supported: Collection[str]) -> list[str]:
    """A non-empty list of supported algorithms, else the error naming the allowed ones."""
    unknown = [alg for alg in value if alg not in supported]
    if unknown or not value:
        allowed = ", ".join(sorted(supported))
        raise ValueError(f"unsupported algorithm {unknown or '(empty)'}; allowed: {allowed}")
    return value
