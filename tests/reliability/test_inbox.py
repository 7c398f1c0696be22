"""`outreach inbox` against a real IMAP server (Dovecot on 127.0.0.1, configured by tests/dovecot.py).

The mailbox holds what a campaign's mailbox really gets: replies threaded by In-Reply-To or only by References, a
reply written as a new message naming the letter's reference, an out-of-office reply, a Postfix delivery report
(RFC 3464) and a delay notice, a newsletter, and the letters' own copies in Sent and (from --bcc-self) in INBOX.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from commands import run
from dovecot import PASSWORD, TOKEN, USER, Dovecot, dovecot_binary, running

from outreach.errors import ExitCode
from outreach.ledger import Ledger

pytestmark = pytest.mark.skipif(dovecot_binary() is None, reason="Dovecot is not installed (dovecot-imapd)")

CAMPAIGN = "ipem-2024"
SENDER = "policy@ipem.example.org"
SENT_AT = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
# Real members of the embedded snapshot: (letter id, member id, name, address, what happens to the letter).
LETTERS = {
    "5450-seat": (5450, "Douglas Lumsden", "douglas.lumsden.mp@parliament.uk", "sent"),
    "4602-seat": (4602, "Wera Hobhouse", "wera.hobhouse.mp@parliament.uk", "sent"),
    "4366-seat": (4366, "Sir James Cleverly", "james.cleverly.mp@parliament.uk", "sent"),
    "5282-seat": (5282, "Dan Tomlinson", "dan.tomlinson.mp@parliament.uk", "sent"),
    "4359-seat": (4359, "Stephen Kinnock", "stephen.kinnock.mp@parliament.uk", "sent"),
    "4359-minister": (4359, "Stephen Kinnock", "stephen.kinnock.mp@parliament.uk", "sent"),
    "5159-seat": (5159, "Connor Rand", "connor.rand.mp@parliament.uk", "uncertain"),
    "5341-seat": (5341, "Laura Kyrke-Smith", "laura.kyrkesmith.mp@parliament.uk", "uncertain"),
    "5105-seat": (5105, "Jo White", "jo.white.mp@parliament.uk", "uncertain"),
}


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running() as server:
        yield server


@pytest.fixture
def imap(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dovecot]:
    """An empty mailbox, with OUTREACH_IMAP_* pointing at it (plain IMAP: loopback only)."""
    dovecot.empty()
    for name, value in (("HOST", "127.0.0.1"), ("PORT", str(dovecot.port)), ("SECURITY", "none")):
        monkeypatch.setenv(f"OUTREACH_IMAP_{name}", value)
    monkeypatch.setenv("OUTREACH_IMAP_USER", USER)
    monkeypatch.setenv("OUTREACH_IMAP_PASSWORD", PASSWORD)
    yield dovecot


def log_letters() -> dict[str, str]:
    """Put LETTERS in the contact log as `send` leaves them; return each letter's Message-ID."""
    ids = {}
    with Ledger.open_default() as ledger:
        for letter_id, (member_id, name, address, state) in LETTERS.items():
            ids[letter_id] = make_msgid(domain="ipem.example.org")
            ledger.enqueue(
                campaign=CAMPAIGN,
                letter_id=letter_id,
                channel="email",
                member_id=member_id,
                name=name,
                recipient=address,
                asks=("workforce",),
                content_sha256="0" * 64,
                message_id=ids[letter_id],
            )
            ledger.begin_sending(CAMPAIGN, letter_id, "email")
            if state == "sent":
                ledger.mark_sent(CAMPAIGN, letter_id, "email", sent_at=SENT_AT)
            else:
                ledger.mark_uncertain(CAMPAIGN, letter_id, "email", "connection lost after the message was sent")
    return ids


