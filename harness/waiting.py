"""Waiting for a service: the one polling loop of the harness, and log tails for errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx

from harness.errors import ProviderError

T = TypeVar("T")
# A probe that raises is "not ready yet", never a failure by itself.
Probe = Callable[[], bool]
# Returns a reason when the thing waited for can no longer become ready (it exited).
Gone = Callable[[], str | None]


def poll(probe: Callable[[], T | None], *, what: str, timeout: float, interval: float = 0.1) -> T:
    """Call ``probe`` until it returns something other than None, and return that; no fixed
    sleeps beyond ``interval``. TimeoutError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def wait_for(
    ready: Probe,
    *,
    what: str,
    timeout: float,
    interval: float = 0.1,
    gone: Gone | None = None,
    logs: Callable[[], str] | None = None,
) -> None:
    """Poll ``ready`` until it is true.

    Raises ProviderError naming ``what`` after ``timeout`` seconds, or at once when ``gone``
    reports a reason; both messages end with the last lines of ``logs`` when given.
    """

    def probe() -> bool | None:
        reason = gone() if gone is not None else None
        if reason is not None:
            raise ProviderError(_with_logs(f"{what}: {reason}", logs))
        try:
            return True if ready() else None
        except Exception:  # a probe that raises simply is not ready yet
            return None

    try:
        poll(probe, what=what, timeout=timeout, interval=interval)
    except TimeoutError:
        raise ProviderError(_with_logs(f"{what}: not ready after {timeout:.0f}s", logs)) from None


def _with_logs(message: str, logs: Callable[[], str] | None) -> str:
    if logs is None:
        return message
    try:
        text = logs()
    except Exception as exc:  # the log is a diagnostic aid: never hide the real failure
        text = f"(log unavailable: {exc})"
    return f"{message}; last lines:\n{tail(text)}"


def tail(text: str, lines: int = 30) -> str:
    """The last ``lines`` lines of ``text`` (a log), or a placeholder when it is empty."""
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True when ``GET url`` answers 200."""
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False
