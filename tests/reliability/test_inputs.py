"""Bad input and broken files give one line and the documented exit code, never a traceback, and lose nothing.

Issue 12, items 8 and 9: a broken contact log (a damaged page, another program's SQLite file, a missing column, a
read-only file or folder), member ids too large for SQLite, a manifest field over the csv module's limit.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from commands import run
from pypdf import PdfReader

from outreach import campaign as campaigns
from outreach import outbox as outbox_module
from outreach.csvfile import read_rows
from outreach.errors import DataError, ExitCode
from outreach.ledger import DATABASE_FILE, Ledger
from outreach.resources import default_campaign_dir, embedded_snapshot_dir
from outreach.sources.rows import write_rows

# Room left on the small disk once the log exists: enough to queue the batch and send a few letters, not all
# (the log's group commit writes a page or two for every 8 letters).
KEEP_FREE = 72 * 1024
HUGE = "99999999999999999999999"  # over SQLite's 64-bit INTEGER


def error_line(stderr: str) -> str:
    """Return the one error line a failed command printed, after checking it printed exactly one."""
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr, stderr
    return errors[0]


def rows(path: Path) -> list[tuple[object, ...]]:
    """Return every contact and suppression in a log file, read with sqlite3 directly."""
    db = sqlite3.connect(path)
    try:
        found = db.execute("SELECT letter_id, state, member_id FROM contacts ORDER BY id").fetchall()
        return found + db.execute("SELECT member_id, reason, '' FROM suppressions").fetchall()
    finally:
        db.close()


@pytest.fixture(scope="module")
def good_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real contact log: two letters posted and one member suppressed, checkpointed into one file."""
    home = tmp_path_factory.mktemp("good-log-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_HOME", str(home))
        run("log", "add", "4366", "--date", "2026-11-20", "--reference", "RM-17")
        run("log", "add", "Wera Hobhouse", "--date", "2026-11-21")
        run("suppress", "5450", "--reason", "asked not to be contacted, e-mail of 2026-11-20")
    db = sqlite3.connect(home / DATABASE_FILE)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return home / DATABASE_FILE


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make a file or folder read-only for outreach, as the user would meet it, and restore it after.

    Root ignores file modes, so as root (CI) the path is bind-mounted read-only onto itself: the writes then fail
    with EROFS, as on a read-only share; any other user gets the mode a careless copy leaves (0444 or 0555).
    """
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


def _damage_a_page(log: Path) -> None:
    with log.open("r+b") as handle:  # page 2 is the contacts table's root page: its cell pointers become nonsense
        handle.seek(4096 + 8)
        handle.write(b"\xff" * 200)


def _foreign_file(log: Path) -> None:
    log.unlink()
    db = sqlite3.connect(log)
    db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, caption TEXT)")
    db.execute("INSERT INTO photos (caption) VALUES ('Tadcaster Road')")
    db.commit()
    db.close()


def _drop_a_column(log: Path) -> None:
    db = sqlite3.connect(log)
    db.execute("ALTER TABLE contacts DROP COLUMN error")
    db.commit()
    db.close()


LOG_FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "corrupt-page": (_damage_a_page, "the contact log is damaged; restore it from a backup"),
    "foreign-sqlite-file": (_foreign_file, "not an outreach contact log (an SQLite file holding photos)"),
    "missing-column": (_drop_a_column, "the contact log's 'contacts' table lacks column 'error'"),
    "not-a-database": (lambda log: log.write_text("letter_id,member_id\n"), "not a contact log outreach can read"),
}
# Each command that opens the log: reading, recording by hand, a reply, an opt-out.
LOG_COMMANDS = {
    "log": ("log",),
    "log-add": ("log", "add", "4602", "--letter", "minister", "--date", "2026-11-22"),
    "reply": ("reply", "4366", "--outcome", "acknowledgement", "--date", "2026-11-25"),
    "suppress": ("suppress", "4602", "--reason", "asked by telephone"),
    "followups": ("followups",),
}


@pytest.mark.parametrize("command", LOG_COMMANDS.values(), ids=LOG_COMMANDS.keys())
@pytest.mark.parametrize("fault", LOG_FAULTS.values(), ids=LOG_FAULTS.keys())
def test_a_broken_contact_log_is_one_line_and_left_as_it_was(
    fault: tuple[Callable[[Path], None], str], command: tuple[str, ...], good_log: Path, outreach_home: Path
) -> None:
    log = outreach_home / DATABASE_FILE
    shutil.copyfile(good_log, log)
    breaker, expected = fault
    breaker(log)
    before = log.read_bytes()
    _, stderr = run(*command, expect=ExitCode.FAILURE)
    line = error_line(stderr)
    assert f"error: {log}: {expected}" in line
    assert log.read_bytes() == before  # not migrated, repaired or written into


READS = {("log",), ("followups",)}


@pytest.mark.parametrize("command", LOG_COMMANDS.values(), ids=LOG_COMMANDS.keys())
@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_contact_log_is_one_line_and_loses_nothing(
    what: str, command: tuple[str, ...], good_log: Path, outreach_home: Path
) -> None:
    log = outreach_home / DATABASE_FILE
    shutil.copyfile(good_log, log)
    before = rows(log)
    with read_only(log if what == "file" else outreach_home):
        if what == "file" and command in READS:  # a read-only file can still be read
            stdout, _ = run(*command)
            assert command == ("followups",) or "4366-seat" in stdout
        else:
            _, stderr = run(*command, expect=ExitCode.FAILURE)
            line = error_line(stderr)
            assert line.startswith(f"error: {log}: ")
            assert ("read-only" if what == "file" else "cannot open the contact log") in line
    assert rows(log) == before


HUGE_IDS = {
    "log-add": ("log", "add", HUGE, "--date", "2026-11-22"),
    "reply": ("reply", HUGE, "--outcome", "none"),
    "suppress": ("suppress", HUGE, "--reason", "asked by telephone"),
    "suppress-remove": ("suppress", HUGE, "--remove"),
    "log-member": ("log", "--member", HUGE),
}


@pytest.mark.parametrize("command", HUGE_IDS.values(), ids=HUGE_IDS.keys())
def test_a_member_id_too_large_for_sqlite_is_one_line(
    command: tuple[str, ...], good_log: Path, outreach_home: Path
) -> None:
    log = outreach_home / DATABASE_FILE
    shutil.copyfile(good_log, log)
    before = rows(log)
    _, stderr = run(*command, expect=ExitCode.FAILURE)
    assert error_line(stderr) == f"error: member id {HUGE} is out of range (a member id is a Members API id)"
    assert rows(log) == before


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real outbox of three letters (Markdown only), drafted once for the module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_HOME", str(tmp_path_factory.mktemp("draft-home")))
        out = tmp_path_factory.mktemp("drafted") / "outbox"
        run("draft", "--member", "4366", "--member", "Wera Hobhouse", "--member", "5450", "--format", "md",
            "--out", str(out))  # fmt: skip
    return out


def _edit_manifest(outbox: Path, column: str, value: str) -> int:
    """Set `column` of the manifest's second letter to `value`; return the line that letter starts on."""
    path = outbox / "manifest.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    table[1][column] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    return 3