def mail(sender: str, subject: str, body: str, **headers: str) -> bytes:
    """Return a plain-text message as a mail client writes one."""
    lines = [
        f"From: {sender}",
        f"To: IPEM Policy <{SENDER}>",
        f"Subject: {subject}",
        f"Date: {format_datetime(datetime(2026, 11, 20, 14, 5, tzinfo=UTC))}",
        f"Message-ID: {make_msgid(domain='parliament.uk')}",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        body,
    ]
    return "\r\n".join(lines).encode("utf-8")


def delivery_report(recipient: str, action: str, status: str, diagnostic: str, original_id: str) -> bytes:
    """Return a delivery report as Postfix writes one (RFC 3464), returning the letter's headers."""
    text = f"""From: MAILER-DAEMON@mx.ipem.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {SENDER}
Auto-Submitted: auto-replied
Message-ID: {make_msgid(domain="mx.ipem.example.org")}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--B1
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.ipem.example.org
X-Postfix-Queue-ID: 4Y2k9L0xQz
Arrival-Date: Thu,  1 Oct 2026 10:00:01 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; eu-smtp-inbound-1.mimecast.com
Diagnostic-Code: smtp; {diagnostic}

--B1
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Institute of Physics and Engineering in Medicine <{SENDER}>
To: {recipient}
Subject: Aberafan Maesteg: the scientists and engineers behind your local NHS
Message-ID: {original_id}

--B1--
"""
    return text.replace("\n", "\r\n").encode("ascii")


def fill(server: Dovecot, ids: dict[str, str]) -> None:
    """Deliver the campaign mailbox's real-shaped messages."""
    lumsden = ids["5450-seat"]
    server.append(
        "INBOX",
        mail(
            "Douglas Lumsden MP <douglas.lumsden.mp@parliament.uk>",
            "Re: Aberdeen South: the scientists and engineers behind your local NHS",
            "Thank you for your letter. I would be glad to visit the Anchor Centre.",
            In_Reply_To=lumsden,
            References=lumsden,
        ),
    )
    server.append(  # a caseworker's reply, threaded by References only (In-Reply-To dropped by the client)
        "INBOX",
        mail(
            "Office of Wera Hobhouse <caseworker.hobhouse@parliament.uk>",
            "RE: Bath: medical physics",
            "Wera has asked me to reply on her behalf.",
            References=f"{make_msgid(domain='parliament.uk')} {ids['4602-seat']}",
        ),
    )
    server.append(  # a reply written as a new message, naming the letter's reference; a hostile control character
        "INBOX",
        mail(
            "james.cleverly.mp@parliament.uk",
            "=?utf-8?q?Your_letter_=1B[2J(our_ref_4366-seat)?=",
            "Sir James has read your letter.",
        ),
    )
    server.append(
        "INBOX",
        mail(
            "Dan Tomlinson MP <dan.tomlinson.mp@parliament.uk>",
            "Automatic reply: Chipping Barnet: medical physics",
            "I am out of the office until Monday.",
            In_Reply_To=ids["5282-seat"],
            Auto_Submitted="auto-replied",
            X_Autoreply="yes",
        ),
    )
    bounce = "550 5.1.1 <stephen.kinnock.mp@parliament.uk>: Recipient address rejected: User unknown"
    server.append("INBOX", delivery_report(LETTERS["4359-seat"][2], "failed", "5.1.1", bounce, ids["4359-seat"]))
    delay = "451 4.7.1 Greylisted, please try again later"
    minister = LETTERS["4359-minister"][2]
    server.append("INBOX", delivery_report(minister, "delayed", "4.7.1", delay, ids["4359-minister"]))
    # The sender's own --bcc-self copy bounced: the letter to the member is not failed by it.
    full = "552 5.2.2 <policy@ipem.example.org>: mailbox full"
    server.append("INBOX", delivery_report(SENDER, "failed", "5.2.2", full, ids["5450-seat"]))
    server.append("INBOX", mail("news@example.org", "Health policy weekly", "This week in health policy."))
    # The uncertain letters: one kept in Sent by the server, one delivered back by --bcc-self, one never arrived.
    for letter_id, folder in (("5159-seat", "Sent"), ("5341-seat", "INBOX")):
        copy = mail(f"IPEM <{SENDER}>", f"{letter_id}: medical physics", "Dear ...", To=LETTERS[letter_id][2])
        server.append(folder, copy.replace(copy.split(b"Message-ID: ")[1].split(b"\r\n")[0], ids[letter_id].encode()))


