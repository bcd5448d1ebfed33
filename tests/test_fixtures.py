"""Fixture honesty: ``recorded/`` holds only provenanced recordings; everything else says what it is."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.replay import FIXTURES, RECORDED

if TYPE_CHECKING:
    from pathlib import Path

KINDS = ("recorded", "handwritten", "from_docs", "from_client_tests")
PROVENANCE_FIELDS = ("url", "date", "status", "headers")
NOT_A_RECORDING = re.compile(
    r"hand-written|handwritten|golden|re-typed|retyped|pretty-printed|trimmed|synthetic|docs? example",
    re.IGNORECASE,
)


def _data_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.name != "README.md" and not p.name.endswith(".provenance.txt")
    )


def _provenance(path: Path) -> Path:
    stem = path.name.split(".", 1)[0]
    return path.with_name(f"{stem}.provenance.txt")


def recorded_problems(root: Path) -> list[str]:
    """Why files under ``root`` (a ``recorded/`` folder) are not provenanced recordings."""
    problems: list[str] = []
    for path in _data_files(root):
        where = path.relative_to(root)
        provenance = _provenance(path)
        if not provenance.is_file():
            problems.append(f"{where}: no {provenance.name}")
            continue
        text = provenance.read_text(encoding="utf-8")
        for name in PROVENANCE_FIELDS:
            if not re.search(rf"^{name}:", text, re.MULTILINE):
                problems.append(f"{where}: provenance lacks '{name}:'")
        if found := NOT_A_RECORDING.search(text):
            problems.append(f"{where}: provenance says {found.group(0)!r}, not a recording")
    return problems


def undocumented(root: Path) -> list[str]:
    """Files under ``root`` that neither a provenance file nor their folder's README names."""
    missing: list[str] = []
    for path in _data_files(root):
        if _provenance(path).is_file():
            continue
        readme = path.parent / "README.md"
        if not readme.is_file() or path.name not in readme.read_text(encoding="utf-8"):
            missing.append(str(path.relative_to(root)))
    return missing


def test_fixture_folders_are_only_the_known_kinds_each_with_a_readme() -> None:
    folders = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
    assert folders == sorted(KINDS)
    for kind in KINDS:
        assert (FIXTURES / kind / "README.md").is_file(), kind


def test_every_recorded_file_is_a_recording_with_its_provenance() -> None:
    assert recorded_problems(RECORDED) == []


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "recorded"])
def test_every_other_fixture_says_where_it_came_from(kind: str) -> None:
    assert undocumented(FIXTURES / kind) == []


def test_the_checks_catch_a_hand_written_file_posing_as_a_recording(tmp_path: Path) -> None:
    site = tmp_path / "bing_images"
    site.mkdir()
    (site / "page.html").write_text("<html></html>")
    (site / "bare.json").write_text("{}")
    (site / "page.provenance.txt").write_text("url: https://www.bing.com/\nwhat: a golden file\n")
    assert recorded_problems(tmp_path) == [
        "bing_images/bare.json: no bare.provenance.txt",
        "bing_images/page.html: provenance lacks 'date:'",
        "bing_images/page.html: provenance lacks 'status:'",
        "bing_images/page.html: provenance lacks 'headers:'",
        "bing_images/page.html: provenance says 'golden', not a recording",
    ]
    assert undocumented(tmp_path) == ["bing_images/bare.json"]


def test_a_recording_with_full_provenance_passes(tmp_path: Path) -> None:
    site = tmp_path / "pexels"
    site.mkdir()
    (site / "search.json").write_bytes(b'{"photos":[]}')
    (site / "search.provenance.txt").write_text(
        "url: https://api.pexels.com/v1/search?query=x\ndate: 2026-12-01T10:00:00Z\n"
        "status: 200\nheaders:\n  content-type: application/json\n"
    )
    assert recorded_problems(tmp_path) == []
