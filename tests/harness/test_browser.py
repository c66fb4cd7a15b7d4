"""Which Chromium the browser suite launches, and the one line when there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.browser import NO_BROWSER, SYSTEM_CHROMIUM_ARGS, find_chromium
from harness.errors import UsageError


def nothing_on_path(_: str) -> str | None:
    return None


def test_configured_chromium_comes_first(tmp_path: Path) -> None:
    own = tmp_path / "own-chromium"
    own.touch()
    playwright = tmp_path / "playwright-chromium"
    playwright.touch()
    found = find_chromium(str(own), str(playwright), nothing_on_path)
    assert found.executable == str(own)
    assert found.launch_args() == {"executable_path": str(own), "args": list(SYSTEM_CHROMIUM_ARGS)}


def test_a_configured_chromium_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"HARNESS_CHROMIUM=.*does not exist"):
        find_chromium(str(tmp_path / "missing"), None, nothing_on_path)


def test_playwrights_own_browser_when_installed(tmp_path: Path) -> None:
    playwright = tmp_path / "chrome"
    playwright.touch()
    found = find_chromium(None, str(playwright), lambda _: "/usr/bin/chromium")
    assert found.executable is None
    assert found.launch_args() == {}


def test_falls_back_to_a_system_chromium(tmp_path: Path) -> None:
    system = {"chromium-browser": "/snap/bin/chromium-browser"}
    found = find_chromium(None, str(tmp_path / "not-installed"), system.get)
    assert found.executable == "/snap/bin/chromium-browser"
    assert found.args == SYSTEM_CHROMIUM_ARGS


def test_no_browser_anywhere_names_both_fixes(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as raised:
        find_chromium(None, str(tmp_path / "not-installed"), nothing_on_path)
    message = str(raised.value)
    assert message == NO_BROWSER
    assert "playwright install chromium" in message
    assert "apt-get install chromium" in message
    assert "\n" not in message
