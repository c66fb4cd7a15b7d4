"""One report out of many runs: merges the JUnit XML files of a results folder.

Every suite run (a step of ``make test``, a shard of a CI matrix) leaves
``junit-<run>.xml`` and, for pytest, ``report-<run>.html`` and an artifacts folder
``<run>/`` in the same folder. This writes ``junit.xml`` (every run's test suites under one
``<testsuites>``) and ``report.html`` (self-contained: totals, one row per run linking its
own report, every failure with its message and a link to its artifacts), and checks the
set: a run with a failure, or with no test at all, fails the merge, and so does a missing
shard -- a run named ``<suite>-2of4`` means ``1of4`` to ``4of4`` must all be there.

    python -m harness.report RESULTS [--expect NAME ...] [--summary FILE]
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

JUNIT_PREFIX = "junit-"
MERGED_JUNIT = "junit.xml"
MERGED_HTML = "report.html"
# The property the e2e suite records with each test's artifacts folder (relative to the
# results folder): traces, screenshots and service logs land there when a test fails.
ARTIFACTS_PROPERTY = "artifacts"
SHARD_NAME = re.compile(r"^(?P<suite>.+)-(?P<index>\d+)of(?P<total>\d+)$")
MESSAGE_LINES = 30


@dataclass(frozen=True)
class Failure:
    test: str
    kind: str  # failure or error
    message: str
    artifacts: str | None


@dataclass
class Run:
    name: str
    junit: Path
    suites: list[ET.Element] = field(default_factory=list)
    tests: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    unreadable: str | None = None

    @property
    def passed(self) -> int:
        return self.tests - self.failed - self.skipped

    @property
    def ok(self) -> bool:
        return self.unreadable is None and self.tests > 0 and self.failed == 0


def _test_id(case: ET.Element) -> str:
    classname = case.get("classname", "")
    name = case.get("name", "")
    return f"{classname}::{name}" if classname else name


def _artifacts(case: ET.Element, root: Path) -> str | None:
    for prop in case.iter("property"):
        if prop.get("name") == ARTIFACTS_PROPERTY:
            value = prop.get("value", "")
            # Only folders that exist: passing tests leave none behind.
            return value if value and (root / value).is_dir() else None
    return None


def read_run(junit: Path, root: Path) -> Run:
    run = Run(junit.stem.removeprefix(JUNIT_PREFIX), junit)
    try:
        tree = ET.parse(junit)  # noqa: S314 - test runners' own output
    except (ET.ParseError, OSError) as exc:
        run.unreadable = str(exc)
        return run
    top = tree.getroot()
    run.suites = [top] if top.tag == "testsuite" else list(top.iter("testsuite"))
    for suite in run.suites:
        run.tests += int(suite.get("tests", 0))
        run.failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        run.skipped += int(suite.get("skipped", 0))
        run.seconds += float(suite.get("time", 0) or 0)
        for case in suite.iter("testcase"):
            for kind in ("failure", "error"):
                for problem in case.findall(kind):
                    text = problem.get("message") or problem.text or ""
                    lines = text.strip().splitlines()[:MESSAGE_LINES]
                    run.failures.append(
                        Failure(_test_id(case), kind, "\n".join(lines), _artifacts(case, root))
                    )
    return run


def find_runs(root: Path) -> list[Run]:
    """Every ``junit-*.xml`` under ``root`` (CI downloads may nest them one level)."""
    found = sorted({*root.glob(f"{JUNIT_PREFIX}*.xml"), *root.glob(f"*/{JUNIT_PREFIX}*.xml")})
    return [read_run(path, path.parent) for path in found]


def problems(runs: Sequence[Run], expected: Iterable[str] = ()) -> list[str]:
    """Why the merged set is not green (empty: it is)."""
    found: list[str] = []
    names = {run.name for run in runs}
    if not runs:
        found.append("no JUnit file found")
    for run in runs:
        if run.unreadable is not None:
            found.append(f"{run.name}: unreadable JUnit XML ({run.unreadable})")
        elif run.tests == 0:
            found.append(f"{run.name}: ran no test")
        elif run.failed:
            found.append(f"{run.name}: {run.failed} failed")
    shards: dict[str, int] = {}
    for name in names:
        match = SHARD_NAME.match(name)
        if match:
            shards[match["suite"]] = max(shards.get(match["suite"], 0), int(match["total"]))
    for suite, total in sorted(shards.items()):
        for index in range(1, total + 1):
            if f"{suite}-{index}of{total}" not in names:
                found.append(f"{suite}-{index}of{total}: missing (no JUnit file)")
    for name in expected:
        if name not in names and name not in shards:
            found.append(f"{name}: missing (no JUnit file)")
    return found


def merged_junit(runs: Sequence[Run]) -> ET.ElementTree[ET.Element]:
    top = ET.Element("testsuites")
    for run in runs:
        for suite in run.suites:
            # The run's name, so the merged file still tells shards and steps apart.
            suite.set("name", run.name)
            top.append(suite)
    top.set("tests", str(sum(r.tests for r in runs)))
    top.set("failures", str(sum(r.failed for r in runs)))
    top.set("skipped", str(sum(r.skipped for r in runs)))
    top.set("time", f"{sum(r.seconds for r in runs):.3f}")
    return ET.ElementTree(top)


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.ok { color: #1a7f37; } .fail { color: #cf222e; font-weight: bold; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; max-width: 110ch; }
"""