MANIFEST_FAULTS = {
    "member-id-too-large": ("member_id", HUGE, f"member_id {HUGE} is out of range"),
    # The csv module refuses a field over 131,072 characters (csv.field_size_limit()).
    "field-over-csv-limit": ("name", "x" * 200_000, "not readable as CSV (field larger than field limit (131072))"),
}
MANIFEST_COMMANDS = {"log-add-from-manifest": ("log", "add", "--from-manifest"), "send-dry-run": ("send",)}


@pytest.mark.parametrize("command", MANIFEST_COMMANDS.values(), ids=MANIFEST_COMMANDS.keys())
@pytest.mark.parametrize("fault", MANIFEST_FAULTS.values(), ids=MANIFEST_FAULTS.keys())
def test_a_bad_manifest_row_is_one_line_naming_it_and_nothing_is_logged(
    fault: tuple[str, str, str], command: tuple[str, ...], drafted: Path, tmp_path: Path, outreach_home: Path
) -> None:
    outbox = Path(shutil.copytree(drafted, tmp_path / "outbox"))
    column, value, expected = fault
    line = _edit_manifest(outbox, column, value)
    _, stderr = run(*command, str(outbox), expect=ExitCode.FAILURE)
    assert error_line(stderr) == f"error: {outbox / 'manifest.csv'}:{line}: {expected}"
    assert not (outreach_home / DATABASE_FILE).exists()


