"""`outreach draft` against careless hands and kills: what --force may replace, two drafts at once, SIGKILL.

Issue 12, item 1. Each test drafts a few seat letters from the embedded snapshot and the shipped campaign, as a
user would, and checks that nothing a person put in a folder is lost and that an outbox is always whole.
"""

from __future__ import annotations

import fcntl
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from commands import manifest, run

from outreach import outbox
from outreach.errors import ExitCode

DRAFT = ("draft", "--new", "--format", "md")


def _draft(out: Path, *args: str, expect: ExitCode = ExitCode.OK) -> str:
    """Return what a draft of two new MPs' letters into `out` printed on stderr."""
    return run(*DRAFT, "--limit", "2", "--out", str(out), *args, expect=expect).stderr


def _tree(folder: Path) -> dict[str, bytes]:
    """Return every file under a folder with its bytes, by relative path (to compare before and after)."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _one_error_line(stderr: str) -> str:
    """Return the one error line of a refused command, asserting there is exactly one and no traceback."""
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    return errors[0]


def _leftovers(parent: Path, name: str) -> list[str]:
    """Return the hidden staging, aside and lock entries a draft into parent/name has left beside it."""
    return sorted(entry.name for entry in parent.iterdir() if entry.name.startswith(f".{name}."))


def test_force_refuses_a_folder_outreach_did_not_write(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "thesis.tex").write_text("years of work", encoding="utf-8")
    (home / ".bashrc").write_text("export PATH", encoding="utf-8")
    before = _tree(home)
    line = _one_error_line(_draft(home, "--force", expect=ExitCode.FAILURE))
    assert "is not an outbox outreach wrote" in line and "nothing was written" in line
    assert _tree(home) == before
    assert _leftovers(tmp_path, "home") == []


def test_force_refuses_a_spreadsheet_called_manifest(tmp_path: Path) -> None:
    folder = tmp_path / "budget"
    folder.mkdir()
    (folder / "manifest.csv").write_text("item,cost\npaper,12\n", encoding="utf-8")
    line = _one_error_line(_draft(folder, "--force", expect=ExitCode.FAILURE))
    assert "no manifest.csv of outreach's" in line
    assert (folder / "manifest.csv").read_text(encoding="utf-8") == "item,cost\npaper,12\n"


def test_force_refuses_an_outbox_holding_a_persons_file(tmp_path: Path) -> None:
    out = tmp_path / "outbox"
    _draft(out)
    (out / "covering note.docx").write_bytes(b"a note someone wrote")
    (out / ".~lock.manifest.csv#").write_text("open in LibreOffice", encoding="utf-8")
    before = _tree(out)
    line = _one_error_line(_draft(out, "--force", expect=ExitCode.FAILURE))
    assert "holds files outreach did not write (covering note.docx)" in line
    assert _tree(out) == before
    (out / "covering note.docx").unlink()
    _draft(out, "--force")  # an office program's lock file beside an open manifest is not a person's file
    assert len(manifest(out)) == 2


def test_force_refuses_a_file(tmp_path: Path) -> None:
    letter = tmp_path / "letter.txt"
    letter.write_text("Dear Sir", encoding="utf-8")
    line = _one_error_line(_draft(letter, "--force", expect=ExitCode.FAILURE))
    assert "exists and is not a folder" in line
    assert letter.read_text(encoding="utf-8") == "Dear Sir"


def test_out_dot_is_refused_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "outbox"
    _draft(out)
    before = _tree(out)
    monkeypatch.chdir(out)
    for folder in (".", str(tmp_path)):  # the folder one is in, or one that holds it
        line = _one_error_line(run(*DRAFT, "--out", folder, "--force", expect=ExitCode.FAILURE).stderr)
        assert "is the folder you are in" in line
    assert _tree(out) == before
    assert _leftovers(tmp_path, "outbox") == [] and _leftovers(tmp_path.parent, tmp_path.name) == []


def test_a_parent_that_cannot_hold_a_staging_folder_fails_cleanly(tmp_path: Path) -> None:
    blocker = tmp_path / "notes"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    line = _one_error_line(_draft(blocker / "outbox", expect=ExitCode.FAILURE))
    assert "cannot write here" in line
    assert blocker.read_text(encoding="utf-8") == "a file, not a folder"


def test_a_second_draft_while_one_is_writing_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "outbox"
    _draft(out)
    before = _tree(out)
    # Hold the outbox's lock as a draft in progress does (the file beside it, flock'd).
    with open(tmp_path / ".outbox.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("4242\n")
        held.flush()
        line = _one_error_line(_draft(out, "--force", expect=ExitCode.FAILURE))
    assert "another 'outreach draft' (pid 4242) is writing this outbox" in line
    assert _tree(out) == before


def _draft_process(out: Path, limit: int, *extra: str) -> subprocess.Popen[bytes]:
    """Return a running `outreach draft` of `limit` new MPs' letters into `out`, its stderr piped."""
    command = [sys.executable, "-m", "outreach", *DRAFT, "--limit", str(limit), "--out", str(out), *extra]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_two_drafts_at_once_one_wins_the_other_says_so(tmp_path: Path) -> None:
    out = tmp_path / "outbox"
    processes = {limit: _draft_process(out, limit) for limit in (2, 3)}
    finished = {limit: (process.wait(), process.communicate()[1].decode()) for limit, process in processes.items()}
    winners = [limit for limit, (code, _) in finished.items() if code == ExitCode.OK]
    assert len(winners) == 1, finished
    (loser,) = set(finished) - set(winners)
    code, stderr = finished[loser]
    assert code == ExitCode.FAILURE
    line = _one_error_line(stderr)
    assert "is writing this outbox" in line or "outbox already holds files" in line
    rows = manifest(out)
    assert len(rows) == winners[0] and all((out / row["markdown"]).is_file() for row in rows)
    assert _leftovers(tmp_path, "outbox") == []


