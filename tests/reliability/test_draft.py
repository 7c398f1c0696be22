"""`outreach draft` against careless hands and kills: what --force may replace, two drafts at once, SIGKILL.

Issue 12, item 1. Each test drafts a few seat letters from the embedded snapshot and the shipped campaign, as a
user would, and checks that nothing a person put in a folder is lost and that an outbox is always whole.
"""

from __future__ import annotations

import csv
import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from commands import manifest, run
from test_send import Recorder, server  # noqa: F401  (`server`: the recording SMTP server on loopback)

from outreach import outbox
from outreach.errors import ExitCode
from outreach.resources import default_campaign_dir

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
    # Runs go on until four were killed mid-way (at least 8 runs, at most 24): on a busy machine a small draft
    # often finishes inside the kill window, and every run, killed or not, must leave an old or a new outbox.
    for attempt in range(24):
        if attempt >= 8 and kills >= 4:
            break
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
    assert kills >= 4, f"only {kills} of {attempt + 1} runs were killed: the kill window missed"
    _draft_process(out, 2, "--force").communicate()
    assert _outbox_state(out) == 2
    assert _leftovers(tmp_path, "outbox") == [], "a staging folder, aside copy or lock outlived the next run"
    assert os.listdir(tmp_path) == ["outbox"]


# -- what a manifest names, and what `send` attaches (issue 12, item 3) -------------------------------------------

SENDER = "policy@ipem.example.org"


@pytest.fixture
def smtp(request: pytest.FixtureRequest) -> Recorder:
    """Return the send tests' recording SMTP server on loopback, which OUTREACH_SMTP_* now point at."""
    recorder = request.getfixturevalue("server")
    assert isinstance(recorder, Recorder)
    return recorder


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a copy of the IPEM campaign that a person signs and that has an address to send from."""
    folder = tmp_path_factory.mktemp("campaign") / "ipem-2024"
    shutil.copytree(default_campaign_dir(), folder)
    toml = folder / "campaign.toml"
    text = toml.read_text(encoding="utf-8").replace('\nemail = ""\n', f'\nemail = "{SENDER}"\n', 1)
    toml.write_text(text.replace('\nsignatory_role = ""\n', '\nsignatory_role = "Head of Policy"\n', 1), "utf-8")
    return folder


@pytest.fixture(scope="module")
def drafted(signed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return an outbox of two new MPs' letters (Markdown and PDF), each with an e-mail address."""
    out = tmp_path_factory.mktemp("drafted") / "outbox"
    run("draft", "--new", "--limit", "2", "--campaign", str(signed), "--out", str(out))
    assert all(row["email"] and row["pdf"] for row in manifest(out))
    return out


@pytest.fixture
def sendable(drafted: Path, tmp_path: Path) -> Path:
    """Return a fresh copy of the drafted outbox, to spoil."""
    return Path(shutil.copytree(drafted, tmp_path / "outbox"))


def _refused_send(outbox_dir: Path, campaign: Path, smtp: Recorder) -> str:
    """Return the one error line of `send --no-dry-run --yes` on a spoilt outbox, asserting nothing was sent."""
    stderr = run("send", str(outbox_dir), "--campaign", str(campaign), "--no-dry-run", "--yes", expect=ExitCode.FAILURE)
    assert smtp.mails == 0
    return _one_error_line(stderr.stderr)


def test_a_pdf_linked_to_a_file_outside_the_outbox_is_not_sent(
    sendable: Path, signed: Path, smtp: Recorder, tmp_path: Path
) -> None:
    secret = tmp_path / "private" / "tax-return.pdf"
    secret.parent.mkdir()
    shutil.copyfile(sendable / manifest(sendable)[0]["pdf"], secret)  # a real PDF: only where it lies is wrong
    pdf = sendable / manifest(sendable)[1]["pdf"]
    pdf.unlink()
    pdf.symlink_to(secret)
    line = _refused_send(sendable, signed, smtp)
    assert f"manifest.csv:3: the letter's PDF {manifest(sendable)[1]['pdf']} leads outside the outbox" in line


