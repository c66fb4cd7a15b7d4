"""Dev loop: seconds from saving a file to the change being served, per provider.

On a scratch copy of the sources (the checkout is never edited), for each provider this
machine has: a hot-reload stack (`make dev`) serves an edited frontend page, a new page and
an edited backend route, each measured ``--runs`` times (median); beside it, in the same
run, the rebuild path a production stack (`make up`) needs for the same edits -- the stack
taken down and started again, which rebuilds the frontend build (local) or the images
(containers, compose). Targets: <= 3 s per hot-reload edit. Nothing is gated.

    .venv/bin/python -m bench.dev_loop [--providers local,containers,compose] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from harness.config import Mode, StackConfig
from harness.providers import start_stack
from harness.registry import provider
from harness.scratch import ScratchSources, seconds_until_served
from harness.stack import Stack

TIMEOUT = 600.0


def figure(label: str, seconds: float) -> None:
    print(f"{label:<52} {seconds:8.2f} s", flush=True)


def marker() -> str:
    return f"m{uuid.uuid4().hex[:10]}"


def edit_and_wait(
    url: Callable[[str], str], edit: Callable[[str], str], after: Callable[[], None] = lambda: None
) -> float:
    """Make an edit, run ``after`` (e.g. a rebuild), return seconds until it is served."""
    text = marker()
    started = time.monotonic()
    path = edit(text)
    after()
    return seconds_until_served(url(path), text, since=started, timeout=TIMEOUT)


def hot_reload(mode: Mode, sources: ScratchSources, runs: int) -> dict[str, float]:
    config = StackConfig(
        name="bench-dev", hot_reload=True, source_root=str(sources.root), auth_rate_limit=False
    )
    stack = start_stack(mode, config)
    try:
        front = lambda path: f"{stack.frontend_url}{path}"  # noqa: E731
        back = lambda path: f"{stack.backend_url}{path}"  # noqa: E731
        # Untimed: the first compile of the app and of the probe page.
        edit_and_wait(front, sources.write_page)
        edit_and_wait(back, sources.write_route)
        return {
            "frontend edit": statistics.median(
                edit_and_wait(front, sources.write_page) for _ in range(runs)
            ),
            "backend edit": statistics.median(
                edit_and_wait(back, sources.write_route) for _ in range(runs)
            ),
        }
    finally:
        stack.down()


def new_page(mode: Mode, sources: ScratchSources) -> float:
    """A page that did not exist when the dev stack started."""
    config = StackConfig(
        name="bench-dev", hot_reload=True, source_root=str(sources.root), auth_rate_limit=False
    )
    stack = start_stack(mode, config)
    try:
        page = sources.root / "frontend" / "app" / "hot-probe"
        for file in page.glob("*"):
            file.unlink()
        return edit_and_wait(lambda path: f"{stack.frontend_url}{path}", sources.write_page)
    finally:
        stack.down()


def rebuild(mode: Mode, sources: ScratchSources) -> dict[str, float]:
    config = StackConfig(name="bench-up", source_root=str(sources.root), auth_rate_limit=False)
    holder: list[Stack] = [start_stack(mode, config)]

    def restart() -> None:
        holder[0].down()
        holder[0] = start_stack(mode, config)

    try:
        front = lambda path: f"{holder[0].frontend_url}{path}"  # noqa: E731
        back = lambda path: f"{holder[0].backend_url}{path}"  # noqa: E731
        return {
            "frontend edit": edit_and_wait(front, sources.write_page, restart),
            "backend edit": edit_and_wait(back, sources.write_route, restart),
        }
    finally:
        holder[0].down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--providers", default="local,containers,compose")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for name in [p.strip() for p in args.providers.split(",") if p.strip()]:
        mode = Mode(name)
        reason = provider(mode).unavailable()
        if reason is not None:
            print(f"{f'dev loop, {mode}':<52} n/a ({reason})")
            continue
        with tempfile.TemporaryDirectory() as scratch:
            print(f"dev loop, {mode}: copying the sources", file=sys.stderr)
            sources = ScratchSources(Path(scratch))
            hot = hot_reload(mode, sources, args.runs)
            fresh = new_page(mode, sources)
            slow = rebuild(mode, sources)
        for side in ("frontend edit", "backend edit"):
            figure(f"dev loop, {mode}, {side}, hot reload (median)", hot[side])
        figure(f"dev loop, {mode}, new frontend page, hot reload", fresh)
        for side in ("frontend edit", "backend edit"):
            figure(f"dev loop, {mode}, {side}, rebuild (make up)", slow[side])
            print(
                f"{f'ratio rebuild / hot reload, {mode}, {side}':<52} {slow[side] / hot[side]:8.1f}"
            )


if __name__ == "__main__":
    main()