def test_the_next_draft_removes_staging_folders_a_kill_left(tmp_path: Path) -> None:
    out = tmp_path / "outbox"
    stale = tmp_path / ".outbox.0123456789abcdef.partial"
    (stale / "letters").mkdir(parents=True)
    (stale / "letters" / "half.md").write_text("Dear", encoding="utf-8")
    other = tmp_path / ".outbox.old.0123456789abcdef.partial"  # not this outbox's: another outbox named 'outbox.old'
    other.mkdir()
    _draft(out)
    assert not stale.exists() and other.exists()
    assert _leftovers(tmp_path, "outbox") == [other.name]


def test_a_kill_between_the_renames_leaves_the_old_outbox_to_be_put_back(tmp_path: Path) -> None:
    out = tmp_path / "outbox"
    _draft(out)
    before = _tree(out)
    # What a kill after 'old outbox → aside' and before 'staging → outbox' leaves: no outbox, the old one beside.
    out.rename(tmp_path / ".outbox.previous")
    (tmp_path / ".outbox.0123456789abcdef.partial").mkdir()
    rows = outbox.read_manifest(out, ("markdown",))  # a reader (send, log add, report) puts it back
    assert len(rows) == 2 and _tree(out) == before
    assert _leftovers(tmp_path, "outbox") == []  # and removes the staging folder, under the outbox's lock
    out.rename(tmp_path / ".outbox.previous")
    line = _one_error_line(_draft(out, expect=ExitCode.FAILURE))  # so does the next draft, which then needs --force
    assert "outbox already holds files" in line
    assert _tree(out) == before and _leftovers(tmp_path, "outbox") == []


def _outbox_state(out: Path) -> int:
    """Return how many letters the outbox holds, asserting it is whole: a manifest and every file it names."""
    rows = outbox.read_manifest(out, ("markdown",))
    for row in rows:
        markdown = row.file("markdown")
        assert markdown is not None and row.cells["salutation"] in markdown.read_text(encoding="utf-8"), row.where
    return len(rows)


def _kill_at_random(process: subprocess.Popen[bytes], parent: Path, chance: random.Random, took: float) -> bool:
    """Return whether `process` was killed: anywhere in its run, or once its staging folder
    appears (two times in three), within the writing of letters, the PDFs, the manifest and the two renames."""
    if chance.random() < 0.3:
        time.sleep(chance.uniform(0, took))
    else:
        stale = set(os.listdir(parent))  # a killed run's staging folder, until this run removes it
        deadline = time.monotonic() + 4 * took
        while process.poll() is None and time.monotonic() < deadline:
            if any(name.endswith(".partial") for name in set(os.listdir(parent)) - stale):
                time.sleep(chance.uniform(0, 0.8))
                break
            time.sleep(0.002)
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    return killed


def test_draft_killed_at_random_moments_leaves_an_old_or_a_new_outbox(tmp_path: Path) -> None:
    out = tmp_path / "outbox"
    started = time.monotonic()
    _draft_process(out, 1, "--force", "--format", "md,pdf").communicate()
    took = time.monotonic() - started
    chance = random.Random(12)
    kills = 0
    for attempt in range(8):
        held = _outbox_state(out)
        limit = 1 + (held % 3)  # each run drafts a different number of letters: the count tells old from new
        process = _draft_process(out, limit, "--force", "--format", "md,pdf")
        kills += _kill_at_random(process, tmp_path, chance, took)
        code = process.wait()
        assert process.stderr is not None
        stderr = process.stderr.read().decode()
        process.stderr.close()
        assert code in (ExitCode.OK, -signal.SIGKILL), f"attempt {attempt}: exit {code}\n{stderr}"
        assert _outbox_state(out) in (held, limit), f"attempt {attempt}: neither the old outbox nor the new one"
    assert kills >= 4, f"only {kills} of 8 runs were killed: the kill window missed"
    _draft_process(out, 2, "--force").communicate()
    assert _outbox_state(out) == 2
    assert _leftovers(tmp_path, "outbox") == [], "a staging folder, aside copy or lock outlived the next run"
    assert os.listdir(tmp_path) == ["outbox"]
