"""The contact log: who was written to, when, how, with which asks, and what came back: the system of record.

Design
------
One SQLite file, ``$OUTREACH_HOME/outreach.db``, opened by every command that reads or writes the log.

**One row per (campaign, letter_id, channel).** A letter id names a member and a kind of letter (``4366-seat``,
``4366-minister``), so the key says "this letter, in this campaign, by this channel". A unique index on it is what
makes "never the same letter twice" a property of the database rather than of careful code: a second send of the
same letter finds the row and its state instead of inserting a new one. The key is not the recipient's address,
because one address may rightly receive several different letters (a minister's seat letter and ministerial letter;
ministers sharing a departmental inbox). The channel is part of the key because a letter posted and later e-mailed
is two contacts, each with its own proof (a postal reference, a Message-ID).

**The state machine.** An e-mail moves ``queued → sending → sent | failed``; a failed one goes back to ``sending`` on
the next run. Each move is its own ``BEGIN IMMEDIATE`` transaction, committed before the caller goes on:
``sending`` is on disk *before* the SMTP transaction starts and ``sent`` right after the server accepts the message.
So if the process dies mid-transaction, the row is left ``sending``, and the next run (holding the send lock, so no
live run owns that row) moves it to ``uncertain``: the server may or may not have taken the message. An uncertain
letter is never resent automatically — that would risk the one failure worst for the campaign, an MP receiving the
same letter twice — only after a person checks the sent folder and asks for it (``send --resend-uncertain``, which
calls ``requeue_uncertain``). A crash therefore leaves at most one letter per run uncertain, and none lost: the
moves are conditional UPDATEs (``... WHERE state IN (allowed)``), so two processes racing for the same row cannot
both win. Letters sent by post or by hand (``outreach log add``) are recorded directly as ``sent``.

**The Message-ID is fixed before sending**, when the letter is queued, and kept across retries. A retry after a
dropped connection or a resend of an uncertain letter then carries the same Message-ID, so a duplicate that does
slip through can be recognised (and is collapsed by many mail systems), and the log can be matched against the
sent folder or the server's log by that id.

**Durability.** WAL journal with ``synchronous=FULL``: every commit is fsynced to the WAL before the call returns,
so a committed state survives not only a killed process (which WAL with ``synchronous=NORMAL`` would also survive)
but a power cut or kernel crash. With NORMAL a power cut can roll back the last commits — a ``sent`` or ``sending``
could revert to ``queued``, and the letter would be e-mailed again. The cost is one fsync per state change: the
1,300 changes of a 650-letter send took 0.34 s on ext4 and 0.07 s on tmpfs when measured (``bench/ledger.py``),
small beside the SMTP time, so durability is not traded for speed. WAL also lets
``outreach log`` read while a send is writing. Foreign keys are on, so a reply cannot point at no contact.
A busy timeout lets two processes take turns instead of failing at once.

**Replies** are their own table, linked to a contact by foreign key: a letter may get an acknowledgement first and a
substantive answer later, and each is kept. A contact shows its latest reply (by reply date). Outcomes:
substantive, acknowledgement, meeting, declined, none. A contact sent with no reply falls due for a follow-up after
20 working days (the Cabinet Office standard for replies to MPs' correspondence; see ``outreach.workdays``).

**Suppressions** are the opt-out list: a member who asked not to be written to is never sent to (``begin_sending``
refuses them even if a caller forgot to check) and ``outreach draft`` leaves them out. A suppression is not tied to
a campaign: an opt-out outlives the campaign it was made in.

**Lawful basis and retention.** The log holds personal data about MPs and their offices: names, e-mail and postal
addresses used for their public role, and notes of replies. IPEM processes it under legitimate interests (UK GDPR
Article 6(1)(f)): a professional body's interest in putting its members' expertise before Parliament, balanced
against MPs' expectation, in their public role, of being written to about policy. Keep only what that needs
(no private or special-category data in reply notes). Retention: rows are kept for the life of the campaign and
then for the period IPEM's records-retention schedule sets (a suggested default: two years after the campaign
ends), after which ``Ledger.forget_campaign`` deletes a campaign's contacts and, by cascade, their replies;
suppressions are kept until the member withdraws the opt-out.

**Schema versions.** ``PRAGMA user_version`` holds the schema version; ``MIGRATIONS`` is the ordered list of steps
from an empty file, each applied in one transaction with the version bump. A file from a newer outreach is refused
with one line rather than misread. Timestamps are UTC ISO 8601 text (``2026-11-28T09:15:00+00:00``), dates
``YYYY-MM-DD``, so they sort and compare as text.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from outreach import settings, workdays
from outreach.errors import OutreachError

DATABASE_FILE = "outreach.db"
STATES = ("queued", "sending", "sent", "failed", "uncertain")
CHANNELS = ("email", "post", "other")
OUTCOMES = ("substantive", "acknowledgement", "meeting", "declined", "none")
# Letters in these states count as sent for `outreach draft` (an uncertain letter may well have arrived).
DELIVERED_STATES = ("sent", "uncertain")
FOLLOW_UP_WORKING_DAYS = 20
# Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_SECONDS = 30.0


class LedgerError(OutreachError):
    """The contact log refused: a state change the state machine does not allow, or bad input."""


_STATE_LIST = ", ".join(f"'{state}'" for state in STATES)
_CHANNEL_LIST = ", ".join(f"'{channel}'" for channel in CHANNELS)
_OUTCOME_LIST = ", ".join(f"'{outcome}'" for outcome in OUTCOMES)

# Each entry takes the schema from version N to N+1; append, never edit a released step.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"""CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            campaign TEXT NOT NULL,
            letter_id TEXT NOT NULL,
            channel TEXT NOT NULL CHECK (channel IN ({_CHANNEL_LIST})),
            member_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            recipient TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ({_STATE_LIST})),
            asks TEXT NOT NULL,
            content_sha256 TEXT NOT NULL,
            message_id TEXT UNIQUE,
            postal_reference TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            queued_at TEXT NOT NULL,
            sent_at TEXT,
            updated_at TEXT NOT NULL,
            UNIQUE (campaign, letter_id, channel)
        )""",
        "CREATE INDEX contacts_member ON contacts (member_id)",
        "CREATE INDEX contacts_state ON contacts (state)",
        f"""CREATE TABLE replies (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            outcome TEXT NOT NULL CHECK (outcome IN ({_OUTCOME_LIST})),
            reply_date TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            recorded_at TEXT NOT NULL
        )""",
        "CREATE INDEX replies_contact ON replies (contact_id)",
        """CREATE TABLE suppressions (
            member_id INTEGER PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL,
            suppressed_at TEXT NOT NULL
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# A contact with its latest reply (by reply date, then the order recorded).
_SELECT = """
    SELECT c.*, r.outcome AS reply_outcome, r.reply_date AS reply_date, r.note AS reply_note
    FROM contacts AS c
    LEFT JOIN replies AS r ON r.id = (
        SELECT id FROM replies WHERE contact_id = c.id ORDER BY reply_date DESC, id DESC LIMIT 1
    )
"""
_ORDER = " ORDER BY COALESCE(c.sent_at, c.queued_at), c.id"
_KEY = "campaign = ? AND letter_id = ? AND channel = ?"


def now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise LedgerError(f"{moment.isoformat()}: a time in the contact log needs a timezone")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _moment(text: str | None) -> datetime | None:
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
    state: str
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

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Contact:
        """Return the contact a database row describes."""
        queued_at = _moment(row["queued_at"])
        updated_at = _moment(row["updated_at"])
        assert queued_at is not None and updated_at is not None  # NOT NULL columns
        return cls(
            campaign=row["campaign"],
            letter_id=row["letter_id"],
            channel=row["channel"],
            member_id=row["member_id"],
            name=row["name"],
            recipient=row["recipient"],
            state=row["state"],
            asks=tuple(ask for ask in row["asks"].split(";") if ask),
            content_sha256=row["content_sha256"],
            message_id=row["message_id"],
            postal_reference=row["postal_reference"],
            attempts=row["attempts"],
            error=row["error"],
            queued_at=queued_at,
            sent_at=_moment(row["sent_at"]),
            updated_at=updated_at,
            reply_outcome=row["reply_outcome"],
            reply_date=date.fromisoformat(row["reply_date"]) if row["reply_date"] else None,
            reply_note=row["reply_note"],
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
            "reply_note": self.reply_note,
            "recipient": self.recipient,
            "postal_reference": self.postal_reference,
            "attempts": self.attempts,
            "error": self.error,
            "queued_at": self.queued_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
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


@dataclass(frozen=True)
class NewContact:
    """A letter sent by post or by hand, to be recorded as sent (see `Ledger.record_all`)."""

    campaign: str
    letter_id: str
    channel: str
    member_id: int
    name: str
    recipient: str
    asks: tuple[str, ...]
    content_sha256: str
    sent_at: datetime
    postal_reference: str | None = None


@dataclass(frozen=True)
class Queued:
    """A letter about to be e-mailed, to be queued with its Message-ID fixed (see `Ledger.enqueue_all`)."""

    campaign: str
    letter_id: str
    channel: str
    member_id: int
    name: str
    recipient: str
    asks: tuple[str, ...]
    content_sha256: str
    message_id: str | None


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise LedgerError(f"unknown channel '{channel}' (use {', '.join(CHANNELS)})")


def _check_asks(asks: Sequence[str]) -> str:
    for ask in asks:
        if ";" in ask or not ask.strip():
            raise LedgerError(f"ask id {ask!r} must be non-empty and contain no ';'")
    return ";".join(asks)


class Ledger:
    """The contact log in one SQLite file; every state change is its own committed transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        in_memory = str(path) == ":memory:"  # an empty log to read from when no file exists yet
        created = not in_memory and not path.exists()
        try:
            if not in_memory:
                path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; every write below opens its own BEGIN IMMEDIATE.
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"{path}: cannot open the contact log ({exc})") from None
        if created:
            # Personal data: readable by its owner only (SQLite gives the -wal and -shm files the same mode).
            os.chmod(path, 0o600)
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise LedgerError(f"{path}: not a contact log outreach can read ({exc})") from None
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open_default(cls) -> Ledger:
        """Return the ledger at OUTREACH_HOME/outreach.db, creating the folder and file if needed."""
        return cls(settings.home() / DATABASE_FILE)

    @staticmethod
    def exists_default() -> bool:
        """Return whether the default contact log exists (a draft with no log skips nothing)."""
        return (settings.home() / DATABASE_FILE).is_file()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------------------------------

    def schema_version(self) -> int:
        """Return the file's schema version (PRAGMA user_version)."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        if self.schema_version() == SCHEMA_VERSION:
            return
        with self._transaction():
            # Read again inside the write lock: another process may have migrated while this one waited.
            version = self.schema_version()
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"{self.path}: schema version {version} is newer than this outreach understands "
                    f"({SCHEMA_VERSION}); upgrade outreach to read it"
                )
            for step, statements in enumerate(MIGRATIONS[version:], version + 1):
                for statement in statements:
                    self._db.execute(statement)
                # PRAGMA user_version is written in the same transaction as the step, so a step is all or nothing.
                self._db.execute(f"PRAGMA user_version = {step}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Yield the connection inside BEGIN IMMEDIATE (the write lock taken up front); commit, or roll back."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- reading --------------------------------------------------------------------------------------------------

    def _one(self, campaign: str, letter_id: str, channel: str) -> Contact | None:
        row = self._db.execute(
            _SELECT + " WHERE c.campaign = ? AND c.letter_id = ? AND c.channel = ?", (campaign, letter_id, channel)
        ).fetchone()
        return Contact.from_row(row) if row else None

    def contact(self, campaign: str, letter_id: str, channel: str) -> Contact | None:
        """Return the contact with this key, or None."""
        return self._one(campaign, letter_id, channel)

    def contacts(
        self,
        *,
        member_id: int | None = None,
        state: str | None = None,
        since: date | None = None,
        campaign: str | None = None,
        channel: str | None = None,
    ) -> list[Contact]:
        """Return the contacts matching every filter given, oldest first; `since` compares the sent (or queued) date."""
        where: list[str] = []
        values: list[Any] = []
        if member_id is not None:
            where.append("c.member_id = ?")
            values.append(member_id)
        if state is not None:
            if state not in STATES:
                raise LedgerError(f"unknown state '{state}' (use {', '.join(STATES)})")
            where.append("c.state = ?")
            values.append(state)
        if since is not None:
            # ISO text compares in time order: '2026-11-28T09:15:00+00:00' >= '2026-11-28'.
            where.append("COALESCE(c.sent_at, c.queued_at) >= ?")
            values.append(since.isoformat())
        if campaign is not None:
            where.append("c.campaign = ?")
            values.append(campaign)
        if channel is not None:
            _check_channel(channel)
            where.append("c.channel = ?")
            values.append(channel)
        query = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + _ORDER
        return [Contact.from_row(row) for row in self._db.execute(query, values)]

    def campaigns(self) -> list[str]:
        """Return the campaign ids in the log."""
        return [row[0] for row in self._db.execute("SELECT DISTINCT campaign FROM contacts ORDER BY campaign")]

    def member_names(self) -> dict[int, str]:
        """Return the names the log knows members by (contacts and suppressions), by member id."""
        names: dict[int, str] = {}
        for row in self._db.execute("SELECT member_id, name FROM suppressions WHERE name != ''"):
            names[row[0]] = row[1]
        for row in self._db.execute("SELECT member_id, name FROM contacts ORDER BY id"):
            names[row[0]] = row[1]
        return names

    def sent_letter_ids(self, campaign: str) -> frozenset[str]:
        """Return the ids of the campaign's letters sent or uncertain, by any channel."""
        marks = ", ".join("?" for _ in DELIVERED_STATES)
        rows = self._db.execute(
            f"SELECT DISTINCT letter_id FROM contacts WHERE campaign = ? AND state IN ({marks})",
            (campaign, *DELIVERED_STATES),
        )
        return frozenset(row[0] for row in rows)

    # -- the e-mail state machine ---------------------------------------------------------------------------------

    def enqueue(
        self,
        *,
        campaign: str,
        letter_id: str,
        channel: str,
        member_id: int,
        name: str,
        recipient: str,
        asks: Sequence[str],
        content_sha256: str,
        message_id: str | None,
    ) -> Contact:
        """Return the contact queued for sending: inserted as 'queued', or the existing row.

        A queued or failed row takes the new recipient, name, asks and letter hash (the draft may have been fixed);
        a Message-ID, once set, never changes. Rows in any other state are returned unchanged.
        """
        entry = Queued(
            campaign, letter_id, channel, member_id, name, recipient, tuple(asks), content_sha256, message_id
        )
        return self.enqueue_all([entry])[0]

    def enqueue_all(self, entries: Sequence[Queued]) -> list[Contact]:
        """Return the contacts of `entries` queued as `enqueue` does each, all in one committed transaction.

        A send run queues its whole batch up front: every Message-ID is fixed before the first letter goes, at
        the cost of one commit instead of one a letter.
        """
        for entry in entries:
            _check_channel(entry.channel)
        stamp = _utc_text(now())
        contacts = []
        with self._transaction() as db:
            for entry in entries:
                contacts.append(self._enqueue_in(db, entry, _check_asks(entry.asks), stamp))
        return contacts

    def _enqueue_in(self, db: sqlite3.Connection, entry: Queued, asks_text: str, stamp: str) -> Contact:
        key = (entry.campaign, entry.letter_id, entry.channel)
        row = db.execute(f"SELECT state, message_id FROM contacts WHERE {_KEY}", key).fetchone()
        if row is None:
            try:
                db.execute(
                    """INSERT INTO contacts (campaign, letter_id, channel, member_id, name, recipient, state, asks,
                           content_sha256, message_id, queued_at, updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)""",
                    (
                        *key,
                        entry.member_id,
                        entry.name,
                        entry.recipient,
                        asks_text,
                        entry.content_sha256,
                        entry.message_id,
                        stamp,
                        stamp,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise LedgerError(
                    f"{entry.campaign}/{entry.letter_id} ({entry.channel}): cannot queue ({exc})"
                ) from None
        elif row["state"] in ("queued", "failed"):
            db.execute(
                f"""UPDATE contacts SET member_id = ?, name = ?, recipient = ?, asks = ?, content_sha256 = ?,
                        message_id = COALESCE(message_id, ?), updated_at = ?
                    WHERE {_KEY}""",
                (
                    entry.member_id,
                    entry.name,
                    entry.recipient,
                    asks_text,
                    entry.content_sha256,
                    entry.message_id,
                    stamp,
                    *key,
                ),
            )
        contact = self._one(*key)
        assert contact is not None
        return contact

    def _move(
        self,
        key: tuple[str, str, str],
        allowed: Sequence[str],
        to: str,
        sets: str = "",
        values: Sequence[Any] = (),
        guard: str = "",
    ) -> Contact:
        """Move one row from an allowed state to `to` in one committed transaction; refuse any other state."""
        with self._transaction() as db:
            return self._move_in(db, key, allowed, to, sets, values, guard)

    def _move_in(
        self,
        db: sqlite3.Connection,
        key: tuple[str, str, str],
        allowed: Sequence[str],
        to: str,
        sets: str = "",
        values: Sequence[Any] = (),
        guard: str = "",
    ) -> Contact:
        """Move one row from an allowed state to `to` inside the caller's transaction; refuse any other state."""
        marks = ", ".join("?" for _ in allowed)
        changed = db.execute(
            f"UPDATE contacts SET state = ?, updated_at = ?{sets} WHERE {_KEY} AND state IN ({marks}){guard}",
            (to, _utc_text(now()), *values, *key, *allowed),
        ).rowcount
        contact = self._one(*key)
        if changed != 1:
            campaign, letter_id, channel = key
            if contact is None:
                raise LedgerError(f"{campaign}/{letter_id} ({channel}): not in the contact log")
            if contact.state in allowed and self.is_suppressed(contact.member_id):
                raise LedgerError(
                    f"{contact.describe()}: {contact.name or contact.member_id} is on the suppression list"
                )
            raise LedgerError(
                f"{contact.describe()}: cannot move from '{contact.state}' to '{to}' "
                f"(only from {' or '.join(repr(state) for state in allowed)})"
            )
        assert contact is not None
        return contact

    def begin_sending(
        self,
        campaign: str,
        letter_id: str,
        channel: str,
        *,
        after_sent: tuple[tuple[str, str, str], datetime] | None = None,
    ) -> Contact:
        """Return the contact moved queued|failed → sending (attempts + 1), committed before any SMTP transaction.

        Refused (LedgerError) in any other state, or if the member is on the suppression list: the UPDATE is
        conditional, so of two processes racing for one row exactly one wins. `after_sent` (the previous letter's
        key and the moment the server accepted it) is marked sent in the same transaction: an uncapped run then
        pays one commit a letter, and still has at most one row in `sending` at any moment.
        """
        with self._transaction() as db:
            if after_sent is not None:
                self._mark_sent_in(db, after_sent[0], after_sent[1])
            return self._move_in(
                db,
                (campaign, letter_id, channel),
                ("queued", "failed"),
                "sending",
                ", attempts = attempts + 1",
                guard=" AND member_id NOT IN (SELECT member_id FROM suppressions)",
            )

    def mark_sent(self, campaign: str, letter_id: str, channel: str, *, sent_at: datetime | None = None) -> None:
        """Record that the server accepted the letter: sending → sent."""
        with self._transaction() as db:
            self._mark_sent_in(db, (campaign, letter_id, channel), sent_at or now())

    def _mark_sent_in(self, db: sqlite3.Connection, key: tuple[str, str, str], sent_at: datetime) -> None:
        self._move_in(db, key, ("sending",), "sent", ", sent_at = ?, error = NULL", (_utc_text(sent_at),))

    def mark_uncertain(self, campaign: str, letter_id: str, channel: str, reason: str) -> None:
        """Record that the server may or may not have accepted the letter (its reply was lost): sending → uncertain."""
        self._move((campaign, letter_id, channel), ("sending",), "uncertain", ", error = ?", (reason,))

    def mark_failed(self, campaign: str, letter_id: str, channel: str, reason: str) -> None:
        """Record a failure with its reason: sending → failed (tried again on the next run)."""
        self._move((campaign, letter_id, channel), ("sending",), "failed", ", error = ?", (reason,))

    def settle_interrupted(self) -> list[Contact]:
        """Return the contacts moved sending → uncertain: a previous run died during their SMTP transaction.

        The caller must hold the send lock, so that no live run is sending any of them.
        """
        with self._transaction() as db:
            keys = [Contact.from_row(row).key for row in db.execute(_SELECT + " WHERE c.state = 'sending'" + _ORDER)]
            db.execute(
                "UPDATE contacts SET state = 'uncertain', updated_at = ?, "
                "error = 'interrupted during sending: the server may have accepted it' WHERE state = 'sending'",
                (_utc_text(now()),),
            )
            settled = [self._one(*key) for key in keys]
        return [contact for contact in settled if contact is not None]

    def requeue_uncertain(self, campaign: str, letter_id: str, channel: str) -> None:
        """Put an uncertain letter back in the queue (send --resend-uncertain): uncertain → queued, Message-ID kept."""
        self._move((campaign, letter_id, channel), ("uncertain",), "queued")

    # -- letters sent by post or by hand -------------------------------------------------------------------------

    def record(
        self,
        *,
        campaign: str,
        letter_id: str,
        channel: str,
        member_id: int,
        name: str,
        recipient: str,
        asks: Sequence[str],
        content_sha256: str,
        sent_at: datetime,
        postal_reference: str | None = None,
    ) -> Contact:
        """Return the contact recorded as sent (post or by hand); a row already under its key is refused."""
        entry = NewContact(
            campaign,
            letter_id,
            channel,
            member_id,
            name,
            recipient,
            tuple(asks),
            content_sha256,
            sent_at,
            postal_reference,
        )
        recorded, existing = self.record_all([entry])
        if existing:
            found = existing[0]
            raise LedgerError(f"{found.describe()}: already in the log as '{found.state}'")
        return recorded[0]

    def record_all(self, entries: Iterable[NewContact]) -> tuple[list[Contact], list[Contact]]:
        """Return (recorded, already logged): every new entry recorded as sent in one transaction, all or none."""
        recorded: list[Contact] = []
        existing: list[Contact] = []
        with self._transaction() as db:
            for entry in entries:
                _check_channel(entry.channel)
                found = self._one(entry.campaign, entry.letter_id, entry.channel)
                if found is not None:
                    existing.append(found)
                    continue
                stamp = _utc_text(entry.sent_at)
                db.execute(
                    """INSERT INTO contacts (campaign, letter_id, channel, member_id, name, recipient, state, asks,
                           content_sha256, postal_reference, attempts, queued_at, sent_at, updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, 'sent', ?, ?, ?, 1, ?, ?, ?)""",
                    (
                        entry.campaign,
                        entry.letter_id,
                        entry.channel,
                        entry.member_id,
                        entry.name,
                        entry.recipient,
                        _check_asks(entry.asks),
                        entry.content_sha256,
                        entry.postal_reference or None,
                        stamp,
                        stamp,
                        _utc_text(now()),
                    ),
                )
                contact = self._one(entry.campaign, entry.letter_id, entry.channel)
                assert contact is not None
                recorded.append(contact)
        return recorded, existing

    def forget_campaign(self, campaign: str) -> int:
        """Return how many contacts were deleted with their replies: the end of a campaign's retention period."""
        with self._transaction() as db:
            return db.execute("DELETE FROM contacts WHERE campaign = ?", (campaign,)).rowcount

    # -- replies --------------------------------------------------------------------------------------------------

    def reply(
        self,
        member_id: int,
        *,
        outcome: str,
        reply_date: date,
        note: str = "",
        campaign: str | None = None,
        letter_id: str | None = None,
    ) -> list[Contact]:
        """Return the contacts a reply was recorded against: the member's one sent letter (every channel it went by).

        With several letters to choose from, `campaign` and `letter_id` must narrow them to one.
        """
        if outcome not in OUTCOMES:
            raise LedgerError(f"unknown outcome '{outcome}' (use {', '.join(OUTCOMES)})")
        with self._transaction() as db:
            candidates = [
                contact
                for contact in self.contacts(member_id=member_id, campaign=campaign)
                if contact.state in DELIVERED_STATES and (letter_id is None or contact.letter_id == letter_id)
            ]
            letters = sorted({(contact.campaign, contact.letter_id) for contact in candidates})
            if not letters:
                narrowed = "".join(
                    f" {label} {value}" for label, value in (("in", campaign), ("letter", letter_id)) if value
                )
                raise LedgerError(f"member {member_id}: no sent letter{narrowed} in the contact log")
            if len(letters) > 1:
                choices = ", ".join(f"{c}/{letter}" for c, letter in letters)
                raise LedgerError(
                    f"member {member_id}: several letters sent ({choices}); choose one with --letter and --campaign"
                )
            for contact in candidates:
                if contact.sent_at is not None and reply_date < contact.sent_at.date():
                    raise LedgerError(
                        f"{contact.describe()}: reply date {reply_date} is before the letter was sent "
                        f"({contact.sent_at.date()})"
                    )
            stamp = _utc_text(now())
            for contact in candidates:
                db.execute(
                    f"""INSERT INTO replies (contact_id, outcome, reply_date, note, recorded_at)
                        SELECT id, ?, ?, ?, ? FROM contacts WHERE {_KEY}""",
                    (outcome, reply_date.isoformat(), note, stamp, *contact.key),
                )
            updated = [self._one(*contact.key) for contact in candidates]
        return [contact for contact in updated if contact is not None]

    def followups_due(self, today: date, *, campaign: str | None = None) -> list[tuple[Contact, date]]:
        """Return the sent contacts with no reply whose 20 working days ran out before today, with that deadline.

        The deadline is the 20th working day after the day the letter was sent (in UK time), weekends and bank
        holidays of England and Wales excluded; the follow-up falls due the day after.
        """
        due: list[tuple[Contact, date]] = []
        for contact in self.contacts(state="sent", campaign=campaign):
            if contact.reply_outcome is not None or contact.sent_at is None:
                continue
            deadline = workdays.add_working_days(workdays.uk_date(contact.sent_at), FOLLOW_UP_WORKING_DAYS)
            if deadline < today:
                due.append((contact, deadline))
        return due

    # -- suppression ----------------------------------------------------------------------------------------------

    def suppress(self, member_id: int, reason: str, *, name: str = "") -> None:
        """Put a member on the suppression list (again: the reason and time are updated)."""
        if not reason.strip():
            raise LedgerError("a suppression needs a reason (--reason)")
        with self._transaction() as db:
            db.execute(
                """INSERT INTO suppressions (member_id, name, reason, suppressed_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (member_id) DO UPDATE SET
                       name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,
                       reason = excluded.reason, suppressed_at = excluded.suppressed_at""",
                (member_id, name, reason.strip(), _utc_text(now())),
            )

    def unsuppress(self, member_id: int) -> bool:
        """Return whether the member was on the suppression list, and take them off it."""
        with self._transaction() as db:
            return db.execute("DELETE FROM suppressions WHERE member_id = ?", (member_id,)).rowcount == 1

    def is_suppressed(self, member_id: int) -> bool:
        """Return whether the member is on the suppression list."""
        return self._db.execute("SELECT 1 FROM suppressions WHERE member_id = ?", (member_id,)).fetchone() is not None

    def suppressed_ids(self) -> frozenset[int]:
        """Return the member ids on the suppression list."""
        return frozenset(row[0] for row in self._db.execute("SELECT member_id FROM suppressions"))

    def suppressions(self) -> list[Suppression]:
        """Return the suppression list, oldest first."""
        rows = self._db.execute("SELECT * FROM suppressions ORDER BY suppressed_at, member_id")
        return [
            Suppression(row["member_id"], row["name"], row["reason"], datetime.fromisoformat(row["suppressed_at"]))
            for row in rows
        ]
