"""Speed without a change in what is written: the PDF split in two processes beside Typst's thread.

The figures themselves are the benches' (bench/draft.py, bench/send.py); these tests check that the faster paths
write the same bytes as the plain ones and fail the same way.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from commands import every_letter

from outreach import forked as outreach_forked
from outreach.errors import OutputError
from outreach.letters import Letter
from outreach.render import pdf
from outreach.render.split import PageWriter
from outreach.resources import default_campaign_dir

LAYOUT = default_campaign_dir() / "letter.typ"
TWO_PROCESSES = pytest.mark.skipif(sys.platform != "linux", reason="the split forks a second process on Linux only")


@pytest.fixture(scope="module")
def letters() -> list[Letter]:
    """Return 40 letters of `draft --all --allow-stale-posts`: the 10 longest (some set smaller to fit), 30 others."""
    every = list(every_letter())
    longest = sorted(every, key=lambda letter: len(letter.markdown), reverse=True)[:10]
    return longest + [letter for letter in every[:40] if letter not in longest][:30]


def _render(letters: list[Letter], out: Path) -> tuple[pdf.RenderResult, list[bytes], bytes]:
    """Return render_pdfs's result, each letter's PDF bytes and the print PDF's."""
    paths = [out / f"{letter.letter_id}.pdf" for letter in letters]
    result = pdf.render_pdfs(letters, LAYOUT, out, paths, out / "print.pdf")
    return result, [path.read_bytes() for path in paths], (out / "print.pdf").read_bytes()


@TWO_PROCESSES
def test_two_processes_write_the_same_bytes_as_one(
    letters: list[Letter], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf, "PARALLEL_SPLIT_PAGES", 10**9)
    alone, alone_pdfs, alone_print = _render(letters, tmp_path / "one")
    monkeypatch.setattr(pdf, "PARALLEL_SPLIT_PAGES", 4)
    forked: list[int] = []
    real_fork = outreach_forked.fork

    def counted_fork() -> int:
        forked.append(1)
        return real_fork()

    monkeypatch.setattr(outreach_forked, "fork", counted_fork)

    shared, shared_pdfs, shared_print = _render(letters, tmp_path / "two")

    assert forked, "the split did not use a second process"
    assert alone.shrunk, "no letter was set smaller: the overflow thread went untested"
    assert shared.shrunk == alone.shrunk
    assert shared_pdfs == alone_pdfs
    assert shared_print == alone_print
    assert all(data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF") for data in shared_pdfs)


@TWO_PROCESSES
def test_a_failure_in_the_second_process_is_raised_and_nothing_is_written(
    letters: list[Letter], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf, "PARALLEL_SPLIT_PAGES", 4)
    real_page_pdf = PageWriter.page_pdf
    parent = os.getpid()

    def failing(writer: PageWriter, index: int, info: dict[str, str]) -> bytes:
        if index == len(writer.batch.pages) - 1 and len(writer.batch.pages) >= len(letters):
            where = "the parent" if os.getpid() == parent else "the child"
            raise OutputError(f"page {index}: cannot split in {where} (a test's fault)")
        return real_page_pdf(writer, index, info)

    # The first batch's last page is the last letter's (a short one), in the half the child splits.
    monkeypatch.setattr(PageWriter, "page_pdf", failing)
    out = tmp_path / "out"

    with pytest.raises(OutputError, match=r"page \d+: cannot split in the child \(a test's fault\)"):
        _render(letters, out)
    assert [path.name for path in out.iterdir()] == []