# -- campaign.toml ---------------------------------------------------------------------------------------------


@pytest.fixture
def campaign_copy(tmp_path: Path) -> Path:
    """A copy of the shipped IPEM 2024 campaign folder that a test may break."""
    return Path(shutil.copytree(default_campaign_dir(), tmp_path / "campaign"))


def _line(folder: Path, text: str) -> int:
    """Return the line of campaign.toml that starts with `text`."""
    lines = (folder / "campaign.toml").read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.startswith(text))


# (the line as shipped, the line broken, the key the error names, what it says)
CAMPAIGN_TYPES = {
    "rule-weight-text": ("weight = 3", 'weight = "heavy"', "rules[0].weight", "must be a number, not a string"),
    "min-asks-text": ("min_asks = 2", 'min_asks = "two"', "selection.min_asks", "must be a whole number, not a string"),
    "address-line-number": (
        "address_lines = [",
        'address_lines = [1, "York"]',
        "sender.address_lines[0]",
        "must be a string, not a whole number",
    ),
    "fact-a-list": (
        "members = ",
        'members = ["around 5,000"]',
        "facts.members",
        "must be a string or a table, not a list",
    ),
    "audience-seats-text": ("seats = ", 'seats = "new"', "audience.seats", "must be a list, not a string"),
    "committee-id-text": (
        "committees = ",
        'committees = ["81"]',
        "refresh.committees[0]",
        "must be a whole number, not a string",
    ),
    "template-when-text": (
        'when = { kind = ["seat"], is_new',
        'when = "new"',
        "templates[2].when",
        "must be a table, not a string",
    ),
    "closing-a-date": ("closing = ", "closing = 2026-12-01", "campaign.closing", "must be a string, not a date"),
    "smtp-port-text": ("security = ", 'port = "587"', "smtp.port", "must be a whole number, not a string"),
    "subjects-a-string": ("# IPEM's letters", 'subjects = "Our asks"', "subjects", "must be a table, not a string"),
}


def _break_campaign(folder: Path, shipped: str, broken: str) -> int:
    """Replace the first line starting with `shipped` by `broken`; return the line the error should name."""
    path = folder / "campaign.toml"
    line = _line(folder, shipped)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = broken
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return line


@pytest.mark.parametrize("case", CAMPAIGN_TYPES.values(), ids=CAMPAIGN_TYPES.keys())
def test_a_campaign_value_of_the_wrong_type_is_one_line_naming_file_line_and_key(
    case: tuple[str, str, str, str], campaign_copy: Path, tmp_path: Path
) -> None:
    shipped, broken, key, says = case
    line = _break_campaign(campaign_copy, shipped, broken)
    out = tmp_path / "outbox"
    _, stderr = run("draft", "--campaign", str(campaign_copy), "--out", str(out), expect=ExitCode.FAILURE)
    assert error_line(stderr) == f"error: {campaign_copy / 'campaign.toml'}:{line}: {key}: {says}"
    assert not out.exists()


def test_a_campaign_file_that_is_not_utf8_names_the_line(campaign_copy: Path, tmp_path: Path) -> None:
    path = campaign_copy / "campaign.toml"
    text = path.read_text(encoding="utf-8")
    line = text.count("\n", 0, text.index("Sinn Féin")) + 1  # the first place a Windows editor would save as cp1252
    path.write_bytes(path.read_bytes().replace("Sinn Féin".encode(), "Sinn Féin".encode("cp1252"), 1))
    out = tmp_path / "outbox"
    for command in (("draft", "--out", str(out)), ("preview", "4366"), ("send", str(tmp_path))):
        _, stderr = run(*command, "--campaign", str(campaign_copy), expect=ExitCode.FAILURE)
        assert error_line(stderr) == (f"error: {path}:{line}: not UTF-8 text (byte 0xe9); save campaign.toml as UTF-8")
    assert not out.exists()


