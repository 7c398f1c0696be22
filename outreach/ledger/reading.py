"""The contact log opened, and every question asked of it: contacts, names, letters sent, follow-ups, opt-outs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from outreach import settings, workdays
from outreach.ledger import schema
from outreach.ledger.records import Contact, LedgerError, Suppression, check_channel
from outreach.ledger.schema import DATABASE_FILE, ORDER, SELECT
from outreach.ledger.states import DELIVERED_STATES, STATES, State

FOLLOW_UP_WORKING_DAYS = 20


class LedgerReader:
    """The contact log in one SQLite file, read; `Ledger` adds the writes, each its own committed transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = schema.connect(path)

    @classmethod
    def open_default(cls) -> Self:
        """Return the ledger at OUTREACH_HOME/outreach.db, creating the folder and file if needed."""
        return cls(settings.home() / DATABASE_FILE)

    @staticmethod
    def exists_default() -> bool:
        """Return whether the default contact log exists (a draft with no log skips nothing)."""
        return (settings.home() / DATABASE_FILE).is_file()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
        if value is not None and schema.is_fault(value):
            # A fault met while reading (a damaged page, a number SQLite cannot hold) becomes the one-line error.
            raise schema.fault(self.path, value) from None

    def schema_version(self) -> int:
        """Return the file's schema version (PRAGMA user_version)."""
        return schema.schema_version(self._db)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Yield the connection inside BEGIN IMMEDIATE (the write lock taken up front); commit, or roll back."""
        try:
            with schema.transaction(self._db) as db:
                yield db
        except Exception as exc:
            if schema.is_fault(exc):
                raise schema.fault(self.path, exc) from None
            raise

    # -- reading --------------------------------------------------------------------------------------------------

    def _one(self, campaign: str, letter_id: str, channel: str) -> Contact | None:
        """Return the contact with this key, or None."""
        row = self._db.execute(
            SELECT + " WHERE c.campaign = ? AND c.letter_id = ? AND c.channel = ?", (campaign, letter_id, channel)
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
            check_channel(channel)
            where.append("c.channel = ?")
            values.append(channel)
        query = SELECT + (" WHERE " + " AND ".join(where) if where else "") + ORDER
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

    def followups_due(self, today: date, *, campaign: str | None = None) -> list[tuple[Contact, date]]:
        """Return the sent contacts with no reply (recorded, or read from the mailbox) whose 20 working days ran out
        before today, with that deadline.

        The deadline is the 20th working day after the day the letter was sent (in UK time), weekends and bank
        holidays of England and Wales excluded; the follow-up falls due the day after.
        """
        due: list[tuple[Contact, date]] = []
        replied = self.replied_keys()
        for contact in self.contacts(state=State.SENT, campaign=campaign):
            if contact.reply_outcome is not None or contact.sent_at is None or contact.key in replied:
                continue
            deadline = workdays.add_working_days(workdays.uk_date(contact.sent_at), FOLLOW_UP_WORKING_DAYS)
            if deadline < today:
                due.append((contact, deadline))
        return due

    def replied_keys(self) -> frozenset[tuple[str, str, str]]:
        """Return the keys of letters with a person's reply read by `outreach inbox` (its outcome perhaps not set)."""
        rows = self._db.execute(
            """SELECT DISTINCT c.campaign, c.letter_id, c.channel FROM inbox_messages AS m
               JOIN contacts AS c ON c.id = m.contact_id WHERE m.kind = 'reply'"""
        )
        return frozenset((row[0], row[1], row[2]) for row in rows)

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
