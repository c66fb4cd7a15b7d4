"""Hot reload (`make dev`) per provider: on a scratch copy of the sources, a new frontend
page and a new backend route are served without a rebuild, an edit too; `down` leaves
nothing. The bound is generous (two shared cores); bench/dev_loop.py measures the times."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness import dockerd
from harness.config import Mode, StackConfig
from harness.processes import alive
from harness.providers import start_stack
from harness.registry import provider
from harness.scratch import ScratchSources, seconds_until_served
from harness.stack import Stack

SERVED_WITHIN = 120.0


@pytest.fixture(params=list(Mode), ids=str, scope="module")
def hot_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, ScratchSources]]:
    mode: Mode = request.param
    reason = provider(mode).unavailable()
    if reason is not None:
        pytest.skip(f"the {mode} provider cannot run here: {reason}")
    sources = ScratchSources(tmp_path_factory.mktemp(f"sources-{mode}"))
    config = StackConfig(
        name=f"hot-{uuid.uuid4().hex[:6]}",
        hot_reload=True,
        source_root=str(sources.root),
        auth_rate_limit=False,
    )
    stack = start_stack(mode, config)
    try:
        yield stack, sources
    finally:
        stack.down()


def test_new_page_new_route_and_edits_are_served_without_a_rebuild(
    hot_stack: tuple[Stack, ScratchSources],
) -> None:
    stack, sources = hot_stack
    assert stack.config.hot_reload
    with httpx.Client(timeout=60.0) as http:
        # The dev server serves the app itself (compiled on demand).
        assert http.get(f"{stack.frontend_url}/login").status_code == 200

    for attempt in ("new", "edited"):
        marker = f"{attempt}-{uuid.uuid4().hex[:8]}"
        path = sources.write_page(marker)
        page = seconds_until_served(
            f"{stack.frontend_url}{path}", marker, since=time.monotonic(), timeout=SERVED_WITHIN
        )
        path = sources.write_route(marker)
        route = seconds_until_served(
            f"{stack.backend_url}{path}", marker, since=time.monotonic(), timeout=SERVED_WITHIN
        )
        assert page < SERVED_WITHIN
        assert route < SERVED_WITHIN

    # The checkout itself was never touched.
    assert not (Path(__file__).resolve().parents[2] / "frontend" / "app" / "hot-probe").exists()


def test_down_leaves_nothing(hot_stack: tuple[Stack, ScratchSources]) -> None:
    stack, _ = hot_stack
    stack.down()
    if stack.mode is Mode.LOCAL:
        assert not [f.pid for f in stack.services.values() if f.pid and alive(f.pid)]
        assert stack.run_dir is not None
        assert not Path(stack.run_dir).exists()
    else:
        left = dockerd.leftovers(stack.name, stack.project)
        assert left == {"containers": [], "networks": [], "volumes": []}
        assert not any(dockerd.running(f.container) for f in stack.services.values())
