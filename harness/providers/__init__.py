"""Providers: where a stack's services run (``local``, ``containers``, ``compose``).

``harness.registry`` holds the protocol and picks the provider; ``start_stack`` starts a
stack with it and, for a developer's stack, seeds the demo account.
"""

from __future__ import annotations

from harness.config import Mode, StackConfig
from harness.demo import seed_demo_account
from harness.dependencies import digests
from harness.paths import source_root
from harness.registry import Progress, provider
from harness.stack import Stack


def start_stack(mode: Mode, config: StackConfig, progress: Progress = lambda _: None) -> Stack:
    """Start a stack; return once every service is healthy (and the demo account exists)."""
    chosen = provider(mode)
    stack = chosen.up(config, progress)
    if config.hot_reload:
        stack.not_reloaded = digests(source_root(config))
    if config.development:
        try:
            progress("demo account: signing up")
            stack.demo = seed_demo_account(stack)
        except BaseException:
            chosen.down(stack)
            raise
    return stack
