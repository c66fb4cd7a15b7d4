"""`make report`: JUnit files of several runs merged into one JUnit file and one HTML page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.report import ARTIFACTS_PROPERTY, main, merge


def junit(
    folder: Path,
    run: str,
    *,
    passed: int = 1,
    failed: int = 0,
    artifacts: str | None = None,
) -> Path:
    ok = '<testcase classname="tests.s" name="test_ok_{}" time="0.5"/>'
    cases = [ok.format(i) for i in range(passed)]
    prop = (
        f'<properties><property name="{ARTIFACTS_PROPERTY}" value="{artifacts}"/></properties>'
        if artifacts
        else ""
    )
    cases += [
        f'<testcase classname="tests.s" name="test_bad_{i}" time="1">{prop}'
        f'<failure message="assert 1 == 2">trace</failure></testcase>'
        for i in range(failed)
    ]
    path = folder / f"junit-{run}.xml"
    path.write_text(
        f'<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="{passed + failed}" '
        f'failures="{failed}" errors="0" skipped="0" time="2.5">{"".join(cases)}'
        "</testsuite></testsuites>"
    )
    return path


def test_green_shards_merge_into_one_report(tmp_path: Path) -> None:
    junit(tmp_path, "e2e-containers-1of2", passed=3)
    junit(tmp_path, "e2e-containers-2of2", passed=2)
    (tmp_path / "report-e2e-containers-1of2.html").write_text("<html></html>")

    runs, issues = merge(tmp_path, ["e2e-containers"])

    assert issues == []
    assert [r.name for r in runs] == ["e2e-containers-1of2", "e2e-containers-2of2"]
    merged = ET.parse(tmp_path / "junit.xml").getroot()  # noqa: S314 - written by the test
    assert merged.get("tests") == "5"
    assert [s.get("name") for s in merged.iter("testsuite")] == [r.name for r in runs]
    page = (tmp_path / "report.html").read_text()
    assert "5 passed, 0 failed" in page
    assert 'href="report-e2e-containers-1of2.html"' in page


def test_a_failure_links_its_artifacts(tmp_path: Path) -> None:
    folder = tmp_path / "e2e-local" / "tests-e2e-test-x-py-test-bad-0"
    folder.mkdir(parents=True)
    (folder / "trace.zip").write_bytes(b"zip")
    (folder / "stack-backend.log").write_text("log")
    junit(tmp_path, "e2e-local", failed=1, artifacts="e2e-local/tests-e2e-test-x-py-test-bad-0")

    _, issues = merge(tmp_path)

    assert issues == ["e2e-local: 1 failed"]
    page = (tmp_path / "report.html").read_text()
    assert "tests.s::test_bad_0" in page
    assert "assert 1 == 2" in page
    assert 'href="e2e-local/tests-e2e-test-x-py-test-bad-0/trace.zip"' in page
    assert 'href="e2e-local/tests-e2e-test-x-py-test-bad-0/stack-backend.log"' in page


def test_an_empty_run_a_missing_shard_and_a_missing_suite_fail(tmp_path: Path) -> None:
    junit(tmp_path, "contract-containers-1of3", passed=0)
    junit(tmp_path, "contract-containers-3of3", passed=4)

    _, issues = merge(tmp_path, ["contract-containers", "e2e-containers"])

    assert issues == [
        "contract-containers-1of3: ran no test",
        "contract-containers-2of3: missing (no JUnit file)",
        "e2e-containers: missing (no JUnit file)",
    ]


def test_artifact_folders_nest_one_level(tmp_path: Path) -> None:
    """CI downloads without merging keep one folder per artifact."""
    for shard in (1, 2):
        folder = tmp_path / f"results-{shard}"
        folder.mkdir()
        junit(folder, f"e2e-containers-{shard}of2")
    runs, issues = merge(tmp_path)
    assert issues == []
    assert len(runs) == 2


def test_the_command_fails_on_problems_and_writes_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit(tmp_path, "backend", passed=2)
    summary = tmp_path / "summary.md"
    assert main([str(tmp_path), "--summary", str(summary)]) == 0
    assert "| backend | 2 | 0 | 0 |" in summary.read_text()

    junit(tmp_path, "e2e-local", failed=2)
    assert main([str(tmp_path)]) == 1
    assert "report: e2e-local: 2 failed" in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:
        main([str(tmp_path / "nowhere")])
    assert usage.value.code == 2


def test_nothing_to_merge_is_a_failure(tmp_path: Path) -> None:
    _, issues = merge(tmp_path)
    assert issues == ["no JUnit file found"]
