"""The `Ledger`: the contact log read and moved through its states, and what people record: replies, opt-outs."""

from __future__ import annotations

from datetime import date

from outreach.ledger.records import Contact, LedgerError, now, utc_text
from outreach.ledger.schema import KEY
from outreach.ledger.states import DELIVERED_STATES, OUTCOMES
from outreach.ledger.transitions import LedgerTransitions


class Ledger(LedgerTransitions):
    """The contact log in one SQLite file; every state change is its own committed transaction."""

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
                    f"""INSERT INTO replies (contact_id, outcome, reply_date, note, recorded_at)
                        SELECT id, ?, ?, ?, ? FROM contacts WHERE {KEY}""",
                    (outcome, reply_date.isoformat(), note, stamp, *contact.key),
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
                """INSERT INTO suppressions (member_id, name, reason, suppressed_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (member_id) DO UPDATE SET
                       name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,
                       reason = excluded.reason, suppressed_at = excluded.suppressed_at""",
                (member_id, name, reason.strip(), utc_text(now())),
            )

    def unsuppress(self, member_id: int) -> bool:
        """Return whether the member was on the suppression list, and take them off it."""
        with self._transaction() as db:
            return db.execute("DELETE FROM suppressions WHERE member_id = ?", (member_id,)).rowcount == 1