def test_every_value_in_the_shipped_campaign_is_type_checked_at_its_own_line(campaign_copy: Path) -> None:
    """Each `key = value` line of the shipped campaign.toml, given a value of the wrong type, is refused naming it."""
    path = campaign_copy / "campaign.toml"
    shipped = path.read_text(encoding="utf-8").splitlines()
    assignments = [
        (number, found)
        for number, line in enumerate(shipped, 1)
        if (found := re.match(r'^([A-Za-z_]+|"[^"]+") = (.)', line))
    ]
    assert len(assignments) > 250  # the whole file, not a sample
    for number, found in assignments:
        lines = list(shipped)
        # A list is the wrong type for every value but a list, and a table for every list.
        lines[number - 1] = f"{found.group(1)} = {'{}' if found.group(2) == '[' else '[]'}"
        if shipped[number - 1].rstrip().endswith("["):  # a list written over several lines goes whole
            end = next(index for index in range(number, len(shipped)) if shipped[index].strip() == "]")
            del lines[number : end + 1]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with pytest.raises(DataError) as refused:
            campaigns.load(campaign_copy)
        message = str(refused.value)
        assert message.startswith(f"{path}:{number}: "), (shipped[number - 1], message)
        assert found.group(1).strip('"') in message and "must be" in message, message


# -- a full disk during send -----------------------------------------------------------------------------------

SENDER = "policy@ipem.example.org"


