"""What `outreach inbox` keeps in the contact log: where it has read each mailbox folder to, and what it found.

A folder's position is its UIDVALIDITY and the last UID read (RFC 3501 2.3.1.1), as mail clients keep it, because
outreach never changes the mailbox (no flags, no custom keywords, which not every server offers). A folder's new
messages and its new position are written in one transaction, so a run that dies part-way records nothing of that
folder and the next run reads the same messages again. Each message is recorded once per letter (by its Message-ID,
or a hash of its headers), so a folder read again after its UIDVALIDITY changed records nothing twice.

What a message does to its letter: a reply is recorded with its date, sender and subject, its outcome left for
`outreach reply`; an automatic reply is also recorded as an acknowledgement; a delivery report saying the letter
failed moves it sent|uncertain → failed with the report's reason; the letter's own copy (Sent folder, or the one
`--bcc-self` delivers) moves it uncertain → sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from outreach import workdays
from outreach.ledger.reading import LedgerReader
from outreach.ledger.records import now, utc_text
from outreach.ledger.schema import KEY
from outreach.ledger.states import State


@dataclass(frozen=True)
class Found:
    """A message read from the mailbox and matched to a letter: what the contact log records of it."""

    key: tuple[str, str, str]  # the letter's ledger key: (campaign, letter_id, channel)
    kind: str  # ledger.INBOX_KINDS: reply, auto_reply, delivery_failure, copy
    message_key: str  # the message's Message-ID, or a hash of its headers when it has none
    sender: str
    subject: str
    received_at: datetime  # when the server received it (IMAP INTERNALDATE)
    matched_by: str  # ledger.MATCHED_BY; sender_and_subject is the flagged fallback
    folder: str
    uid: int | None
    reason: str = ""  # a delivery report's Status and Diagnostic-Code
    name: str = ""  # the letter's recipient, as the log names them (not stored again)

    @property
    def flagged(self) -> bool:
        """Return whether a person should check the match (by sender and subject, not by a message's own ids)."""
        return self.matched_by == "sender_and_subject"

    def as_json(self) -> dict[str, object]:
        """Return the `outreach inbox --json` object of one message matched to a letter."""
        campaign, letter_id, channel = self.key
        return {
            "campaign": campaign,
            "letter_id": letter_id,
            "name": self.name,
            "channel": channel,
            "kind": self.kind,
            "sender": self.sender,
            "subject": self.subject,
            "received_at": self.received_at.isoformat(),
            "matched_by": self.matched_by,
            "flagged": self.flagged,
            "reason": self.reason,
            "folder": self.folder,
            "uid": self.uid,
        }


class LedgerInbox(LedgerReader):
    """The contact log's record of the campaign mailbox: read positions, and the messages matched to letters."""

    def inbox_position(self, mailbox: str, folder: str) -> tuple[int, int] | None:
        """Return (UIDVALIDITY, last UID read) of a mailbox folder, or None if it was never read."""
        row = self._db.execute(
            "SELECT uidvalidity, last_uid FROM inbox_positions WHERE mailbox = ? AND folder = ?", (mailbox, folder)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def record_inbox(
        self, mailbox: str, found: Sequence[Found], *, position: tuple[str, int, int] | None = None
    ) -> list[Found]:
        """Return the messages recorded now (those recorded before are left out), in one transaction with the
        folder's new position (folder, UIDVALIDITY, last UID) when given."""
        recorded: list[Found] = []
        stamp = utc_text(now())
        with self._transaction() as db:
            for item in found:
                contact = db.execute(f"SELECT id, state FROM contacts WHERE {KEY}", item.key).fetchone()
                if contact is None:
                    continue
                inserted = db.execute(
                    """INSERT INTO inbox_messages (contact_id, kind, message_key, sender, subject, received_at,
                           matched_by, reason, mailbox, folder, uid, recorded_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (contact_id, message_key) DO NOTHING""",
                    (
                        contact[0],
                        item.kind,
                        item.message_key,
                        item.sender,
                        item.subject,
                        utc_text(item.received_at),
                        item.matched_by,
                        item.reason,
                        mailbox,
                        item.folder,
                        item.uid,
                        stamp,
                    ),
                ).rowcount
                if inserted == 1:
                    self._apply(int(contact[0]), item, stamp)
                    recorded.append(item)
            if position is not None:
                folder, uidvalidity, last_uid = position
                db.execute(
                    """INSERT INTO inbox_positions (mailbox, folder, uidvalidity, last_uid, read_at)
                       VALUES (?, ?, ?, ?, ?)
                       ON CONFLICT (mailbox, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity,
                           last_uid = excluded.last_uid, read_at = excluded.read_at""",
                    (mailbox, folder, uidvalidity, last_uid, stamp),
                )
        return recorded

    def _apply(self, contact_id: int, item: Found, stamp: str) -> None:
        """Do what a newly recorded message does to its letter, inside the caller's transaction."""
        execute = self._db.execute
        if item.kind == "auto_reply":
            # RFC 3834 automatic replies (out of office) say the letter arrived, and no more: an acknowledgement.
            execute(
                "INSERT INTO replies (contact_id, outcome, reply_date, note, recorded_at, by_user, machine) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    contact_id,
                    "acknowledgement",
                    workdays.uk_date(item.received_at).isoformat(),
                    f"automatic reply from {item.sender}: {item.subject}",
                    stamp,
                    self.actor.user,  # who ran `outreach inbox`, and where (issue 15, item 2)
                    self.actor.machine,
                ),
            )
        elif item.kind == "delivery_failure":
            execute(
                "UPDATE contacts SET state = ?, error = ?, updated_at = ? WHERE id = ? AND state IN (?, ?)",
                (State.FAILED, f"delivery report: {item.reason}", stamp, contact_id, State.SENT, State.UNCERTAIN),
            )
        elif item.kind == "copy":
            # The server kept the letter (or delivered its --bcc-self copy): it went out.
            execute(
                "UPDATE contacts SET state = ?, sent_at = ?, error = NULL, updated_at = ? WHERE id = ? AND state = ?",
                (State.SENT, utc_text(item.received_at), stamp, contact_id, State.UNCERTAIN),
            )