def test_enclosures_through_a_linked_folder_are_not_sent(
    sendable: Path, signed: Path, smtp: Recorder, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copyfile(sendable / "print.pdf", elsewhere / "brief.pdf")
    (sendable / "enclosures").symlink_to(elsewhere)
    rows = manifest(sendable)
    rows[0]["enclosures"] = "enclosures/brief.pdf"
    _write_manifest(sendable, rows)
    line = _refused_send(sendable, signed, smtp)
    assert "manifest.csv:2: enclosures enclosures/brief.pdf leads outside the outbox" in line


@pytest.mark.parametrize(
    ("spoil", "complaint"),
    [
        (lambda path: path.write_text("Dear Member, a text file\n", encoding="utf-8"), "is not a PDF (a PDF starts"),
        (lambda path: path.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100), "is not a PDF that opens"),
        (lambda path: (path.unlink(), path.mkdir()), "is not a regular file"),
        (lambda path: (path.unlink(), os.mkfifo(path)), "is not a regular file"),  # reading one would never end
        (lambda path: path.unlink(), "is missing"),
    ],
    ids=["text", "garbage-after-magic", "folder", "fifo", "missing"],
)
def test_what_send_attaches_is_a_pdf_that_opens(
    sendable: Path, signed: Path, smtp: Recorder, spoil: Callable[[Path], object], complaint: str
) -> None:
    row = manifest(sendable)[1]
    spoil(sendable / row["pdf"])
    line = _refused_send(sendable, signed, smtp)
    assert f"manifest.csv:3: the letter's PDF {row['pdf']} {complaint}" in line or (
        f"manifest.csv:3: {row['pdf']} {complaint}" in line
    ), line


def test_a_letter_linked_out_of_the_outbox_is_not_logged(sendable: Path, tmp_path: Path) -> None:
    secret = tmp_path / "diary.md"
    secret.write_text("not a letter", encoding="utf-8")
    markdown = sendable / manifest(sendable)[0]["markdown"]
    markdown.unlink()
    markdown.symlink_to(secret)
    line = _one_error_line(run("log", "add", "--from-manifest", str(sendable), expect=ExitCode.FAILURE).stderr)
    assert "manifest.csv:2: letter file" in line and "leads outside the outbox" in line
    assert run("log", "--json").stdout.strip() == "[]"  # nothing recorded


