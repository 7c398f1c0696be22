"""Mail that survives real servers (issue 12 items 4 and 7, issue 14 items 1-3): the deferred state and its moves."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from outreach.ledger import DATABASE_FILE, SCHEMA_VERSION, Contact, Ledger, LedgerError, State
from outreach.ledger.schema import MIGRATIONS

CAMPAIGN = "ipem-2024"
SHA = "9f2c" * 16


def queue(ledger: Ledger, member_id: int = 4602) -> Contact:
    """Queue an e-mail to a real member (Wera Hobhouse, Bath, by default)."""
    return ledger.enqueue(
        campaign=CAMPAIGN,
        letter_id=f"{member_id}-seat",
        channel="email",
        member_id=member_id,
        name="Wera Hobhouse",
        recipient="wera.hobhouse.mp@parliament.uk",
        asks=("equipment", "workforce"),
        content_sha256=SHA,
        message_id=f"<{member_id}-seat.{CAMPAIGN}@ipem.ac.uk>",
    )


def key(member_id: int = 4602) -> tuple[str, str, str]:
    return (CAMPAIGN, f"{member_id}-seat", "email")


@pytest.fixture
def ledger(outreach_home: Path) -> Iterator[Ledger]:
    with Ledger.open_default() as opened:
        yield opened


def test_a_deferred_letter_keeps_the_reason_and_goes_again_with_the_same_message_id(ledger: Ledger) -> None:
    queued = queue(ledger)
    ledger.begin_sending(*key())
    ledger.mark_deferred(*key(), "RCPT TO: 450 4.7.1 Recipient address rejected: Greylisted")
    deferred = ledger.contact(*key())
    assert deferred is not None
    assert (deferred.state, deferred.error) == ("deferred", "RCPT TO: 450 4.7.1 Recipient address rejected: Greylisted")
    assert [c.letter_id for c in ledger.contacts(state="deferred")] == ["4602-seat"]
    again = ledger.begin_sending(*key())
    assert (again.state, again.attempts, again.message_id) == ("sending", 2, queued.message_id)
    ledger.mark_sent(*key())
    sent = ledger.contact(*key())
    assert sent is not None and sent.state == "sent" and sent.error is None


@pytest.mark.parametrize("move", ["mark_deferred"])
@pytest.mark.parametrize("state", ["queued", "deferred", "sent", "failed", "uncertain"])
def test_only_a_letter_being_sent_can_be_deferred(ledger: Ledger, state: str, move: str) -> None:
    queue(ledger)
    if state != "queued":
        ledger.begin_sending(*key())
        if state == "uncertain":
            ledger.settle_interrupted()
        else:
            getattr(ledger, f"mark_{state}")(*key(), *(() if state == "sent" else ("421 try later",)))
    before = ledger.contact(*key())
    assert before is not None and before.state == state
    with pytest.raises(LedgerError, match=f"cannot move from '{state}' to 'deferred'"):
        getattr(ledger, move)(*key(), "451 4.3.2 try later")
    assert ledger.contact(*key()) == before


def test_a_suppressed_member_deferred_earlier_is_not_tried_again(ledger: Ledger) -> None:
    queue(ledger)
    ledger.begin_sending(*key())
    ledger.mark_deferred(*key(), "421 4.7.0 try again later")
    ledger.suppress(4602, reason="asked not to be contacted", name="Wera Hobhouse")
    with pytest.raises(LedgerError, match="on the suppression list"):
        ledger.begin_sending(*key())


def test_a_log_of_the_first_schema_is_migrated_with_its_contacts_and_replies(outreach_home: Path) -> None:
    path = outreach_home / DATABASE_FILE
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA foreign_keys = ON")
    for statement in MIGRATIONS[0]:
        raw.execute(statement)
    raw.execute("PRAGMA user_version = 1")
    stamp = "2026-11-20T09:30:00+00:00"
    raw.execute(
        """INSERT INTO contacts (campaign, letter_id, channel, member_id, name, recipient, state, asks,
               content_sha256, message_id, queued_at, sent_at, updated_at)
           VALUES (?, '4602-seat', 'email', 4602, 'Wera Hobhouse', 'wera.hobhouse.mp@parliament.uk', 'sent',
               'workforce', ?, '<4602-seat@ipem.ac.uk>', ?, ?, ?)""",
        (CAMPAIGN, SHA, stamp, stamp, stamp),
    )
    raw.execute(
        "INSERT INTO replies (contact_id, outcome, reply_date, recorded_at) VALUES (1, 'meeting', '2026-11-27', ?)",
        (stamp,),
    )
    with pytest.raises(sqlite3.IntegrityError):  # the first schema has no deferred state
        raw.execute("UPDATE contacts SET state = 'deferred'")
    raw.close()
    with Ledger.open_default() as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION
        [contact] = ledger.contacts()
        assert (contact.state, contact.reply_outcome, contact.reply_date) == ("sent", "meeting", date(2026, 11, 27))
        assert contact.sent_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
        queue(ledger, 4366)
        ledger.begin_sending(*key(4366))
        ledger.mark_deferred(*key(4366), "451 4.3.2 try later")
        assert ledger.contact(*key(4366)).state == State.DEFERRED  # type: ignore[union-attr]
        assert ledger.forget_campaign(CAMPAIGN) == 2  # the replies still cascade from the rebuilt contacts
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT COUNT(*) FROM replies").fetchone()[0] == 0
    indexes = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"contacts_member", "contacts_state", "replies_contact"} <= indexes
    raw.close()
