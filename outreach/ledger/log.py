"""The `Ledger`: the log's queries and state machine, and what people record: letters posted, replies, opt-outs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from outreach.ledger.inbox import LedgerInbox
from outreach.ledger.records import Contact, LedgerError, NewContact, check_asks, check_channel, now, utc_text
from outreach.ledger.schema import KEY
from outreach.ledger.states import DELIVERED_STATES, OUTCOMES, State
from outreach.ledger.transitions import LedgerTransitions


class Ledger(LedgerTransitions, LedgerInbox):
    """The contact log in one SQLite file; every state change is its own committed transaction."""

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
                check_channel(entry.channel)
                found = self._one(*entry.key)
                if found is not None:
                    existing.append(found)
                    continue
                stamp = utc_text(entry.sent_at)
                db.execute(
                    """INSERT INTO contacts (campaign, letter_id, channel, member_id, name, recipient, state, asks,
                           content_sha256, postal_reference, attempts, queued_at, sent_at, updated_at, by_user, machine)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)""",
                    (
                        entry.campaign,
                        entry.letter_id,
                        entry.channel,
                        entry.member_id,
                        entry.name,
                        entry.recipient,
                        State.SENT,
                        check_asks(entry.asks),
                        entry.content_sha256,
                        entry.postal_reference or None,
                        stamp,
                        stamp,
                        utc_text(now()),
                        self.actor.user,
                        self.actor.machine,
                    ),
                )
                contact = self._one(*entry.key)
                assert contact is not None
                recorded.append(contact)
        return recorded, existing

    # -- the end of a campaign's retention period ---------------------------------------------------------------

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
            stamp = utc_text(now())
            for contact in candidates:
                db.execute(
                    f"""INSERT INTO replies (contact_id, outcome, reply_date, note, recorded_at, by_user, machine)
                        SELECT id, ?, ?, ?, ?, ?, ? FROM contacts WHERE {KEY}""",
                    (outcome, reply_date.isoformat(), note, stamp, self.actor.user, self.actor.machine, *contact.key),
                )
            updated = [self._one(*contact.key) for contact in candidates]
        return [contact for contact in updated if contact is not None]

    # -- suppression ----------------------------------------------------------------------------------------------

    def suppress(self, member_id: int, reason: str, *, name: str = "") -> None:
        """Put a member on the suppression list (again: the reason and time are updated)."""
        if not reason.strip():
            raise LedgerError("a suppression needs a reason (--reason)")
        with self._transaction() as db:
            db.execute(
                """INSERT INTO suppressions (member_id, name, reason, suppressed_at, by_user, machine)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (member_id) DO UPDATE SET
                       name = CASE WHEN excluded.name != '' THEN excluded.name ELSE suppressions.name END,
                       reason = excluded.reason, suppressed_at = excluded.suppressed_at,
                       by_user = excluded.by_user, machine = excluded.machine""",
                (member_id, name, reason.strip(), utc_text(now()), self.actor.user, self.actor.machine),
            )

    def unsuppress(self, member_id: int) -> bool:
        """Return whether the member was on the suppression list, and take them off it."""
        with self._transaction() as db:
            return db.execute("DELETE FROM suppressions WHERE member_id = ?", (member_id,)).rowcount == 1