def _write_manifest(folder: Path, rows: list[dict[str, str]]) -> None:
    """Write rows back as the outbox's manifest.csv, header first."""
    with (folder / "manifest.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


# -- stated input limits (issue 12, item 11) -----------------------------------------------------------------------


def _send_dry_run_peak(outbox_dir: Path, campaign: Path) -> tuple[int, str, int]:
    """Return the exit code, stderr and peak memory (KiB) of `outreach send OUTBOX` (a dry run) in its own process."""
    command = [sys.executable, "-m", "outreach", "send", str(outbox_dir), "--campaign", str(campaign)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    stderr = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    return process.returncode, stderr, usage.ru_maxrss


def test_a_54_mb_letter_body_is_refused_before_it_is_read(sendable: Path, signed: Path) -> None:
    code, stderr, normal = _send_dry_run_peak(sendable, signed)
    assert code == ExitCode.OK, stderr
    row = manifest(sendable)[1]
    with (sendable / row["markdown"]).open("a", encoding="utf-8") as handle:
        for _ in range(54):
            handle.write("Dear Member, " * 80_000 + "\n")  # 54 MB of letter
    assert (sendable / row["markdown"]).stat().st_size > 54_000_000
    code, stderr, peak = _send_dry_run_peak(sendable, signed)
    assert code == ExitCode.FAILURE
    line = _one_error_line(stderr)
    assert f"manifest.csv:3: letter file {row['markdown']}: the file is 53.6 MiB, over the limit of 64 KiB" in line
    assert peak - normal < 16 * 1024, f"refusing it took {peak - normal} KiB more than sending nothing"


def _campaign_copy(tmp_path: Path) -> Path:
    """Return a fresh copy of the shipped campaign, to spoil."""
    return Path(shutil.copytree(default_campaign_dir(), tmp_path / "campaign"))


def _refused_draft(campaign: Path, tmp_path: Path) -> str:
    """Return the one error line of a draft from a spoilt campaign, asserting nothing was written."""
    out = tmp_path / "out"
    stderr = run(*DRAFT, "--limit", "1", "--campaign", str(campaign), "--out", str(out), expect=ExitCode.FAILURE)
    assert not out.exists() and _leftovers(tmp_path, "out") == []
    return _one_error_line(stderr.stderr)


@pytest.mark.parametrize(
    ("addition", "complaint"),
    [
        ('{{ "Dear Member, " * 5000000 }}', "new_mp.md.j2:{line}: repeating a value 5,000,000 times"),
        ("{% for n in range(100000) %}{{ recipient.constituency }} {% endfor %}", "the limit for one letter"),
        ("{{ 2 ** 99999999 > 1 }}", "new_mp.md.j2:{line}: a power of 99,999,999 is too large"),
        ('{{ range(99999)|join("Dear Member, " * 4600) }}', "new_mp.md.j2:{line}: this needs over 1 GiB of memory"),
    ],
    ids=["one-huge-value", "a-long-loop", "a-huge-number", "a-filter-asking-for-6-gb"],
)
def test_a_letter_over_the_limit_is_refused_as_it_is_rendered(tmp_path: Path, addition: str, complaint: str) -> None:
    campaign = _campaign_copy(tmp_path)
    template = campaign / "templates" / "new_mp.md.j2"
    with template.open("a", encoding="utf-8") as handle:
        handle.write(f"\n{addition}\n")
    line = _refused_draft(campaign, tmp_path)
    added = len(template.read_text(encoding="utf-8").splitlines())
    assert complaint.format(line=added) in line and "new_mp.md.j2" in line, line


def test_a_campaign_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    campaign = _campaign_copy(tmp_path)
    with (campaign / "campaign.toml").open("a", encoding="utf-8") as handle:
        handle.write("# padding\n" * 110_000)
    line = _refused_draft(campaign, tmp_path)
    assert "campaign.toml: the campaign file is 1.1 MiB, over the limit of 1 MiB" in line


def test_a_template_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    campaign = _campaign_copy(tmp_path)
    (campaign / "templates" / "partials" / "visit.md.j2").write_text("{# #}\n" * 200_000, encoding="utf-8")
    line = _refused_draft(campaign, tmp_path)
    assert "visit.md.j2: the template is 1.1 MiB, over the limit of 1 MiB" in line


def test_a_template_linked_out_of_the_campaign_is_refused(tmp_path: Path) -> None:
    campaign = _campaign_copy(tmp_path)
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n", encoding="utf-8")
    visit = campaign / "templates" / "partials" / "visit.md.j2"
    visit.unlink()
    visit.symlink_to(secret)
    line = _refused_draft(campaign, tmp_path)
    assert "visit.md.j2: a link out of the campaign's templates folder" in line


def test_an_enclosure_linked_out_of_the_campaign_is_refused(signed: Path, tmp_path: Path) -> None:
    campaign = Path(shutil.copytree(signed, tmp_path / "campaign"))
    private = tmp_path / "private.pdf"
    shutil.copyfile(next(Path(default_campaign_dir()).rglob("*.typ")), private)
    private.write_bytes(b"%PDF-1.7\n" + private.read_bytes())
    (campaign / "leaflet.pdf").symlink_to(private)
    with (campaign / "campaign.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[[enclosures]]\nfile = "leaflet.pdf"\ntitle = "Our leaflet"\n')
    line = _refused_draft(campaign, tmp_path)
    assert "enclosure 'leaflet.pdf': give a file inside the campaign folder" in line


def test_an_override_field_over_the_limit_is_refused(tmp_path: Path) -> None:
    campaign = _campaign_copy(tmp_path)
    with (campaign / "address_overrides.csv").open("a", encoding="utf-8") as handle:
        handle.write(f'4602,Ms Hobhouse,,"{"a very long note " * 600}",\n')
    line = _refused_draft(campaign, tmp_path)
    assert "address_overrides.csv:4: note is 10,200 characters, over the limit of 10,000" in line


def test_an_input_csv_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    campaign = _campaign_copy(tmp_path)
    with (campaign / "known_changes.csv").open("w", encoding="utf-8") as handle:
        handle.write("date,member_mnis_id,name,change,post,status,source\n")
        handle.truncate(21 * 1024 * 1024)  # 21 MiB of NUL bytes: refused by its size, never read
    line = _refused_draft(campaign, tmp_path)
    assert "known_changes.csv: the CSV file is 21 MiB, over the limit of 20 MiB" in line


def test_a_manifest_field_over_the_limit_is_refused_before_anything_is_logged(sendable: Path) -> None:
    rows = manifest(sendable)
    rows[1]["address"] = "House of Commons | " * 600
    _write_manifest(sendable, rows)
    line = _one_error_line(run("log", "add", "--from-manifest", str(sendable), expect=ExitCode.FAILURE).stderr)
    assert "manifest.csv:3: address is 11,400 characters, over the limit of 10,000" in line
    assert run("log", "--json").stdout.strip() == "[]"