@dataclass
class Sink:
    """An SMTP server's handler that keeps every message it accepts (aiosmtpd on 127.0.0.1)."""

    received: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.received.append(bytes(envelope.original_content))
        return "250 OK"

    def message_ids(self) -> list[str]:
        """Return the Message-ID of every message received, in order."""
        return [str(BytesHeaderParser(policy=default_policy).parsebytes(raw)["Message-ID"]) for raw in self.received]


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    """Start an SMTP server on a free loopback port and point OUTREACH_SMTP_* at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in (("HOST", "127.0.0.1"), ("PORT", str(port)), ("SECURITY", "none")):
        monkeypatch.setenv(f"OUTREACH_SMTP_{name}", value)
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the IPEM campaign with a sender address and a signatory, and an outbox of its first 12 letters."""
    folder = Path(shutil.copytree(default_campaign_dir(), tmp_path_factory.mktemp("signed") / "campaign"))
    toml = folder / "campaign.toml"
    text = toml.read_text(encoding="utf-8").replace('\nemail = ""\n', f'\nemail = "{SENDER}"\n', 1)
    toml.write_text(text.replace('\nsignatory_role = ""\n', '\nsignatory_role = "Head of Policy"\n', 1), "utf-8")
    out = tmp_path_factory.mktemp("signed-drafted") / "outbox"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_HOME", str(tmp_path_factory.mktemp("signed-home")))
        run("draft", "--limit", "12", "--campaign", str(folder), "--out", str(out))
    return folder, out


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "512k") -> Iterator[None]:
    """Mount a tmpfs of `size` on `folder`: a real file system that runs out of space (ENOSPC), as a full disk does."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_during_send_says_what_was_sent_and_what_is_left_and_loses_nothing(
    signed: tuple[Path, Path], sink: Sink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign, drafted = signed
    outbox = Path(shutil.copytree(drafted, tmp_path / "outbox"))
    home = tmp_path / "home"
    home.mkdir()
    with small_disk(home):
        monkeypatch.setenv("OUTREACH_HOME", str(home))
        Ledger.open_default().close()  # the log exists; then the disk fills up, leaving room for a few letters
        space = os.statvfs(home)
        filler = home / "filler"
        filler.write_bytes(b"\0" * (space.f_bavail * space.f_frsize - KEEP_FREE))
        send = ("send", str(outbox), "--campaign", str(campaign), "--no-dry-run", "--yes", "--per-minute", "0")
        _, stderr = run(*send, expect=ExitCode.FAILURE)
        line = error_line(stderr)
        told = re.search(
            r"; of this run's 12 letters, (\d+) sent(?:, (\d+) in doubt \(may have arrived.*?\))?, (\d+) not sent", line
        )
        assert line.startswith(
            f"error: {home / DATABASE_FILE}: the disk holding the contact log is full; free some space"
        )
        assert told is not None, line
        sent, doubt, left = int(told[1]), int(told[2] or 0), int(told[3])
        # The disk filled part-way through the run: some sent, the rest in doubt (a group of letters marked sending
        # together, their sent marks not written) or never tried.
        assert sent >= 1 and doubt + left >= 1 and sent + doubt + left == 12
        # What the line says is what happened: the letters sent, and any in doubt, arrived; the rest did not.
        assert len(sink.received) == sent + doubt
        with Ledger.open_default() as ledger:
            logged = Counter(contact.state for contact in ledger.contacts())
        assert logged == Counter(
            {"sent": sent, "sending": doubt, "queued": left} if doubt else {"sent": sent, "queued": left}
        )
        filler.unlink()  # space freed, the next run sends the rest
        run(*send)
        with Ledger.open_default() as ledger:
            logged = Counter(contact.state for contact in ledger.contacts())
    # Nothing lost, nothing twice: every letter arrived once; one in doubt waits for a person, never resent unasked.
    assert len(sink.received) == 12 and len(set(sink.message_ids())) == 12
    assert logged == Counter({"sent": 12 - doubt, "uncertain": doubt} if doubt else {"sent": 12})


# -- item 9: hostile text from a source ------------------------------------------------------------------------

# Wera Hobhouse (Bath) as a hostile source might give her: a formula, terminal escapes (clear screen, an OSC 8 link,
# a bell), HTML, a bidirectional override, C1 and C0 controls.
HOSTILE = {
    "name": '=HYPERLINK("http://evil.example/x","Wera")\x1b[2J <img src=x onerror=alert(1)> Wera \u202eHobhouse\x07',
    "full_title": "<script>alert(1)</script> Wera Hobhouse MP\x1b]8;;http://evil.example\x07",
    "surname": "Hob\x9b31mhouse\x00",
    "constituency_office": "@SUM(1+1) | <b>31 James Street West</b> | Bath\u2066 | BA1 2BT",
}
# The trust that runs Bath's radiotherapy centre, which her letter names.
HOSTILE_TRUST = "-2+3 <img src=x onerror=alert(1)> Royal United\x1b[5m Hospitals Bath NHS FT\u202a"
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
TAGS = re.compile(r"<\s*(?:script|img|b)\b", re.IGNORECASE)


def _rewrite(path: Path, key: str, wanted: str, changes: dict[str, str]) -> None:
    """Change the cells `changes` of the row of a snapshot CSV whose `key` column is `wanted`, quoting as CSV does."""
    with path.open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    found = [row for row in table if row[key] == wanted]
    assert len(found) == 1, wanted
    found[0].update(changes)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)


@pytest.fixture
def hostile_home(outreach_home: Path) -> Path:
    """OUTREACH_HOME holding a copy of the embedded snapshot, as if refreshed, with hostile names injected."""
    snapshot = outreach_home / "snapshots" / "2026-11-30T090000"
    shutil.copytree(embedded_snapshot_dir(), snapshot)
    meta = json.loads((snapshot / "snapshot.json").read_text(encoding="utf-8"))
    (snapshot / "snapshot.json").write_text(json.dumps({**meta, "kind": "refreshed"}), encoding="utf-8")
    _rewrite(snapshot / "members.csv", "member_id", "4602", HOSTILE)
    _rewrite(snapshot / "sites.csv", "site_id", "rt:BA13NG", {"organisation": HOSTILE_TRUST})
    return outreach_home


def _clean_of_controls(text: str, where: str) -> None:
    assert not CONTROLS.search(text), f"{where}: {CONTROLS.search(text)!r}"


def test_hostile_names_from_a_source_reach_no_file_or_terminal_as_controls_html_or_formulas(
    hostile_home: Path, signed: tuple[Path, Path], sink: Sink, tmp_path: Path
) -> None:
    campaign, _ = signed
    out = tmp_path / "outbox"
    _, stderr = run(
        "draft", "--member", "4602", "--format", "md,pdf,docx", "--campaign", str(campaign), "--out", str(out)
    )
    _clean_of_controls(stderr, "draft's output")
    # The manifest: no control character anywhere, and no cell a spreadsheet would run.
    raw = (out / "manifest.csv").read_text(encoding="utf-8")
    _clean_of_controls(raw, "manifest.csv")
    with (out / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row.values()), row
    assert row["name"] == "'" + '=HYPERLINK("http://evil.example/x","Wera") <img src=x onerror=alert(1)> Wera Hobhouse'
    # outreach reads its own manifest back exactly: the apostrophe it added is gone.
    assert outbox_module.read_manifest(out, ())[0].cells["name"] == row["name"][1:]
    # The Markdown letter: the names are there as text, never as HTML.
    markdown = next((out / "letters").glob("*.md")).read_text(encoding="utf-8")
    _clean_of_controls(markdown, "the .md letter")
    assert not TAGS.search(markdown), markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Wera Hobhouse MP" in markdown
    assert "&lt;img src=x onerror=alert(1)&gt; Royal United Hospitals Bath NHS FT" in markdown
    assert "Dear Ms Hobhouse," in markdown
    # The PDF and the DOCX print the same characters literally, and nothing else.
    for pdf in (next((out / "letters").glob("*.pdf")), out / "print.pdf"):
        pdf_text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
        _clean_of_controls(pdf_text, pdf.name)
        assert "<img src=x onerror=alert(1)> Royal United Hospitals Bath NHS FT" in " ".join(pdf_text.split())
    docx_file = next((out / "letters").glob("*.docx"))
    document_xml = zipfile.ZipFile(docx_file).read("word/document.xml").decode("utf-8")
    _clean_of_controls(document_xml, "the DOCX")
    assert (
        not TAGS.search(document_xml)
        and "&lt;img src=x onerror=alert(1)&gt; Royal United Hospitals Bath NHS FT" in document_xml
    )
    # The terminal: preview and the members list print no escape sequence.
    for command in (
        ("preview", "4602", "--campaign", str(campaign)),
        ("mps", "--party", "Liberal Democrat"),
        ("sites", "--constituency", "Bath"),
    ):
        stdout, stderr = run(*command)
        _clean_of_controls(stdout + stderr, " ".join(command))
    # The e-mail: text and HTML parts carry the names as text.
    run("send", str(out), "--campaign", str(campaign), "--no-dry-run", "--yes", "--per-minute", "0")
    (raw_message,) = sink.received
    message = message_from_bytes(raw_message, policy=default_policy)
    assert isinstance(message, EmailMessage)
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html_body, text_body = html_part.get_content(), text_part.get_content()
    _clean_of_controls((html_body + text_body).replace("\r\n", "\n") + str(message["To"]), "the e-mail")
    assert (
        not TAGS.search(html_body)
        and "&lt;img src=x onerror=alert(1)&gt; Royal United Hospitals Bath NHS FT" in html_body
    )
    assert "<img src=x onerror=alert(1)> Royal United Hospitals Bath NHS FT" in text_body
    # The contact log's CSV export neutralises the name too, and its table prints no escape.
    stdout, _ = run("log", "--csv")
    (logged,) = csv.DictReader(io.StringIO(stdout))
    assert logged["name"].startswith("'=HYPERLINK(") and logged["letter_id"] == "4602-seat"
    _clean_of_controls(stdout + run("log").stdout, "outreach log")


# Cells a spreadsheet would run, and cells that only look like it: each is written safe and read back as it was.
CELLS = {
    "formula": ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
    "plus": ("+44 20 7219 3000", "'+44 20 7219 3000"),
    "at": ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    "a-dash-alone": ("-", "'-"),
    "tab-first": ("\t=1+1", "'\t=1+1"),
    "negative-longitude": ("-2.391218", "-2.391218"),
    "signed-number": ("+3", "+3"),
    "already-an-apostrophe": ("'=1+1", "''=1+1"),
    "apostrophe-name": ("'Tis Hall", "'Tis Hall"),
    "plain": ("Wera Hobhouse", "Wera Hobhouse"),
}


@pytest.mark.parametrize(("value", "written"), CELLS.values(), ids=CELLS.keys())
def test_every_csv_outreach_writes_is_spreadsheet_safe_and_read_back_exactly(
    value: str, written: str, tmp_path: Path
) -> None:
    path = tmp_path / "departments.csv"
    rows = [{"department": "DHSC", "name": value, "address_lines": "39 Victoria Street"}]
    write_rows(path, rows, ("department", "name", "address_lines"))  # the snapshot's one writer
    with path.open(encoding="utf-8", newline="") as handle:
        assert next(csv.DictReader(handle))["name"] == written  # what a spreadsheet opens
    ((row, _),) = read_rows(path, ("name",))  # the one reader: the snapshot, known_changes.csv
    assert row["name"] == value.replace("\t", " ")  # a one-line field: its tab a space


def test_the_one_csv_writer_is_the_only_one() -> None:
    """Every CSV outreach writes goes through csvfile.Writer, so none can skip cleaning and neutralising."""
    package = Path(outbox_module.__file__).parent
    writers = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "csvfile.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bcsv\.(?:writer|DictWriter)\(", line)
    ]
    assert writers == []