def inbox(*flags: str, expect: ExitCode = ExitCode.OK) -> tuple[list[dict[str, object]], str]:
    ran = run("inbox", "--json", *flags, expect=expect)
    return (json.loads(ran.stdout) if expect == ExitCode.OK else []), ran.stderr


def log() -> dict[str, dict[str, object]]:
    return {row["letter_id"]: row for row in json.loads(run("log", "--json").stdout)}


def test_replies_reports_and_copies_are_recorded_once_and_the_mailbox_is_left_as_it_was(imap: Dovecot) -> None:
    ids = log_letters()
    fill(imap, ids)
    before = imap.snapshot()

    found, stderr = inbox()

    by_letter = {item["letter_id"]: item for item in found}
    assert {letter: (item["kind"], item["matched_by"]) for letter, item in by_letter.items()} == {
        "5450-seat": ("reply", "in_reply_to"),
        "4602-seat": ("reply", "references"),
        "4366-seat": ("reply", "sender_and_subject"),
        "5282-seat": ("auto_reply", "in_reply_to"),
        "4359-seat": ("delivery_failure", "returned_message"),
        "5159-seat": ("copy", "message_id"),
        "5341-seat": ("copy", "message_id"),
    }
    assert [letter for letter, item in by_letter.items() if item["flagged"]] == ["4366-seat"]
    assert by_letter["5450-seat"]["sender"] == "Douglas Lumsden MP <douglas.lumsden.mp@parliament.uk>"
    assert by_letter["5450-seat"]["subject"] == "Re: Aberdeen South: the scientists and engineers behind your local NHS"
    assert by_letter["4366-seat"]["subject"] == "Your letter [2J(our ref 4366-seat)"  # no control character
    assert (by_letter["5159-seat"]["folder"], by_letter["5341-seat"]["folder"]) == ("Sent", "INBOX")
    assert "Read 9 new messages" in stderr and "1 letters' own copies" in stderr and "3 about no letter" in stderr
    assert "uncertain letters have no copy" in stderr and "5105-seat" in stderr

    logged = log()
    assert {letter: row["state"] for letter, row in logged.items()} == {
        **dict.fromkeys(LETTERS, "sent"),
        "4359-seat": "failed",
        "5105-seat": "uncertain",
    }
    assert logged["4359-seat"]["error"] == (
        "delivery report: 5.1.1 (smtp; 550 5.1.1 <stephen.kinnock.mp@parliament.uk>: Recipient address rejected: "
        "User unknown)"
    )
    # The out-of-office reply is an acknowledgement; a person's reply waits for its outcome ('outreach reply').
    assert (logged["5282-seat"]["reply_outcome"], logged["5450-seat"]["reply_outcome"]) == ("acknowledgement", None)
    # Follow-ups: only letters with nothing back (the delay notice is not an answer).
    due = json.loads(run("followups", "--json").stdout)
    assert sorted(row["letter_id"] for row in due) == ["4359-minister"]

    # The mailbox is as it was: the same messages, flags unchanged (nothing marked \Seen).
    assert imap.snapshot() == before

    again, stderr = inbox()
    assert again == [] and "Read 0 new messages" in stderr
    assert log() == logged
    assert imap.snapshot() == before


