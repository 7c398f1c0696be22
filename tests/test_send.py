"""`outreach send` against a real SMTP server (aiosmtpd on 127.0.0.1): what arrives, what the log says, and crashes.

Every test drafts nothing itself: two outboxes are drafted once from a copy of the IPEM campaign with a sender
address set (the real campaign has none yet), and each test sends a fresh copy of one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from browser import axe_violations, chromium, horizontal_overflow
from commands import draft_once, manifest, run
from crash import kill_mid_send
from dovecot import PASSWORD, USER, Dovecot, running
from postgres_server import free_port
from pypdf import PdfReader

from outreach import campaign as campaigns
from outreach import forked, settings
from outreach import outbox as outboxes
from outreach.delivery.channel import Letter, Outcome, Verdict
from outreach.delivery.run import GROUP_COMMIT
from outreach.errors import DataError, ExitCode
from outreach.ledger import Contact, Ledger, schema
from outreach.resources import default_campaign_dir

# Every test here runs on each engine of the contact log: SQLite in OUTREACH_HOME, and PostgreSQL.
pytestmark = pytest.mark.usefixtures("database")

ROOT = Path(__file__).resolve().parents[1]
SENDER = "policy@ipem.example.org"
ORGANISATION = "Institute of Physics and Engineering in Medicine"


# -- the SMTP server -------------------------------------------------------------------------------------------


@dataclass
class Received:
    """One message as the server accepted it: the envelope and the message (parsed when first asked for)."""

    mail_from: str
    recipients: list[str]
    raw: bytes

    @cached_property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @cached_property
    def message_id(self) -> str:
        return str(BytesHeaderParser(policy=default_policy).parsebytes(self.raw)["Message-ID"])


@dataclass
class Recorder:
    """An aiosmtpd handler that records every accepted message and can misbehave on cue."""

    received: list[Received] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)  # RCPT TO these gets 550
    transient_data: int = 0  # the first N ends of DATA get 451
    drop_at_mail: set[int] = field(default_factory=set)  # close the connection at these MAIL commands (1-based)
    drop_after_data: set[int] = field(default_factory=set)  # take these messages' bodies, then hang up unanswered
    delay: float = 0.0  # seconds before answering the end of DATA
    logins: list[tuple[str, str]] = field(default_factory=list)
    pipelining: bool = False  # advertise PIPELINING (RFC 2920), as Postfix and most submission servers do
    mails: int = 0
    datas: int = 0
    pipelined: int = 0  # envelopes whose DATA was already waiting when MAIL was read

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]] if self.pipelining else responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        self.mails += 1
        self.pipelined += b"DATA" in bytes(server._reader._buffer)  # aiosmtpd's read buffer: what came in one write
        if self.mails in self.drop_at_mail:
            server.transport.close()
            return "421 4.3.2 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.datas += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.transient_data > 0:
            self.transient_data -= 1
            return "451 4.3.0 try again later"
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content)))
        if self.datas in self.drop_after_data:
            server.transport.close()  # the message was taken, but the client never hears so
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        login = (data.login.decode(), data.password.decode())
        self.logins.append(login)
        return AuthResult(success=login == ("ipem", "correct horse battery staple"), handled=False)

    def message_ids(self) -> list[str]:
        return [item.message_id for item in self.received]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """Start a recording SMTP server on a free loopback port and point OUTREACH_SMTP_* at it."""
    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=recorder.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    monkeypatch.setenv("OUTREACH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OUTREACH_SMTP_PORT", str(port))
    monkeypatch.setenv("OUTREACH_SMTP_SECURITY", "none")
    monkeypatch.setenv("OUTREACH_SEND_BACKOFF_SCALE", "0.001")  # minutes of backoff become tenths of a second
    try:
        yield recorder
    finally:
        controller.stop()


# -- outboxes --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def campaign_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the IPEM campaign with a sender address and a signatory set."""
    folder = tmp_path_factory.mktemp("campaign") / "ipem-2024"
    shutil.copytree(default_campaign_dir(), folder)
    toml = folder / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    assert text.count('\nemail = ""\n') == 1 and text.count('\nsignatory_role = ""\n') == 1
    text = text.replace('\nemail = ""\n', f'\nemail = "{SENDER}"\n')
    toml.write_text(text.replace('\nsignatory_role = ""\n', '\nsignatory_role = "Head of Policy"\n'), encoding="utf-8")
    return folder


def _draft(tmp_path_factory: pytest.TempPathFactory, campaign_dir: Path, *selection: str) -> Path:
    return draft_once(tmp_path_factory, campaign_dir, "--allow-stale-posts", *selection)


@pytest.fixture(scope="module")
def ministers_outbox(tmp_path_factory: pytest.TempPathFactory, campaign_dir: Path) -> Path:
    """Stephen Kinnock's seat and ministerial letters (one address), two Treasury ministers (one inbox), and more."""
    return _draft(
        tmp_path_factory,
        campaign_dir,
        "--all",  # every letter of these members: a minister's seat letter too
        *("--member", "Stephen Kinnock", "--member", "5282", "--member", "4559", "--member", "Douglas Lumsden"),
    )


@pytest.fixture(scope="module")
def seats_outbox(tmp_path_factory: pytest.TempPathFactory, campaign_dir: Path) -> Path:
    """The first 40 letters of the campaign's audience."""
    return _draft(tmp_path_factory, campaign_dir, "--limit", "40")


