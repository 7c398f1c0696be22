"""The contact log opened, and every question asked of it: contacts, names, letters sent, follow-ups, opt-outs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from outreach import settings, workdays
from outreach.ledger import schema
from outreach.ledger.engine import Database
from outreach.ledger.records import Actor, Contact, LedgerError, Suppression, check_channel
from outreach.ledger.schema import DATABASE_FILE, ORDER, SELECT
from outreach.ledger.states import DELIVERED_STATES, STATES, State

FOLLOW_UP_WORKING_DAYS = 20


def default_target() -> Path | str:
    """Return the log this user works with: OUTREACH_DATABASE_URL (a team's PostgreSQL), else OUTREACH_HOME's file."""
    return settings.database_url() or settings.home() / DATABASE_FILE


class LedgerReader:
    """The contact log (an SQLite file or a team's PostgreSQL database), read; `Ledger` adds the writes."""

    def __init__(self, target: Path | str, *, actor: Actor | None = None) -> None:
        self.target = target
        self.actor = actor or Actor.current()
        self._db: Database = schema.connect(target)

    @classmethod
    def open_default(cls) -> Self:
        """Return the default ledger (see `default_target`), creating the folder and file if needed."""
        return cls(default_target())

    @staticmethod
    def exists_default() -> bool:
        """Return whether the default contact log exists (a draft with no log skips nothing); a team's always does."""
        target = default_target()
        return isinstance(target, str) or target.is_file()

    @property
    def where(self) -> str:
        """Return the log as messages name it: its file, or its URL with the password hidden."""
        return self._db.where

    @property
    def engine(self) -> str:
        """Return the engine holding the log: sqlite or postgresql."""
        return self._db.kind

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
            raise schema.fault(self.where, value) from None

    def schema_version(self) -> int:
        """Return the log's schema version."""
        return self._db.schema_version()

    def log_id(self) -> str:
        """Return the log's id: a UUID made with its schema, shared by every home that uses the same log."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()
        if row is None:
            raise LedgerError(f"{self.where}: the contact log has no id (run 'outreach log check')")
        return str(row[0])

    def known_log_ids(self) -> frozenset[str]:
        """Return the log's id and those of the logs copied into it ('outreach log migrate')."""
        rows = self._db.execute("SELECT key, value FROM meta WHERE key = 'log_id' OR key LIKE 'absorbed:%'")
        return frozenset(row[1] if row[0] == "log_id" else row[0].removeprefix("absorbed:") for row in rows)

    @contextmanager
    def _transaction(self) -> Iterator[Database]:
        """Yield the connection inside a write transaction (the write lock taken up front); commit, or roll back."""
        try:
            with schema.transaction(self._db) as db:
                yield db
        except Exception as exc:
            if schema.is_fault(exc):
                raise schema.fault(self.where, exc) from None
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
        by: str | None = None,
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
        if by is not None:
            where.append("c.by_user = ?")
            values.append(by)
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
            Suppression(
                row["member_id"],
                row["name"],
                row["reason"],
                datetime.fromisoformat(row["suppressed_at"]),
                row["by_user"],
                row["machine"],
            )
            for row in rows
        ]