def test_the_next_run_reads_only_what_arrived_since(imap: Dovecot) -> None:
    ids = log_letters()
    fill(imap, ids)
    inbox()
    imap.append(
        "INBOX",
        mail(
            "Stephen Kinnock MP <stephen.kinnock.mp@parliament.uk>",
            "Re: Minister of State for Care: medical physics",
            "Thank you. My office will be in touch to arrange a meeting.",
            In_Reply_To=ids["4359-minister"],
        ),
    )
    found, stderr = inbox()
    assert [(item["letter_id"], item["kind"]) for item in found] == [("4359-minister", "reply")]
    assert "Read 1 new messages" in stderr
    run("reply", "4359", "--letter", "minister", "--outcome", "meeting")
    assert log()["4359-minister"]["reply_outcome"] == "meeting"


def test_a_changed_uidvalidity_reads_the_folder_again_and_records_nothing_twice(
    imap: Dovecot, outreach_home: Path
) -> None:
    fill(imap, log_letters())
    first, _ = inbox()
    database = sqlite3.connect(outreach_home / "outreach.db")
    with database:
        database.execute("UPDATE inbox_positions SET uidvalidity = uidvalidity + 1")
    database.close()
    again, stderr = inbox()
    assert len(first) == 7 and again == [] and "Read 9 new messages" in stderr


def test_tls_verifies_the_server_with_the_private_ca_file(imap: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(imap, log_letters())
    monkeypatch.setenv("OUTREACH_IMAP_SECURITY", "ssl")
    monkeypatch.setenv("OUTREACH_IMAP_PORT", str(imap.tls_port))
    _, stderr = inbox(expect=ExitCode.SOURCE)
    assert "certificate verify failed" in stderr and len(stderr.strip().splitlines()) == 1
    monkeypatch.setenv("OUTREACH_IMAP_CA_FILE", str(imap.ca_file))
    found, _ = inbox()
    assert len(found) == 7
    monkeypatch.setenv("OUTREACH_IMAP_SECURITY", "starttls")
    monkeypatch.setenv("OUTREACH_IMAP_PORT", str(imap.port))
    assert inbox()[0] == []


def test_a_login_in_clear_text_to_another_host_is_refused_before_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    log_letters()
    monkeypatch.setenv("OUTREACH_IMAP_HOST", "outlook.office365.com")  # the guard fails the test if it connects
    monkeypatch.setenv("OUTREACH_IMAP_SECURITY", "none")
    monkeypatch.setenv("OUTREACH_IMAP_USER", USER)
    monkeypatch.setenv("OUTREACH_IMAP_PASSWORD", PASSWORD)
    ran = run("inbox", expect=ExitCode.FAILURE)
    assert "refusing to send a password or token unencrypted" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1


def test_xoauth2_logs_in_with_the_token_the_command_prints(imap: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(imap, log_letters())
    monkeypatch.setenv("OUTREACH_IMAP_AUTH", "xoauth2")
    monkeypatch.setenv("OUTREACH_IMAP_PASSWORD", "")
    monkeypatch.setenv("OUTREACH_IMAP_TOKEN_COMMAND", f"echo {TOKEN}")
    found, _ = inbox()
    assert len(found) == 7  # Dovecot asked the issuer, which knows the token as the mailbox's user's
    monkeypatch.setenv("OUTREACH_IMAP_TOKEN_COMMAND", "echo ya29.someone-elses-token")
    ran = run("inbox", expect=ExitCode.SOURCE)
    assert "login refused" in ran.stderr and "ya29" not in ran.stdout + ran.stderr


# Last: Dovecot makes the next login from a refused address wait (its anvil penalty).
def test_a_refused_login_is_one_line_exit_3_and_the_password_is_never_shown(
    imap: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_letters()
    monkeypatch.setenv("OUTREACH_IMAP_PASSWORD", "Tr0ub4dor&3")
    ran = run("inbox", expect=ExitCode.SOURCE)
    assert "login refused" in ran.stderr and "Tr0ub4dor&3" not in ran.stdout + ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
