"""The table a live run ends with, checked on a run of stand-in live tests (no network)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from _pytest.reports import TestReport

from tests.live_summary import live_results, table

if TYPE_CHECKING:
    from typing import Literal

ROOT = Path(__file__).resolve().parent.parent


def report(
    nodeid: str,
    outcome: Literal["passed", "failed", "skipped"],
    when: Literal["setup", "call", "teardown"] = "call",
    longrepr: str | None = None,
    live: bool = True,
) -> TestReport:
    keywords = {"live": 1} if live else {}
    return TestReport(nodeid, ("f.py", 1, "t"), keywords, outcome, longrepr, when)


def test_each_source_gets_its_worst_outcome_and_blocked_has_its_own_label() -> None:
    results = live_results(
        [
            report("t.py::test_live_search[bing_images]", "passed"),
            report("t.py::test_live_search[yahoo_images]", "failed", longrepr="BLOCKED yahoo: x"),
            report("t.py::test_live_api[yahoo_images]", "passed"),
            report("t.py::test_live_search[google_images]", "failed", longrepr="assert 0 >= 1"),
            report("t.py::test_live_gen[picsum]", "skipped", when="setup"),
            report("t.py::test_live_a_direct_link_is_routed_and_stored", "passed"),
            report("t.py::test_live_a_direct_link_is_routed_and_stored", "passed", when="setup"),
            report("t.py::test_offline[pexels]", "passed", live=False),
        ]
    )
    assert results == {
        "picsum": "skipped",
        "bing_images": "passed",
        "yahoo_images": "BLOCKED",
        "google_images": "failed",
        "direct": "passed",
    }
    lines = table(results)
    assert lines[0].split() == ["SOURCE", "RESULT"]
    rows = dict(line.split(None, 1) for line in lines[1:])
    assert rows["yahoo_images"] == "BLOCKED" and rows["pexels"] == "not run"


def test_a_live_run_ends_with_the_table_and_an_offline_run_without(tmp_path: Path) -> None:
    (tmp_path / "test_stand_in.py").write_text(
        "import pytest\n"
        "@pytest.mark.live\n"
        "@pytest.mark.parametrize('name', ['picsum', 'bing_images'])\n"
        "def test_live_x(name):\n"
        "    if name == 'bing_images':\n"
        "        pytest.fail('BLOCKED bing_images: captcha', pytrace=False)\n"
        "def test_offline():\n"
        "    pass\n"
    )

    def run(*marker: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:randomly",
             "-p", "no:cacheprovider", "-c", "/dev/null", "--rootdir", str(tmp_path),
             *marker, str(tmp_path)],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        return done.stdout

    out = run("-m", "live")
    assert "live sources" in out, out
    cells = [line.split(None, 1) for line in out[out.index("live sources") :].splitlines()[1:]]
    rows = {
        c[0]: c[1] for c in cells if len(c) == 2 and c[0] in ("picsum", "bing_images", "pexels")
    }
    assert rows == {"picsum": "passed", "bing_images": "BLOCKED", "pexels": "not run"}
    assert "live sources" not in run("-m", "not live")