@pytest.fixture
def outbox(ministers_outbox: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "outbox"
    shutil.copytree(ministers_outbox, copy)
    return copy


def send(outbox: Path, campaign_dir: Path, *flags: str, expect: ExitCode = ExitCode.OK) -> tuple[str, str]:
    return run("send", str(outbox), "--campaign", str(campaign_dir), "--per-minute", "0", *flags, expect=expect)


def states(campaign: str = "ipem-2024") -> dict[str, str]:
    with Ledger.open_default() as ledger:
        return {contact.letter_id: contact.state for contact in ledger.contacts(campaign=campaign)}


def write_manifest(outbox: Path, rows: list[dict[str, str]]) -> None:
    with (outbox / "manifest.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def summary(stdout: str) -> dict[str, int]:
    """Return the summary table's rows: outcome → letters."""
    counts = {}
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.replace("┃", "│").split("│")]
        if len(cells) == 2 and cells[1].isdigit():
            counts[cells[0]] = int(cells[1])
    return counts


ENVELOPES = pytest.mark.parametrize("pipelining", [False, True], ids=["one-command-at-a-time", "pipelined"])


# -- what arrives ----------------------------------------------------------------------------------------------


@ENVELOPES
def test_every_letter_arrives_once_with_headers_bodies_and_pdf(
    server: Recorder, outbox: Path, campaign_dir: Path, pipelining: bool, outreach_home: Path
) -> None:
    server.pipelining = pipelining
    stdout, stderr = send(outbox, campaign_dir, "--no-dry-run", "--yes")
    rows = [row for row in manifest(outbox) if row["email"]]
    assert len(server.received) == len(rows) == 6
    assert summary(stdout)["sent"] == 6
    assert server.pipelined == (6 if pipelining else 0)
    with Ledger.open_default() as ledger:
        contacts = {contact.letter_id: contact for contact in ledger.contacts(campaign="ipem-2024")}
    for row, got in zip(rows, server.received, strict=True):
        message = got.message
        assert got.mail_from == SENDER
        assert got.recipients == [row["email"]]
        assert message["From"].addresses[0].addr_spec == SENDER
        assert message["From"].addresses[0].display_name == ORGANISATION
        assert message["To"].addresses[0].addr_spec == row["email"]
        assert message["To"].addresses[0].display_name == row["name"]
        assert message["Subject"] == f"{row['subject']} (Our ref: {row['letter_id']})"
        assert message["Reply-To"].addresses[0].addr_spec == SENDER  # the campaign has no reply_email: its sender
        assert message["Date"] is not None
        assert "Bcc" not in message
        contact = contacts[row["letter_id"]]
        assert contact.state == "sent"
        assert str(message["Message-ID"]) == contact.message_id
        assert contact.message_id.endswith("@ipem.example.org>")
        assert contact.recipient == row["email"]
        assert contact.asks == tuple(row["asks"].split(";"))
        letter = (outbox / row["markdown"]).read_text(encoding="utf-8")
        text_part = message.get_body(("plain",))
        html_part = message.get_body(("html",))
        assert text_part is not None and html_part is not None
        # The server's copy keeps the wire's CRLF line ends; compare lines.
        text = text_part.get_content().replace("\r\n", "\n")
        html = html_part.get_content().replace("\r\n", "\n")
        # The letter's reference, then the letter from its salutation to the closing, then the signature block
        # with the organisation's postal address; the letterhead and the recipient's address block stay on paper.
        assert text.startswith(f"Our ref: {row['letter_id']}\n\n{row['salutation']},\n")
        assert text.rstrip().endswith(
            f"Yours sincerely,\n\nPolicy and Public Affairs Team\nHead of Policy\n{ORGANISATION}\n"
            f"Fairmount House, 230 Tadcaster Road, York, YO24 1ES\nEmail: {SENDER}\nwww.ipem.ac.uk"
        )
        assert "House of Commons" not in text
        assert "**" not in text
        first_paragraph = letter.split(f"{row['salutation']},\n\n", 1)[1].split("\n\n", 1)[0]
        assert " ".join(first_paragraph.replace("**", "").split("\n")) in text  # soft line breaks become spaces
        assert f"<p>{row['salutation']},</p>" in html
        assert "<strong>" in html and "<ul>" in html and "**" not in html
        attachments = list(message.iter_attachments())
        assert len(attachments) == 1
        pdf = attachments[0]
        assert pdf.get_content_type() == "application/pdf"
        assert pdf.get_filename() == Path(row["pdf"]).name
        assert pdf.get_content() == (outbox / row["pdf"]).read_bytes()
        pdf_text = " ".join(PdfReader(io.BytesIO(pdf.get_content())).pages[0].extract_text().split())
        assert f"{row['salutation']}," in pdf_text


@pytest.mark.parametrize("width", [800, 390], ids=["desktop", "phone"])
def test_the_html_part_passes_axe_core(
    server: Recorder, outbox: Path, campaign_dir: Path, tmp_path: Path, width: int
) -> None:
    """An e-mail's HTML part as a mail client shows it: no WCAG 2.2 AA violation (language, title, headings,
    contrast), and on a phone nothing scrolls sideways."""
    send(outbox, campaign_dir, "--no-dry-run", "--yes", "--limit", "1")
    html_part = server.received[0].message.get_body(("html",))
    assert html_part is not None
    page = tmp_path / "message.html"
    page.write_text(html_part.get_content(), encoding="utf-8")
    with chromium(tmp_path / "profile", width, 900) as driver:
        driver.get(page.as_uri())
        assert axe_violations(driver) == []
        assert horizontal_overflow(driver) <= 0


def test_one_address_gets_each_of_its_different_letters(server: Recorder, outbox: Path, campaign_dir: Path) -> None:
    _, stderr = send(outbox, campaign_dir, "--no-dry-run", "--yes")
    by_address: dict[str, list[str]] = {}
    for got in server.received:
        by_address.setdefault(got.recipients[0], []).append(str(got.message["Subject"]))
    # A minister's seat letter and ministerial letter go to the same address; so do two Treasury ministers' letters.
    kinnock = by_address["stephen.kinnock.mp@parliament.uk"]
    assert len(kinnock) == 2 and len(set(kinnock)) == 2
    assert any("Minister for Care" in subject for subject in kinnock)
    treasury = by_address["public.enquiries@hmtreasury.gov.uk"]
    assert len(treasury) == 2 and len(set(treasury)) == 2
    assert len(set(server.message_ids())) == len(server.received)


def test_running_send_again_sends_nothing_new(server: Recorder, outbox: Path, campaign_dir: Path) -> None:
    send(outbox, campaign_dir, "--no-dry-run", "--yes")
    first = server.message_ids()
    stdout, _ = send(outbox, campaign_dir, "--no-dry-run", "--yes")
    assert server.message_ids() == first
    assert summary(stdout) == {"sent": 0, "failed": 0, "skipped: already sent": 6}


def test_dry_run_sends_and_writes_nothing(
    server: Recorder, outbox: Path, campaign_dir: Path, outreach_home: Path
) -> None:
    before = sorted(path.name for path in outbox.rglob("*"))
    stdout, stderr = send(outbox, campaign_dir)
    assert server.received == [] and server.mails == 0
    assert list(outreach_home.iterdir()) == []  # no contact log, no lock file
    assert sorted(path.name for path in outbox.rglob("*")) == before
    assert "Dry run: 6 e-mails would be sent; nothing was sent" in stdout
    for row in manifest(outbox):
        if row["email"]:
            assert row["letter_id"] in stdout
            assert Path(row["pdf"]).name[:15] in stdout


def test_limit_sends_the_first_letters_then_the_rest(server: Recorder, outbox: Path, campaign_dir: Path) -> None:
    stdout, _ = send(outbox, campaign_dir, "--no-dry-run", "--yes", "--limit", "2")
    ids = [row["letter_id"] for row in manifest(outbox) if row["email"]]
    assert [got.recipients[0] for got in server.received] == [row["email"] for row in manifest(outbox) if row["email"]][
        :2
    ]
    assert states() == {ids[0]: "sent", ids[1]: "sent"}
    assert summary(stdout)["skipped: beyond --limit"] == 4
    send(outbox, campaign_dir, "--no-dry-run", "--yes")
    assert len(server.received) == 6 and len(set(server.message_ids())) == 6


def test_suppressed_member_is_never_sent_to(server: Recorder, outbox: Path, campaign_dir: Path) -> None:
    with Ledger.open_default() as ledger:
        ledger.suppress(4359, "asked not to be written to", name="Stephen Kinnock")
    stdout, _ = send(outbox, campaign_dir, "--no-dry-run", "--yes")
    assert "stephen.kinnock.mp@parliament.uk" not in [got.recipients[0] for got in server.received]
    assert len(server.received) == 4
    assert summary(stdout)["skipped: suppressed (opted out)"] == 2
    assert "4359-seat" not in states()


def test_a_letter_already_posted_is_not_e_mailed(server: Recorder, outbox: Path, campaign_dir: Path) -> None:
    with Ledger.open_default() as ledger:
        ledger.record(
            campaign="ipem-2024",
            letter_id="5282-seat",
            channel="post",
            member_id=5282,
            name="Dan Tomlinson",
            recipient="Dan Tomlinson MP | House of Commons | London | SW1A 0AA",
            asks=("workforce",),
            content_sha256="0" * 64,
            sent_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        )
    stdout, _ = send(outbox, campaign_dir, "--no-dry-run", "--yes")
    assert "dan.tomlinson.mp@parliament.uk" not in [got.recipients[0] for got in server.received]
    assert len(server.received) == 5
    assert summary(stdout)["skipped: already sent by post"] == 1


def test_per_minute_spaces_the_letters(server: Recorder, outbox: Path, campaign_dir: Path) -> None:
    """The cap asks for a pause before each letter after the first (the pauses are recorded, not slept)."""
    from outreach import campaign as campaigns
    from outreach.delivery.email import Mailer, read_manifest
    from outreach.delivery.run import deliver, plan

    chosen = campaigns.load(campaign_dir)
    letters = read_manifest(outbox, chosen)
    pauses: list[float] = []
    with Ledger.open_default() as ledger:
        planned = plan(outbox, chosen.id, letters, ledger)
        result = deliver(planned, ledger, Mailer(settings.smtp(chosen.smtp)), per_minute=6, sleep=pauses.append)
    assert len(result.sent) == 6 and len(server.received) == 6
    assert len(pauses) == 5
    assert all(5 < pause <= 10 for pause in pauses)  # 60 s / 6, less the moment each letter took to send


def test_confirmation_is_asked_and_no_sends_nothing(server: Recorder, outbox: Path, campaign_dir: Path) -> None:
    stdout, stderr = run(
        "send", str(outbox), "--campaign", str(campaign_dir), "--no-dry-run", "--per-minute", "0",
        input="n\n", expect=ExitCode.FAILURE,
    )  # fmt: skip
    assert f"Send 6 e-mails from {SENDER} via 127.0.0.1:" in stdout
    assert server.mails == 0
    assert "Nothing sent." in stderr
    run("send", str(outbox), "--campaign", str(campaign_dir), "--no-dry-run", "--per-minute", "0", input="y\n")
    assert len(server.received) == 6


def test_bcc_self_goes_in_the_envelope_only(server: Recorder, outbox: Path, campaign_dir: Path) -> None:
    send(outbox, campaign_dir, "--no-dry-run", "--yes", "--limit", "1", "--bcc-self")
    (got,) = server.received
    assert got.recipients == ["stephen.kinnock.mp@parliament.uk", SENDER]
    assert "Bcc" not in got.message and SENDER.encode() not in got.raw.split(b"\r\n\r\n")[0].split(b"From:")[0]


# -- when the server says no, or goes away ---------------------------------------------------------------------


def test_lines_starting_with_a_dot_arrive_intact(server: Recorder, outbox: Path, campaign_dir: Path) -> None:
    """SMTP ends a message at a line holding only '.', so leading dots are doubled on the wire and undone there."""
    row = manifest(outbox)[0]
    letter = outbox / row["markdown"]
    text = letter.read_text(encoding="utf-8")
    salutation = f"{row['salutation']},\n\n"
    letter.write_text(text.replace(salutation, f"{salutation}.\n\n.. and a line of dots\n\n", 1), encoding="utf-8")
    send(outbox, campaign_dir, "--no-dry-run", "--yes", "--limit", "1")
    (got,) = server.received
    plain = got.message.get_body(("plain",))
    assert plain is not None
    assert f"{row['salutation']},\n\n.\n\n.. and a line of dots\n\n" in plain.get_content().replace("\r\n", "\n")


@ENVELOPES
def test_a_refused_bcc_fails_the_letter_and_delivers_nothing(
    server: Recorder, outbox: Path, campaign_dir: Path, pipelining: bool
) -> None:
    server.pipelining = pipelining
    server.reject = {SENDER}
    send(outbox, campaign_dir, "--no-dry-run", "--yes", "--limit", "2", "--bcc-self", expect=ExitCode.SEND_INCOMPLETE)
    # Pipelined, the server takes DATA for the MP alone: the client hangs up rather than deliver half the envelope.
    assert server.received == []
    assert list(states().values()) == ["failed", "failed"]
    with (outbox / "failures.csv").open(encoding="utf-8", newline="") as handle:
        reasons = [row["reason"] for row in csv.DictReader(handle)]
    assert reasons == [f"RCPT TO <{SENDER}>: 550 5.1.1 mailbox unavailable"] * 2


@ENVELOPES
def test_rejected_recipient_fails_alone_and_is_listed(
    server: Recorder, outbox: Path, campaign_dir: Path, pipelining: bool
) -> None:
    server.pipelining = pipelining
    server.reject = {"dan.tomlinson.mp@parliament.uk"}
    stdout, stderr = send(outbox, campaign_dir, "--no-dry-run", "--yes", expect=ExitCode.SEND_INCOMPLETE)
    assert len(server.received) == 5
    assert states()["5282-seat"] == "failed"
    assert [state for letter, state in states().items() if letter != "5282-seat"] == ["sent"] * 5
    with (outbox / "failures.csv").open(encoding="utf-8", newline="") as handle:
        failures = list(csv.DictReader(handle))
    assert failures == [
        {
            "letter_id": "5282-seat",
            "member_id": "5282",
            "email": "dan.tomlinson.mp@parliament.uk",
            "reason": "RCPT TO <dan.tomlinson.mp@parliament.uk>: 550 5.1.1 mailbox unavailable",
            "state": "failed",
        }
    ]
    assert summary(stdout)["failed"] == 1
    assert "failures.csv" in stderr
    with Ledger.open_default() as ledger:
        contact = ledger.contact("ipem-2024", "5282-seat", "email")
    assert contact is not None and contact.error is not None and "550" in contact.error
    # Once the address works, the next run sends the failed letter (only it) and clears failures.csv.
    server.reject = set()
    stdout, _ = send(outbox, campaign_dir, "--no-dry-run", "--yes")
    assert [got.recipients[0] for got in server.received[5:]] == ["dan.tomlinson.mp@parliament.uk"]
    assert not (outbox / "failures.csv").exists()
    assert set(states().values()) == {"sent"}


@ENVELOPES
def test_dropped_connection_reconnects_and_duplicates_nothing(
    server: Recorder, outbox: Path, campaign_dir: Path, pipelining: bool
) -> None:
    server.pipelining = pipelining
    server.drop_at_mail = {3, 5}
    _, stderr = send(outbox, campaign_dir, "--no-dry-run", "--yes")
    assert len(server.received) == 6 and len(set(server.message_ids())) == 6
    assert set(states().values()) == {"sent"}
    assert stderr.count("deferred") == 2


@ENVELOPES
def test_transient_451_is_retried_with_the_same_message_id(
    server: Recorder, outbox: Path, campaign_dir: Path, pipelining: bool
) -> None:
    server.pipelining = pipelining
    server.transient_data = 1
    _, stderr = send(outbox, campaign_dir, "--no-dry-run", "--yes", "--limit", "1")
    assert server.datas == 2 and len(server.received) == 1
    assert "451 4.3.0 try again later" in stderr
    with Ledger.open_default() as ledger:
        contact = ledger.contact("ipem-2024", "4359-seat", "email")
    assert contact is not None and contact.state == "sent" and contact.attempts == 2  # deferred once, then sent
    assert server.message_ids() == [contact.message_id]


@ENVELOPES
def test_lost_reply_after_the_message_leaves_it_uncertain_never_resent(
    server: Recorder, outbox: Path, campaign_dir: Path, pipelining: bool
) -> None:
    server.pipelining = pipelining
    server.drop_after_data = {2}
    stdout, stderr = send(outbox, campaign_dir, "--no-dry-run", "--yes")
    assert len(server.received) == 6  # the server did take the second letter
    second = manifest(outbox)[1]["letter_id"]
    assert states()[second] == "uncertain"
    assert summary(stdout)["uncertain (reply lost)"] == 1
    stdout, _ = send(outbox, campaign_dir, "--no-dry-run", "--yes")
    assert len(server.received) == 6
    assert summary(stdout)["skipped: uncertain, may have arrived"] == 1
    # Asked for explicitly, it goes again with the Message-ID it first had.
    send(outbox, campaign_dir, "--no-dry-run", "--yes", "--resend-uncertain")
    assert len(server.received) == 7
    assert server.message_ids()[6] == server.message_ids()[1]
    assert states()[second] == "sent"


def test_unreachable_server_is_one_line_and_exit_3(
    outbox: Path, campaign_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTREACH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OUTREACH_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("OUTREACH_SMTP_SECURITY", "none")
    _, stderr = send(outbox, campaign_dir, "--no-dry-run", "--yes", expect=ExitCode.SOURCE)
    assert stderr.strip().splitlines()[-1].startswith("error: SMTP 127.0.0.1:")
    assert "cannot connect" in stderr
    assert set(states().values()) <= {"queued"}  # nothing began sending


def test_password_never_appears_in_any_output(
    server: Recorder, outbox: Path, campaign_dir: Path, outreach_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "correct horse battery staple"
    monkeypatch.setenv("OUTREACH_SMTP_USER", "ipem")
    monkeypatch.setenv("OUTREACH_SMTP_PASSWORD", password)
    server.reject = {"dan.tomlinson.mp@parliament.uk"}
    outputs = []
    for flags, expect in (((), ExitCode.OK), (("--no-dry-run", "--yes"), ExitCode.SEND_INCOMPLETE)):
        stdout, stderr = send(outbox, campaign_dir, *flags, expect=expect)
        outputs += [stdout, stderr]
    assert server.logins == [("ipem", password)]  # it was used to log in...
    monkeypatch.setenv("OUTREACH_SMTP_PASSWORD", "wrong")
    server.reject = set()
    stdout, stderr = send(outbox, campaign_dir, "--no-dry-run", "--yes", expect=ExitCode.SOURCE)
    assert "login refused" in stderr
    outputs += [stdout, stderr, repr(settings.smtp({}, environ=dict(os.environ)))]
    for path in [*outreach_home.rglob("*"), *outbox.rglob("*")]:
        if path.is_file():
            outputs.append(path.read_bytes().decode("latin-1"))
    assert not [text for text in outputs if password in text or "wrong" in text.split()]  # ...and shown nowhere


def test_a_second_concurrent_run_is_refused(server: Recorder, outbox: Path, campaign_dir: Path) -> None:
    from outreach.delivery.run import send_lock

    with send_lock():
        _, stderr = send(outbox, campaign_dir, "--no-dry-run", "--yes", expect=ExitCode.FAILURE)
    assert "another 'outreach send' is running" in stderr
    assert server.mails == 0


# -- bad input -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "complaint"),
    [
        ("name", "Dan Tomlinson\r\nBcc: everyone@example.org", "name contains a line break"),
        ("subject", "Hello\nBcc: everyone@example.org", "subject contains a line break"),
        ("email", "dan.tomlinson.mp@parliament.uk\r\nBcc: x@example.org", "email contains a line break"),
        ("email", "dan.tomlinson.mp@@parliament.uk", "email is not a valid e-mail address"),
        ("email", "dan tomlinson@parliament.uk", "email is not a valid e-mail address"),
        ("email", "dan.tomlinson.mp@parliament", "email is not a valid e-mail address"),
        ("campaign", "another-campaign", "drafted for campaign 'another-campaign'"),
    ],
)
def test_bad_rows_are_refused_before_anything_is_sent(
    server: Recorder, outbox: Path, campaign_dir: Path, column: str, value: str, complaint: str
) -> None:
    rows = manifest(outbox)
    index = next(i for i, row in enumerate(rows) if row["letter_id"] == "5282-seat")
    rows[index][column] = value
    write_manifest(outbox, rows)
    for flags in ((), ("--no-dry-run", "--yes")):
        _, stderr = send(outbox, campaign_dir, *flags, expect=ExitCode.FAILURE)
        (line,) = stderr.strip().splitlines()
        assert f"manifest.csv:{index + 2} (letter 5282-seat): {complaint}" in line
    assert server.mails == 0


def test_a_campaign_without_a_sender_address_refuses_naming_campaign_toml(
    server: Recorder, outbox: Path, campaign_dir: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "campaign"
    shutil.copytree(default_campaign_dir(), bare)
    _, stderr = send(outbox, bare, "--no-dry-run", "--yes", expect=ExitCode.FAILURE)
    assert (
        stderr.strip()
        == f"error: {bare / 'campaign.toml'}: [sender] email is empty: set the address the letters are e-mailed from"
    )
    assert server.mails == 0


def test_an_unsigned_campaign_refuses_in_one_line_as_without_a_sender_address(
    server: Recorder, outbox: Path, campaign_dir: Path, tmp_path: Path
) -> None:
    unsigned = tmp_path / "campaign"
    shutil.copytree(campaign_dir, unsigned)
    toml = unsigned / "campaign.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('signatory_role = "Head of Policy"', 'signatory_role = ""'),
        encoding="utf-8",
    )
    for flags in ((), ("--no-dry-run", "--yes")):
        _, stderr = send(outbox, unsigned, *flags, expect=ExitCode.FAILURE)
        (line,) = stderr.strip().splitlines()
        sender_line = toml.read_text(encoding="utf-8").splitlines().index("[sender]") + 1
        assert line.startswith(f"error: {toml}:{sender_line}: the signatory is a team, not a person")
        assert line.endswith("signatory_name and signatory_role in campaign.toml before printing or sending")
    assert server.mails == 0


def test_a_letter_drafted_unsigned_is_refused_once_the_campaign_is_signed(
    server: Recorder, outbox: Path, campaign_dir: Path
) -> None:
    rows = manifest(outbox)
    rows[1]["flags"] = ";".join(filter(None, (rows[1]["flags"], "unsigned")))
    write_manifest(outbox, rows)
    _, stderr = send(outbox, campaign_dir, "--no-dry-run", "--yes", expect=ExitCode.FAILURE)
    assert stderr.strip() == (
        f"error: {outbox / 'manifest.csv'}:3 (letter {rows[1]['letter_id']}): "
        "the letter was drafted unsigned: draft it again now that a person signs"
    )
    assert server.mails == 0


def test_enclosures_are_attached_after_the_letters_pdf(
    server: Recorder, campaign_dir: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import typst

    folder = tmp_path / "campaign"
    shutil.copytree(campaign_dir, folder)
    for name in ("manifesto", "asks"):
        (folder / f"{name}.typ").write_text(f"= IPEM's {name}\n", encoding="utf-8")
        typst.compile(str(folder / f"{name}.typ"), output=str(folder / f"{name}.pdf"))
    with (folder / "campaign.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[[enclosures]]\nfile = "manifesto.pdf"\ntitle = "IPEM\'s manifesto"\n')
        handle.write('when = { kind = ["seat"] }\n')
        handle.write('\n[[enclosures]]\nfile = "asks.pdf"\ntitle = "IPEM\'s six asks"\n')
    outbox = _draft(tmp_path_factory, folder, "--all", "--member", "Stephen Kinnock")
    send(outbox, folder, "--no-dry-run", "--yes")
    rows = manifest(outbox)
    assert "seat" in {row["kind"] for row in rows} and all(row["email"] for row in rows)
    assert len(server.received) == len(rows)
    for row, got in zip(rows, server.received, strict=True):
        attachments = list(got.message.iter_attachments())
        names = [Path(row["pdf"]).name, *(["manifesto.pdf"] if row["kind"] == "seat" else []), "asks.pdf"]
        assert [part.get_filename() for part in attachments] == names
        assert [part.get_content_type() for part in attachments] == ["application/pdf"] * len(names)
        assert attachments[-1].get_content() == (folder / "asks.pdf").read_bytes()
        assert attachments[0].get_content() == (outbox / row["pdf"]).read_bytes()
        text = got.message.get_body(("plain",))
        assert text is not None and "Enc. IPEM's six asks" in text.get_content()


def test_missing_manifest_column_names_the_line(server: Recorder, outbox: Path, campaign_dir: Path) -> None:
    rows = [{key: value for key, value in row.items() if key != "subject"} for row in manifest(outbox)]
    write_manifest(outbox, rows)
    _, stderr = send(outbox, campaign_dir, expect=ExitCode.FAILURE)
    assert "manifest.csv:1: missing column subject" in stderr


# -- another channel -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Printed:
    """A letter as a tiny postal channel takes it: the address block and the letter's text."""

    letter_id: str
    address: str
    text: str


@dataclass
class MemoryPost:
    """A postal channel held in memory: it 'posts' by keeping the letter, answering as each letter's script says."""

    script: dict[str, list[Outcome]]  # letter id → the outcomes of its attempts in turn (then: sent)
    name: str = "post"
    attempts: int = 2
    backoff_seconds: tuple[float, ...] = (0.0,)
    posted: list[Printed] = field(default_factory=list)
    expected: list[Printed] = field(default_factory=list)
    opened: int = 0
    closed: int = 0

    def open(self) -> None:
        self.opened += 1

    def expect(self, messages: Sequence[Printed]) -> None:
        self.expected += messages

    def new_reference(self, message: Printed) -> str:
        return f"<{message.letter_id}.post@ipem.example.org>"

    def prepare(self, message: Printed, reference: str) -> tuple[str, Printed]:
        return reference, message

    def deliver(self, ready: tuple[str, Printed], meanwhile: Callable[[], None]) -> Outcome:
        meanwhile()
        steps = self.script.get(ready[1].letter_id, [])
        outcome = steps.pop(0) if steps else Outcome.sent()
        if outcome.verdict == Verdict.SENT:
            self.posted.append(ready[1])
        return outcome

    def close(self) -> None:
        self.closed += 1


def read_for_post(outbox: Path) -> list[Letter[Printed]]:
    """Return the outbox's letters as the postal channel reads them: by address, the letter's Markdown as text."""
    letters = []
    for row in outboxes.read_manifest(outbox, ("letter_id", "member_id", "name", "address", "asks", "markdown")):
        markdown = row.file("markdown")
        assert markdown is not None
        text = markdown.read_text(encoding="utf-8")
        address = row.cells["address"]
        printed = Printed(row.letter_id, address, text) if address else None
        sha = hashlib.sha256(markdown.read_bytes()).hexdigest()
        letters.append(
            Letter(row.line, row.letter_id, row.member_id, row.cells["name"], address, row.asks, sha, "post", printed)
        )
    return letters


def test_the_run_drives_any_channel_through_the_log(server: Recorder, outbox: Path, campaign_dir: Path) -> None:
    """The plan, lock, loop and log are the channel's to use: a postal channel in memory, on a real draft's letters."""
    from outreach import campaign as campaigns
    from outreach.delivery import email as mail
    from outreach.delivery import run as delivery

    letters = read_for_post(outbox)
    first, second, third, *rest = [letter.letter_id for letter in letters]
    post = MemoryPost(
        {
            first: [Outcome.retry("the franking machine jammed")],
            second: [Outcome.failed("address unknown")],
            third: [Outcome.uncertain("the courier lost the receipt")],
        }
    )
    reports: list[tuple[str, str, str]] = []
    _, result = delivery.run(
        outbox,
        "ipem-2024",
        letters,
        post,
        per_minute=0,
        report=lambda v, item, why: reports.append((v, item.letter.letter_id, why)),
    )
    assert result.sent == [first, *rest] and result.uncertain == [third]
    assert [(failure.letter_id, failure.reason) for failure in result.failures] == [(second, "address unknown")]
    assert [printed.letter_id for printed in post.posted] == [first, *rest]
    assert (post.opened, post.closed) == (1, 1)  # a channel reopens itself when it must
    # Deferred with no wait asked for (a backoff of 0 s), the first letter comes back before the second goes.
    assert reports[:2] == [("deferred", first, "the franking machine jammed"), ("sent", first, "")]
    assert ("uncertain", third, "the courier lost the receipt") in reports
    assert server.mails == 0
    with Ledger.open_default() as ledger:
        contacts = {contact.letter_id: contact for contact in ledger.contacts(channel="post")}
    assert {letter: contact.state for letter, contact in contacts.items()} == {
        first: "sent",
        second: "failed",
        third: "uncertain",
        **dict.fromkeys(rest, "sent"),
    }
    assert contacts[first].attempts == 2 and contacts[first].message_id == f"<{first}.post@ipem.example.org>"
    assert post.posted[0].address == contacts[first].recipient == letters[0].recipient != ""
    assert hashlib.sha256(post.posted[0].text.encode()).hexdigest() == contacts[first].content_sha256
    assert contacts[third].error == "the courier lost the receipt: the server may have accepted it"
    with (outbox / "failures.csv").open(encoding="utf-8", newline="") as handle:
        assert [row["letter_id"] for row in csv.DictReader(handle)] == [second]
    # Run again: the failed letter goes, the sent and uncertain ones do not; and e-mail knows they were posted.
    planned, again = delivery.run(outbox, "ipem-2024", letters, post, per_minute=0)
    assert again.sent == [second] and not (outbox / "failures.csv").exists()
    assert Counter(reason for _, reason in planned.skipped) == {"already sent": len(letters) - 2, delivery.UNCERTAIN: 1}
    emailed = mail.dry_run(outbox, campaigns.load(campaign_dir))
    assert emailed.to_send == [] and {reason for _, reason in emailed.skipped} == {"already sent by post"}


# -- group commit ----------------------------------------------------------------------------------------------


def test_an_uncapped_send_commits_once_for_every_group_of_letters(
    server: Recorder, seats_outbox: Path, campaign_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit: GROUP_COMMIT letters marked `sending` in one commit, with the previous batch's `sent` marks."""
    outbox = tmp_path / "outbox"
    shutil.copytree(seats_outbox, outbox)
    letters = sum(1 for row in manifest(outbox) if row["email"])
    commits: list[str] = []
    committed = schema.transaction

    @contextlib.contextmanager
    def counted(db: Any) -> Iterator[Any]:
        with committed(db) as inside:
            yield inside
        commits.append("commit")

    monkeypatch.setattr(schema, "transaction", counted)
    send(outbox, campaign_dir, "--no-dry-run", "--yes")
    assert len(server.received) == letters > 3 * GROUP_COMMIT
    assert set(states().values()) == {"sent"}
    # The schema, settling the last run, queueing the run, one commit a batch, and the last batch's `sent` marks.
    assert len(commits) <= 4 + -(-letters // GROUP_COMMIT)


def test_a_batch_marked_sending_but_never_tried_goes_back_in_the_queue() -> None:
    with Ledger.open_default() as ledger:
        for member in (4602, 5450):
            ledger.enqueue(
                campaign="ipem-2024",
                letter_id=f"{member}-seat",
                channel="email",
                member_id=member,
                name=str(member),
                recipient=f"{member}@parliament.example",
                asks=("workforce",),
                content_sha256="0" * 64,
                message_id=f"<{member}@ipem.example.org>",
            )
        keys = [("ipem-2024", f"{member}-seat", "email") for member in (4602, 5450)]
        ledger.begin_sending_batch(keys)
        assert [contact.state for contact in ledger.contacts()] == ["sending", "sending"]
        ledger.end_batch(sent=[(keys[0], datetime.now(UTC))], untried=[keys[1]])
        after = {contact.letter_id: (contact.state, contact.attempts) for contact in ledger.contacts()}
    assert after == {"4602-seat": ("sent", 1), "5450-seat": ("queued", 0)}


# -- the crash test --------------------------------------------------------------------------------------------

KILLS = 20


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Dovecot]:
    """The sender's mailbox on a real IMAP server (Dovecot), where the --bcc-self copies land."""
    with running() as server:
        yield server


def _log_target(home: Path) -> Path | str:
    """Return the log a run with this home writes: the team database when the test has one, else the home's file."""
    return os.environ.get("OUTREACH_DATABASE_URL") or home / "outreach.db"


def _emailed(home: Path) -> list[Contact]:
    """Return the e-mail contacts in the log a run with this home writes (none before the log exists)."""
    target = _log_target(home)
    if isinstance(target, Path) and not target.exists():
        return []
    with Ledger(target) as ledger:
        return ledger.contacts(channel="email")


def _settled(home: Path) -> int:
    """Return how many letters the log at `home` has sent or uncertain."""
    return sum(contact.state in ("sent", "uncertain") for contact in _emailed(home))


def test_sigkill_at_random_moments_never_duplicates_or_loses_a_letter(
    server: Recorder, seats_outbox: Path, campaign_dir: Path, tmp_path: Path, mailbox: Dovecot
) -> None:
    """Kill `outreach send` with SIGKILL again and again, then let it finish: each letter at most once, none lost.

    A round sends the outbox from a fresh contact log, killing the send until no letter is left, then lets one run
    finish; rounds repeat (a fast machine may get through 40 letters in fewer kills) until KILLS kills in all. A kill
    leaves at most one batch of the group commit uncertain; `outreach inbox`, reading the --bcc-self copies from the
    sender's mailbox, then settles every uncertain letter that arrived, and `--resend-uncertain` sends the rest.
    """
    outbox = tmp_path / "outbox"
    shutil.copytree(seats_outbox, outbox)
    letters = sorted(row["letter_id"] for row in manifest(outbox) if row["email"])
    seed = int(os.environ.get("OUTREACH_CRASH_SEED", random.randrange(1 << 30)))
    print(f"crash test seed: {seed} (rerun with OUTREACH_CRASH_SEED={seed})")
    chance = random.Random(seed)
    server.delay = 0.005  # widen the moment between the message's end and the server's reply
    command = [sys.executable, "-m", "outreach", "send", str(outbox), "--campaign", str(campaign_dir)]
    command += ["--no-dry-run", "--yes", "--per-minute", "0", "--bcc-self"]
    kills = 0
    rounds = 0
    while kills < KILLS:
        rounds += 1
        home = tmp_path / f"home-{rounds}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "OUTREACH_HOME": str(home)}
        target = _log_target(home)
        if isinstance(target, str):  # a fresh log for the round: the team database emptied
            with Ledger(target) as ledger:
                ledger.forget_campaign("ipem-2024")
        # The outbox starts afresh too: a round's new SQLite log is not the one the outbox was first sent from.
        (outbox / ".outreach-log-id").unlink(missing_ok=True)
        server.received.clear()
        round_kills = runs = 0
        while True:
            runs += 1
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            assert process.stderr is not None
            if kills + round_kills >= KILLS or _settled(home) == len(letters):
                _, errors = process.communicate(timeout=120)
                assert process.returncode == 0, errors.decode()
                break
            # Kill within a few milliseconds of a letter going through (bench/crash.py says where that lands).
            round_kills += kill_mid_send(process, chance, window=0.005)
        kills += round_kills
        ids = server.message_ids()
        assert len(ids) == len(set(ids)), "a Message-ID arrived twice"
        rows = [(contact.letter_id, contact.state, contact.message_id) for contact in _emailed(home)]
        assert sorted(letter for letter, _, _ in rows) == letters  # one row per letter: none lost, none doubled
        final = {letter: state for letter, state, _ in rows}
        assert set(final.values()) <= {"sent", "uncertain"}
        uncertain = [letter for letter, state in final.items() if state == "uncertain"]
        assert len(uncertain) <= GROUP_COMMIT * round_kills
        arrived = set(ids)
        assert all(message_id in arrived for _, state, message_id in rows if state == "sent")
        left = _settle_from_the_mailbox(mailbox, server, env, outbox, campaign_dir)
        assert left == sorted(letter for letter, _, message_id in rows if message_id not in arrived)
        print(
            f"round {rounds}: {runs} runs, {round_kills} kills, {len(letters)} letters, "
            f"{len(uncertain)} uncertain, {len(ids)} arrived, {len(left)} uncertain after 'outreach inbox'"
        )
    assert kills >= KILLS


def _settle_from_the_mailbox(
    mailbox: Dovecot, server: Recorder, env: dict[str, str], outbox: Path, campaign_dir: Path
) -> list[str]:
    """Deliver the round's --bcc-self copies to the sender's mailbox, run `outreach inbox` and then
    `send --resend-uncertain`; return the letters `inbox` left uncertain (none of which had arrived)."""
    mailbox.empty()
    for received in server.received:
        assert SENDER in received.recipients  # --bcc-self: the envelope holds the sender's own address too
        mailbox.append("INBOX", received.raw)
    home = {"OUTREACH_HOME": env["OUTREACH_HOME"]}
    imap = {"HOST": "127.0.0.1", "PORT": str(mailbox.port), "SECURITY": "none", "USER": USER, "PASSWORD": PASSWORD}
    run("inbox", env={**home, **{f"OUTREACH_IMAP_{name}": value for name, value in imap.items()}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_HOME", env["OUTREACH_HOME"])
        with Ledger.open_default() as ledger:
            left = sorted(contact.letter_id for contact in ledger.contacts(state="uncertain"))
        send(outbox, campaign_dir, "--no-dry-run", "--yes", "--resend-uncertain")
        ids = server.message_ids()
        assert len(ids) == len(set(ids)), "a letter resent after 'outreach inbox' arrived twice"
        assert set(states().values()) == {"sent"}
    return left


# -- one outbox, several homes: the log it was sent from, a team's shared log -----------------------------------


def test_an_outbox_sent_from_one_log_is_refused_from_another_unless_yes_other_log(
    server: Recorder, outbox: Path, campaign_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    send(outbox, campaign_dir, "--no-dry-run", "--yes", "--limit", "1")
    with Ledger.open_default() as ledger:
        first_log = ledger.log_id()
    assert (outbox / ".outreach-log-id").read_text(encoding="utf-8").strip() == first_log
    # A colleague's home: on SQLite a log of its own; with OUTREACH_DATABASE_URL the team's log, shared.
    monkeypatch.setenv("OUTREACH_HOME", str(tmp_path / "colleague-home"))
    if database == "postgresql":
        stdout, _ = send(outbox, campaign_dir, "--no-dry-run", "--yes")
        assert summary(stdout)["sent"] == 5 and len(server.received) == 6  # the team's log knew the first was sent
        return
    for flags in ((), ("--no-dry-run", "--yes")):
        _, stderr = send(outbox, campaign_dir, *flags, expect=ExitCode.FAILURE)
        (line,) = stderr.strip().splitlines()
        assert f"first sent from another contact log (id {first_log})" in line and "--yes-other-log" in line
    assert len(server.received) == 1
    # Told to, it sends from the other log, which knows nothing of the first letter: that is what the refusal guards.
    stdout, _ = send(outbox, campaign_dir, "--no-dry-run", "--yes", "--yes-other-log")
    assert summary(stdout)["sent"] == 6 and len(server.received) == 7
    assert (outbox / ".outreach-log-id").read_text(encoding="utf-8").strip() == first_log


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_senders_on_one_team_log_deliver_every_letter_exactly_once(
    server: Recorder, seats_outbox: Path, campaign_dir: Path, tmp_path: Path
) -> None:
    """Two people send the same outbox at the same moment, each from their own home, against one PostgreSQL log."""
    outbox = tmp_path / "outbox"
    shutil.copytree(seats_outbox, outbox)
    letters = sorted(row["letter_id"] for row in manifest(outbox) if row["email"])
    server.delay = 0.005
    command = [sys.executable, "-m", "outreach", "send", str(outbox), "--campaign", str(campaign_dir)]
    command += ["--no-dry-run", "--yes", "--per-minute", "0"]
    processes = [
        subprocess.Popen(
            command,
            env={**os.environ, "PYTHONPATH": str(ROOT), "OUTREACH_HOME": str(tmp_path / person)}
            | {"OUTREACH_USER": person},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for person in ("alice", "bob")
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (_, errors) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, errors.decode()
    ids = server.message_ids()
    assert len(ids) == len(set(ids)) == len(letters)  # every letter arrived, none twice
    assert sorted(got.recipients[0] for got in server.received) == sorted(
        row["email"] for row in manifest(outbox) if row["email"]
    )
    contacts = _emailed(tmp_path)
    assert sorted(contact.letter_id for contact in contacts) == letters
    assert {contact.state for contact in contacts} == {"sent"} and {c.message_id for c in contacts} == set(ids)
    assert {contact.by for contact in contacts} <= {"alice", "bob"}
    sent_lines = sum(errors.decode().count("\nsent ") + errors.decode().startswith("sent ") for _, errors in outputs)
    assert sent_lines == len(letters)  # between them the two runs reported each letter sent once


# -- two processes ---------------------------------------------------------------------------------------------


def test_an_outbox_checked_by_two_processes_reads_as_one_process_reads_it(
    seats_outbox: Path, campaign_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outreach.delivery import email as mail
    from outreach.forked import two_cores

    if not two_cores():
        pytest.skip("the check forks a second process on Linux with two cores only")
    campaign = campaigns.load(campaign_dir)
    monkeypatch.setattr(mail, "PARALLEL_READ_LETTERS", 10**9)
    alone = mail.read_manifest(seats_outbox, campaign)
    monkeypatch.setattr(mail, "PARALLEL_READ_LETTERS", 4)
    forks: list[int] = []
    real_fork = forked.fork
    monkeypatch.setattr(forked, "fork", lambda: forks.append(1) or real_fork())
    shared = mail.read_manifest(seats_outbox, campaign)
    assert forks == [1]
    assert len(shared) == len(alone) == 40
    assert shared == alone


def test_two_processes_name_the_first_bad_row_as_one_would(
    seats_outbox: Path, campaign_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outreach.delivery import email as mail
    from outreach.forked import two_cores

    if not two_cores():
        pytest.skip("the check forks a second process on Linux with two cores only")
    monkeypatch.setattr(mail, "PARALLEL_READ_LETTERS", 4)
    outbox = tmp_path / "outbox"
    shutil.copytree(seats_outbox, outbox)
    rows = manifest(outbox)
    late = max(index for index, row in enumerate(rows) if row["email"])  # in the half the child checks
    early = min(index for index, row in enumerate(rows) if row["email"])  # in the parent's half
    rows[late]["email"] = "not an address"
    write_manifest(outbox, rows)
    campaign = campaigns.load(campaign_dir)
    with pytest.raises(DataError, match=rf"manifest\.csv:{late + 2} \(letter {rows[late]['letter_id']}\): email is"):
        mail.read_manifest(outbox, campaign)
    rows[early]["email"] = "nor this"
    write_manifest(outbox, rows)
    with pytest.raises(DataError, match=rf"manifest\.csv:{early + 2} \(letter {rows[early]['letter_id']}\): email"):
        mail.read_manifest(outbox, campaign)


def test_messages_encoded_ahead_are_the_messages_encoded_in_turn(seats_outbox: Path, campaign_dir: Path) -> None:
    from outreach.delivery import email as mail
    from outreach.delivery.ahead import Ahead
    from outreach.forked import two_cores

    if not two_cores():
        pytest.skip("the encoding ahead forks a second process on Linux with two cores only")
    messages = [letter.message for letter in mail.read_manifest(seats_outbox, campaigns.load(campaign_dir))]
    emails = [message for message in messages if message is not None]
    ahead = Ahead(emails)
    try:
        deadline = time.monotonic() + 60
        while len(ahead._done) < len(emails) - 1 and time.monotonic() < deadline:  # the run's first letter aside
            time.sleep(0.01)
        taken = [ahead.take(message) for message in emails]
    finally:
        ahead.close()
    made = [encoded for encoded in taken if encoded is not None]
    assert len(made) >= len(emails) // 2, "the child encoded few of the letters"
    for message, encoded in zip(emails, taken, strict=True):
        if encoded is not None:
            assert encoded == message.encoded()
            assert encoded.files and encoded.files[0][0] == message.attachment.name  # type: ignore[union-attr]


def test_the_child_stops_where_the_run_has_come(
    seats_outbox: Path, campaign_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outreach.delivery import email as mail
    from outreach.delivery.ahead import Ahead
    from outreach.forked import two_cores
    from outreach.render.email import Email

    if not two_cores():
        pytest.skip("the encoding ahead forks a second process on Linux with two cores only")
    messages = [letter.message for letter in mail.read_manifest(seats_outbox, campaigns.load(campaign_dir))]
    emails = [message for message in messages if message is not None]
    real_encoded = Email.encoded

    def slow(message: Email) -> Any:  # the child takes 0.2 s over each message: the run gets ahead of it at once
        time.sleep(0.2)
        return real_encoded(message)

    monkeypatch.setattr(Email, "encoded", slow)
    ahead = Ahead(emails)
    try:
        assert ahead.take(emails[-1]) is None  # the run is at the last letter before the child has handed any over
        ahead._reader.join(timeout=30)
        assert not ahead._reader.is_alive(), "the child went on after the run had passed it"
        assert len(ahead._done) <= 1  # at most the letter it was encoding when the run passed it
        assert all(ahead.take(message) is None for message in emails[:-1])
    finally:
        ahead.close()


def test_an_uncapped_send_with_the_encoding_ahead_delivers_every_letter_whole_once(
    server: Recorder, seats_outbox: Path, campaign_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outreach.delivery import ahead as ahead_module
    from outreach.forked import two_cores

    if not two_cores():
        pytest.skip("the encoding ahead forks a second process on Linux with two cores only")
    monkeypatch.setattr(ahead_module, "AHEAD_MESSAGES", 2)
    started: list[int] = []
    real_start = ahead_module.Ahead.start.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        ahead_module.Ahead,
        "start",
        classmethod(lambda cls, messages: started.append(len(messages)) or real_start(cls, messages)),
    )
    outbox = tmp_path / "outbox"
    shutil.copytree(seats_outbox, outbox)
    stdout, _ = send(outbox, campaign_dir, "--no-dry-run", "--yes")
    rows = [row for row in manifest(outbox) if row["email"]]
    assert started == [len(rows)]
    assert summary(stdout)["sent"] == len(rows) == len(server.received)
    for row, got in zip(rows, server.received, strict=True):
        assert got.message["To"].addresses[0].addr_spec == row["email"]
        (attached,) = list(got.message.iter_attachments())
        assert attached.get_content() == (outbox / row["pdf"]).read_bytes()
        plain = got.message.get_body(("plain",))
        assert plain is not None and f"(Our ref: {row['letter_id']})" in got.message["Subject"]
    assert len({got.message["Message-ID"] for got in server.received}) == len(rows)


def test_the_message_as_data_carries_it_is_the_message_dot_stuffed_and_ended(
    seats_outbox: Path, campaign_dir: Path
) -> None:
    """DATA doubles the dots in the two bodies alone: the same bytes as doubling them over the whole message."""
    from dataclasses import replace

    from outreach.delivery import email as mail

    def dot_stuffed(message: bytes) -> bytes:  # RFC 5321 4.5.2, over the whole message
        assert message.count(b"\n") == message.count(b"\r\n") and message.endswith(b"\r\n")
        stuffed = message.replace(b"\r\n.", b"\r\n..")
        return (b"." + stuffed if stuffed.startswith(b".") else stuffed) + b".\r\n"

    letters = mail.read_manifest(seats_outbox, campaigns.load(campaign_dir))
    emails = [letter.message for letter in letters if letter.message is not None]
    dotted = replace(emails[0], body=".\n\n.. a line of dots\n\n" + emails[0].body.replace("\n\n", "\n\n.", 3))
    when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    for message in [*emails, dotted]:
        encoded = message.encoded()
        whole = message.assemble("<1@ipem.example.org>", when, encoded, boundary="b0")
        data = message.assemble("<1@ipem.example.org>", when, encoded, boundary="b0", for_data=True)
        assert data == dot_stuffed(whole)
    assert b"\r\n..." in dotted.as_data("<2@ipem.example.org>", when)
