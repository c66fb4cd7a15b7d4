"""`make contract|e2e SHARD=i/n`: the shards of a suite partition its collection exactly.

Collects the real suites (no stack starts without ``--stack-mode``) with the options the
Makefile passes for a shard, and checks for n = 2, 3 and 4 that every test lands in
exactly one shard and that no shard is empty.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO_ROOT = Path(__file__).resolve().parents[2]
SUITES = ("contract", "e2e")


def collect(pytester: pytest.Pytester, suite: str, *shard: str) -> list[str]:
    """Node ids one run of ``suite`` would execute (after pytest-split's deselection)."""
    recorder = pytester.inline_run(
        "--collect-only",
        "-p",
        "no:cacheprovider",
        f"--rootdir={REPO_ROOT}",
        "-c",
        str(REPO_ROOT / "pyproject.toml"),
        str(REPO_ROOT / "tests" / suite),
        *shard,
    )
    [finished] = recorder.getcalls("pytest_collection_finish")
    return [item.nodeid for item in finished.session.items]


def shard_options(suite: str, index: int, total: int) -> tuple[str, ...]:
    # As the Makefile's $(call split,SUITE) for SHARD=index/total.
    durations = REPO_ROOT / "tests" / suite / ".test_durations"
    return ("--splits", str(total), "--group", str(index), "--durations-path", str(durations))


@pytest.mark.parametrize("suite", SUITES)
def test_shards_partition_the_suite(pytester: pytest.Pytester, suite: str) -> None:
    everything = collect(pytester, suite)
    assert len(everything) >= 4, "too few tests to shard four ways"
    assert len(set(everything)) == len(everything)
    for total in (2, 3, 4):
        shards = [
            collect(pytester, suite, *shard_options(suite, i, total)) for i in range(1, total + 1)
        ]
        assert all(shards), f"{suite}: an empty shard of {total}: {[len(s) for s in shards]}"
        merged = [nodeid for shard in shards for nodeid in shard]
        assert sorted(merged) == sorted(everything), f"{suite}: {total} shards lose or repeat tests"


@pytest.mark.parametrize("suite", SUITES)
def test_durations_are_recorded_for_the_suite(suite: str) -> None:
    """The committed durations name tests of this suite (`make durations` refreshes them);
    a test missing from them still runs, in some shard, at the average duration."""

    path = REPO_ROOT / "tests" / suite / ".test_durations"
    durations = json.loads(path.read_text())
    assert durations, f"{path} is empty"
    assert all(nodeid.startswith(f"tests/{suite}/") for nodeid in durations)
    assert all(seconds >= 0 for seconds in durations.values())


def test_a_shard_is_a_balanced_share(pytester: pytest.Pytester) -> None:
    """With recorded durations the e2e suite's two shards differ by less than its longest
    test (the bound of the greedy split), not by whole files."""

    durations: dict[str, float] = json.loads(
        (REPO_ROOT / "tests" / "e2e" / ".test_durations").read_text()
    )
    shards = [collect(pytester, "e2e", *shard_options("e2e", i, 2)) for i in (1, 2)]
    missing = [nodeid for shard in shards for nodeid in shard if nodeid not in durations]
    assert not missing, f"no recorded duration (run `make durations`): {missing[:5]}"
    sums = [sum(durations[nodeid] for nodeid in shard) for shard in shards]
    assert abs(sums[0] - sums[1]) <= max(durations.values())
