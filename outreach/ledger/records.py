"""The contact log's records: a contact as read back, a suppression, and the entries a caller asks it to write."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, NamedTuple

from outreach.errors import OutreachError
from outreach.ledger.states import CHANNELS, State

if TYPE_CHECKING:
    from outreach.ledger.engine import Row


class LedgerError(OutreachError):
    """The contact log refused: a state change the state machine does not allow, or bad input."""


@dataclass(frozen=True)
class Actor:
    """Who writes to the log: the person (OUTREACH_USER), the machine and this process."""

    user: str
    machine: str
    pid: int

    @classmethod
    def current(cls) -> Actor:
        """Return this process acting for OUTREACH_USER (default the login name) on this machine."""
        from outreach import settings

        return cls(settings.user(), settings.machine(), os.getpid())


def now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def utc_text(moment: datetime) -> str:
    """Return a moment as the log stores it: UTC ISO 8601 text to the second; LedgerError for a naive time."""
    if moment.tzinfo is None:
        raise LedgerError(f"{moment.isoformat()}: a time in the contact log needs a timezone")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_moment(text: str | None) -> datetime | None:
    """Return the moment a stored timestamp names, or None for an empty one."""
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class Contact:
    """One letter to one member in one campaign by one channel, with its state and its latest reply."""

    campaign: str
    letter_id: str
    channel: str
    member_id: int
    name: str
    recipient: str  # the e-mail address, or the postal address lines joined " | "
    state: State
    asks: tuple[str, ...]
    content_sha256: str  # SHA-256 hex of the exact letter sent (the outbox .md file's bytes)
    message_id: str | None
    postal_reference: str | None
    attempts: int
    error: str | None
    queued_at: datetime
    sent_at: datetime | None
    updated_at: datetime
    reply_outcome: str | None
    reply_date: date | None
    reply_note: str | None
    by: str = ""  # who queued, sent or recorded it (OUTREACH_USER), and on which machine
    machine: str = ""
    owner_pid: int | None = None  # while `sending`: the sending process on `machine`, and its lease
    lease_until: datetime | None = None

    @classmethod
    def from_row(cls, row: Row) -> Contact:
        """Return the contact a database row describes."""
        queued_at = parse_moment(row["queued_at"])
        updated_at = parse_moment(row["updated_at"])
        assert queued_at is not None and updated_at is not None  # NOT NULL columns
        return cls(
            campaign=row["campaign"],
            letter_id=row["letter_id"],
            channel=row["channel"],
            member_id=row["member_id"],
            name=row["name"],
            recipient=row["recipient"],
            state=State(row["state"]),
            asks=tuple(ask for ask in row["asks"].split(";") if ask),
            content_sha256=row["content_sha256"],
            message_id=row["message_id"],
            postal_reference=row["postal_reference"],
            attempts=row["attempts"],
            error=row["error"],
            queued_at=queued_at,
            sent_at=parse_moment(row["sent_at"]),
            updated_at=updated_at,
            reply_outcome=row["reply_outcome"],
            reply_date=date.fromisoformat(row["reply_date"]) if row["reply_date"] else None,
            reply_note=row["reply_note"],
            by=row["by_user"],
            machine=row["machine"],
            owner_pid=row["owner_pid"],
            lease_until=parse_moment(row["lease_until"]),
        )

    @property
    def key(self) -> tuple[str, str, str]:
        """Return the ledger key: (campaign, letter_id, channel)."""
        return (self.campaign, self.letter_id, self.channel)

    def describe(self) -> str:
        """Return the key as people read it: ipem-2024/4366-seat (email)."""
        return f"{self.campaign}/{self.letter_id} ({self.channel})"

    def as_json(self) -> dict[str, object]:
        """Return the `outreach log --json` object: INTERFACE.md's fields, then the rest of the row."""
        return {
            "letter_id": self.letter_id,
            "member_id": self.member_id,
            "name": self.name,
            "campaign": self.campaign,
            "channel": self.channel,
            "state": self.state,
            "message_id": self.message_id,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "asks": list(self.asks),
            "content_sha256": self.content_sha256,
            "reply_outcome": self.reply_outcome,
            "reply_date": self.reply_date.isoformat() if self.reply_date else None,
            "by": self.by,
            "reply_note": self.reply_note,
            "recipient": self.recipient,
            "postal_reference": self.postal_reference,
            "attempts": self.attempts,
            "error": self.error,
            "queued_at": self.queued_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "machine": self.machine,
        }


class Overdue(NamedTuple):
    """A sent letter with no reply whose 20 working days ran out: the contact and the day its reply was due."""

    contact: Contact
    reply_due: date

    def as_json(self) -> dict[str, object]:
        """Return the `outreach followups --json` object: the contact's fields, then `reply_due`."""
        return {**self.contact.as_json(), "reply_due": self.reply_due.isoformat()}


def overdue_by_letter(due: Iterable[Overdue]) -> list[list[Overdue]]:
    """Return the overdue contacts grouped per letter (campaign, letter id), in the order the letters first appear.

    A letter sent by two channels (posted, then handed over) is one follow-up.
    """
    letters: dict[tuple[str, str], list[Overdue]] = {}
    for item in due:
        letters.setdefault((item.contact.campaign, item.contact.letter_id), []).append(item)
    return list(letters.values())


@dataclass(frozen=True)
class Suppression:
    """A member who asked not to be written to."""

    member_id: int
    name: str
    reason: str
    suppressed_at: datetime
    by: str = ""
    machine: str = ""


@dataclass(frozen=True)
class Entry:
    """A letter the log is asked to write down: its key, its recipient and what it said."""

    campaign: str
    letter_id: str
    channel: str
    member_id: int
    name: str
    recipient: str
    asks: tuple[str, ...]
    content_sha256: str

    @property
    def key(self) -> tuple[str, str, str]:
        """Return the ledger key: (campaign, letter_id, channel)."""
        return (self.campaign, self.letter_id, self.channel)


@dataclass(frozen=True)
class NewContact(Entry):
    """A letter sent by post or by hand, to be recorded as sent (see `Ledger.record_all`)."""

    sent_at: datetime
    postal_reference: str | None = None


@dataclass(frozen=True)
class Queued(Entry):
    """A letter about to be e-mailed, to be queued with its Message-ID fixed (see `Ledger.enqueue_all`)."""

    message_id: str | None


# SQLite's INTEGER is a signed 64-bit number; a Members API id is a positive one far below this.
LARGEST_MEMBER_ID = 2**63 - 1


def is_member_id(number: int) -> bool:
    """Return whether a number can be a member id: positive, and small enough for the log to hold."""
    return 0 < number <= LARGEST_MEMBER_ID


def check_channel(channel: str) -> None:
    """Refuse a channel the log does not know (LedgerError)."""
    if channel not in CHANNELS:
        raise LedgerError(f"unknown channel '{channel}' (use {', '.join(CHANNELS)})")


def check_asks(asks: Sequence[str]) -> str:
    """Return ask ids as the log stores them, ';'-joined; LedgerError for an empty one or one holding ';'."""
    for ask in asks:
        if ";" in ask or not ask.strip():
            raise LedgerError(f"ask id {ask!r} must be non-empty and contain no ';'")
    return ";".join(asks)
