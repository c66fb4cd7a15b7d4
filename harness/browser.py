"""Which Chromium the browser suite launches: ``HARNESS_CHROMIUM``, else Playwright's own,
else a system one -- and one line naming the fixes when there is none."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError

# Names a system Chromium goes by (Debian, Ubuntu's snap wrapper, Google's packages).
SYSTEM_CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Flags a system Chromium needs in a container or CI sandbox (no GPU, no user namespaces,
# no background traffic to Google services).
SYSTEM_CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
NO_BROWSER = (
    "no Chromium found: install Playwright's (`.venv/bin/playwright install chromium`) "
    "or a system one (Debian: `apt-get install chromium`), or set HARNESS_CHROMIUM"
)


@dataclass(frozen=True)
class Chromium:
    # None: Playwright's own browser (its default executable).
    executable: str | None
    args: tuple[str, ...]
    source: str

    def launch_args(self) -> dict[str, object]:
        """Options for ``BrowserType.launch`` (pytest-playwright's ``browser_type_launch_args``)."""
        if self.executable is None:
            return {}
        return {"executable_path": self.executable, "args": list(self.args)}


def find_chromium(
    configured: str | None,
    playwright_executable: str | None,
    which: Callable[[str], str | None] = shutil.which,
) -> Chromium:
    """The browser to launch. ``configured``: HARNESS_CHROMIUM; ``playwright_executable``:
    where Playwright's own Chromium would be (it may not be installed)."""
    if configured:
        if not Path(configured).exists() and which(configured) is None:
            raise UsageError(f"HARNESS_CHROMIUM={configured} does not exist")
        return Chromium(which(configured) or configured, SYSTEM_CHROMIUM_ARGS, "HARNESS_CHROMIUM")
    if playwright_executable and Path(playwright_executable).exists():
        return Chromium(None, (), "Playwright's own")
    for name in SYSTEM_CHROMIUMS:
        found = which(name)
        if found:
            return Chromium(found, SYSTEM_CHROMIUM_ARGS, f"system ({found})")
    raise UsageError(NO_BROWSER)
