"""The table a live run (`pytest -m live`) ends with: each source and what its live tests gave.

A source's result is its worst: BLOCKED (a captcha or bot wall, failed with that label) and
failed come before skipped, skipped before passed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tuiapp import sources as registry

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _pytest.reports import TestReport

__all__ = ["live_results", "table"]

_RANK = {"BLOCKED": 0, "failed": 1, "error": 1, "skipped": 2, "passed": 3}


def _sources_of(nodeid: str) -> list[str]:
    """The sources a live test is about: its parameter, else the names in the test's name."""
    names = registry.names()
    param = re.search(r"\[([^\]]+)\]$", nodeid)
    if param and param.group(1) in names:
        return [param.group(1)]
    test = nodeid.rsplit("::", 1)[-1]
    return [n for n in names if re.search(rf"(?:^|_){n}(?:_|$|\[)", test)]


def _outcome(report: TestReport) -> str | None:
    """What one report says, or None for a setup or teardown that went well."""
    if report.outcome == "passed":
        return "passed" if report.when == "call" else None
    if report.outcome == "skipped":
        return "skipped"
    # A blocked source fails with ``pytest.fail("BLOCKED ...", pytrace=False)``: that text.
    if str(report.longrepr or "").lstrip().startswith("BLOCKED"):
        return "BLOCKED"
    return "failed" if report.when == "call" else "error"


def live_results(reports: Iterable[TestReport]) -> dict[str, str]:
    """Per source (in registry order), the worst outcome of its live tests."""
    found: dict[str, str] = {}
    for report in reports:
        if "live" not in report.keywords:
            continue
        outcome = _outcome(report)
        if outcome is None:
            continue
        for name in _sources_of(report.nodeid):
            if name not in found or _RANK[outcome] < _RANK[found[name]]:
                found[name] = outcome
    return {n: found[n] for n in registry.names() if n in found}


def table(results: dict[str, str]) -> list[str]:
    """The lines of the table; sources with no live test run are listed as not run."""
    width = max(len(n) for n in registry.names())
    lines = [f"{'SOURCE':<{width}}  RESULT"]
    for name in registry.names():
        lines.append(f"{name:<{width}}  {results.get(name, 'not run')}")
    return lines