def _link(root: Path, target: Path | str, text: str) -> str:
    href = Path(target).as_posix()
    if not (root / href).exists():
        return html.escape(text)
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def render_html(runs: Sequence[Run], issues: Sequence[str], root: Path) -> str:
    def rel(path: Path) -> str:
        return os.path.relpath(path, root)

    tests = sum(r.tests for r in runs)
    failed = sum(r.failed for r in runs)
    skipped = sum(r.skipped for r in runs)
    verdict = "FAILED" if issues else "passed"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Test report: {verdict}</title><style>{STYLE}</style></head><body>",
        f'<h1>Test report: <span class="{"fail" if issues else "ok"}">{verdict}</span></h1>',
        f"<p>{len(runs)} runs, {tests - failed - skipped} passed, {failed} failed, "
        f"{skipped} skipped.</p>",
    ]
    if issues:
        out.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in issues) + "</ul>")
    out.append(
        "<table><tr><th>run</th><th>result</th><th>passed</th><th>failed</th>"
        "<th>skipped</th><th>seconds</th><th>report</th><th>artifacts</th></tr>"
    )
    for run in runs:
        folder = run.junit.parent
        report = folder / f"report-{run.name}.html"
        artifacts = folder / run.name
        state = '<span class="ok">ok</span>' if run.ok else '<span class="fail">FAIL</span>'
        out.append(
            f"<tr><td>{html.escape(run.name)}</td><td>{state}</td><td>{run.passed}</td>"
            f"<td>{run.failed}</td><td>{run.skipped}</td><td>{run.seconds:.1f}</td>"
            f"<td>{_link(root, rel(report), 'HTML') if report.exists() else ''}</td>"
            f"<td>{_link(root, rel(artifacts), 'folder') if artifacts.is_dir() else ''}</td></tr>"
        )
    out.append("</table>")
    failures = [(run, f) for run in runs for f in run.failures]
    if failures:
        out.append(f"<h2>Failures ({len(failures)})</h2>")
    for run, failure in failures:
        links = ""
        if failure.artifacts:
            folder = run.junit.parent / failure.artifacts
            files = sorted(p for p in folder.iterdir() if p.is_file())
            links = " ".join(_link(root, rel(p), p.name) for p in files)
        out += [
            f"<h3>{html.escape(run.name)}: {html.escape(failure.test)} ({failure.kind})</h3>",
            f"<p>{links}</p>" if links else "",
            f"<pre>{html.escape(failure.message)}</pre>",
        ]
    out.append("</body></html>")
    return "\n".join(line for line in out if line) + "\n"


def summary_markdown(runs: Sequence[Run], issues: Sequence[str]) -> str:
    """The same table for a CI job summary (GitHub's ``$GITHUB_STEP_SUMMARY``)."""
    lines = [
        f"### Tests: {'FAILED' if issues else 'passed'}",
        "",
        "| run | passed | failed | skipped | seconds |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(f"| {r.name} | {r.passed} | {r.failed} | {r.skipped} | {r.seconds:.1f} |" for r in runs),
        "",
        *(f"- {issue}" for issue in issues),
    ]
    return "\n".join(lines) + "\n"


def merge(root: Path, expected: Iterable[str] = ()) -> tuple[list[Run], list[str]]:
    """Write ``junit.xml`` and ``report.html`` into ``root``; return the runs and problems."""
    runs = [r for r in find_runs(root) if r.junit.name != MERGED_JUNIT]
    issues = problems(runs, expected)
    merged_junit(runs).write(root / MERGED_JUNIT, encoding="utf-8", xml_declaration=True)
    (root / MERGED_HTML).write_text(render_html(runs, issues, root), encoding="utf-8")
    return runs, issues


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report", description=__doc__)
    parser.add_argument("results", type=Path, help="folder holding the runs' junit-*.xml")
    parser.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="NAME",
        help="a run (or a sharded suite, e.g. e2e-containers) that must be there",
    )
    parser.add_argument(
        "--summary", type=Path, default=None, help="also append a Markdown table to this file"
    )
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        parser.error(f"{args.results} is not a folder")
    runs, issues = merge(args.results, args.expect)
    for run in runs:
        state = "ok  " if run.ok else "FAIL"
        print(
            f"{state} {run.name:<28} {run.passed} passed, {run.failed} failed, "
            f"{run.skipped} skipped"
        )
    for issue in issues:
        print(f"report: {issue}")
    if args.summary is not None:
        with args.summary.open("a", encoding="utf-8") as out:
            out.write(summary_markdown(runs, issues))
    print(f"report: wrote {args.results / MERGED_HTML} and {args.results / MERGED_JUNIT}")
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main())
