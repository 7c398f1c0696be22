"""The contact log's state machine for letters it sends: queue, send, settle.

Every move is a conditional UPDATE in its own committed transaction (see the design in `outreach.ledger`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, NoReturn

from outreach.errors import OutreachError
from outreach.ledger.engine import Database, IntegrityViolation
from outreach.ledger.reading import LedgerReader
from outreach.ledger.records import Contact, LedgerError, Queued, check_asks, check_channel, now, utc_text
from outreach.ledger.schema import KEY, ORDER, SELECT
from outreach.ledger.states import SENDABLE_STATES, State

# How long a `sending` row stays its sender's without renewal; a live run renews it every third of this.
LEASE_SECONDS = 300.0
INTERRUPTED = "interrupted during sending: the server may have accepted it"


# Leaving `sending`: the reason, and the lease given up.
_SETTLED = ", error = ?, lease_until = NULL"


class StateRefused(LedgerError):
    """A state move found the row in a state it may not move from: another run got there first, or never queued."""


def _process_alive(pid: int) -> bool:
    """Return whether a process with this id runs on this machine (one we may not signal still runs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LedgerTransitions(LedgerReader):
    """The contact log's writes that move a letter through its states, each one committed transaction."""

    lease_seconds: float = LEASE_SECONDS

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
        """Return the contact queued for sending: inserted as queued, or the existing row.

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
            check_channel(entry.channel)
        stamp = utc_text(now())
        contacts = []
        with self._transaction() as db:
            for entry in entries:
                contacts.append(self._enqueue_in(db, entry, check_asks(entry.asks), stamp))
        return contacts

    def _enqueue_in(self, db: Database, entry: Queued, asks_text: str, stamp: str) -> Contact:
        key = entry.key
        row = db.execute(f"SELECT state, message_id FROM contacts WHERE {KEY}", key).fetchone()
        if row is None:
            try:
                db.execute(
                    """INSERT INTO contacts (campaign, letter_id, channel, member_id, name, recipient, state, asks,
                           content_sha256, message_id, queued_at, updated_at, by_user, machine)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (
                        *key,
                        entry.member_id,
                        entry.name,
                        entry.recipient,
                        State.QUEUED,
                        asks_text,
                        entry.content_sha256,
                        entry.message_id,
                        stamp,
                        stamp,
                        self.actor.user,
                        self.actor.machine,
                    ),
                )
            except IntegrityViolation as exc:
                raise LedgerError(
                    f"{entry.campaign}/{entry.letter_id} ({entry.channel}): cannot queue ({exc})"
                ) from None
        elif row["state"] in SENDABLE_STATES:
            db.execute(
                f"""UPDATE contacts SET member_id = ?, name = ?, recipient = ?, asks = ?, content_sha256 = ?,
                        message_id = COALESCE(message_id, ?), updated_at = ?
                    WHERE {KEY}""",
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
        db: Database,
        key: tuple[str, str, str],
        allowed: Sequence[State],
        to: State,
        sets: str = "",
        values: Sequence[Any] = (),
        guard: str = "",
    ) -> Contact:
        """Move one row from an allowed state to `to` inside the caller's transaction; refuse any other state."""
        changed = self._update(db, key, allowed, to, sets, values, guard)
        contact = self._one(*key)
        if changed != 1:
            self._refuse(key, contact, allowed, to)
        assert contact is not None
        return contact

    @staticmethod
    def _update(
        db: Database,
        key: tuple[str, str, str],
        allowed: Sequence[State],
        to: State,
        sets: str,
        values: Sequence[Any],
        guard: str,
    ) -> int:
        """Return how many rows the conditional UPDATE of a move changed (1, or 0 when the row was not in `allowed`)."""
        marks = ", ".join("?" for _ in allowed)
        changed: int = db.execute(
            f"UPDATE contacts SET state = ?, updated_at = ?{sets} WHERE {KEY} AND state IN ({marks}){guard}",
            (to, utc_text(now()), *values, *key, *allowed),
        ).rowcount
        return changed

    def _refuse(
        self, key: tuple[str, str, str], contact: Contact | None, allowed: Sequence[State], to: State
    ) -> NoReturn:
        """Raise why a move was refused: the row is missing, its member is suppressed, or it is in another state."""
        campaign, letter_id, channel = key
        if contact is None:
            raise LedgerError(f"{campaign}/{letter_id} ({channel}): not in the contact log")
        if contact.state in allowed and self.is_suppressed(contact.member_id):
            raise LedgerError(
                f"{contact.describe()}: {contact.name or contact.member_id} is on the suppression list"
            )
        choices = " or ".join(f"'{state}'" for state in allowed)
        raise StateRefused(
            f"{contact.describe()}: cannot move from '{contact.state}' to '{to}' (only from {choices})"
        )

    def begin_sending(
        self,
        campaign: str,
        letter_id: str,
        channel: str,
        *,
        after_sent: tuple[tuple[str, str, str], datetime] | None = None,
    ) -> Contact:
        """Return the contact moved queued|deferred|failed → sending (attempts + 1), committed before any SMTP exchange.

        Refused (LedgerError) in any other state, or if the member is on the suppression list: the UPDATE is
        conditional, so of two processes racing for one row exactly one wins. The row records its sender (person,
        machine, process) and a lease. `after_sent` (the previous letter's key and the moment the server accepted
        it) is marked sent in the same transaction: an uncapped run then pays one commit a letter, and still has at
        most one row in `sending` at any moment.
        """
        with self._transaction() as db:
            if after_sent is not None:
                self._mark_sent_in(db, after_sent[0], after_sent[1])
            return self._begin_in(db, (campaign, letter_id, channel))

    def claim(
        self,
        campaign: str,
        letter_id: str,
        channel: str,
        *,
        after_sent: tuple[tuple[str, str, str], datetime] | None = None,
    ) -> Contact | None:
        """Return the contact moved to sending as `begin_sending` does, or None when another run has taken it first.

        `after_sent` is committed either way.
        """
        with self._transaction() as db:
            if after_sent is not None:
                self._mark_sent_in(db, after_sent[0], after_sent[1])
            try:
                return self._begin_in(db, (campaign, letter_id, channel))
            except StateRefused:
                return None

    def _begin_in(self, db: Database, key: tuple[str, str, str]) -> Contact:
        """Move one row to sending inside the caller's transaction, owned by this process with a fresh lease."""
        self._claim_in(db, key)
        contact = self._one(*key)
        assert contact is not None
        return contact

    def _claim_in(self, db: Database, key: tuple[str, str, str]) -> None:
        """Move one row to sending as _begin_in does, without reading it back (StateRefused, LedgerError: as _move)."""
        sets = ", attempts = attempts + 1, by_user = ?, machine = ?, owner_pid = ?, lease_until = ?"
        values = (self.actor.user, self.actor.machine, self.actor.pid, self._lease_end())
        guard = " AND member_id NOT IN (SELECT member_id FROM suppressions)"
        if self._update(db, key, SENDABLE_STATES, State.SENDING, sets, values, guard) != 1:
            self._refuse(key, self._one(*key), SENDABLE_STATES, State.SENDING)

    def _lease_end(self) -> str:
        """Return when a lease taken or renewed now runs out."""
        return utc_text(now() + timedelta(seconds=self.lease_seconds))

    def begin_sending_batch(
        self, keys: Sequence[tuple[str, str, str]], *, after_sent: Sequence[tuple[tuple[str, str, str], datetime]] = ()
    ) -> list[bool]:
        """Return, for each of a batch of letters, whether it moved queued|deferred|failed → sending (False: another
        run took it first, on a shared log, as `claim` says with None), in one commit (group commit, issue 14 item
        5), with the previous batch's `sent` marks (key, moment accepted) in the same transaction.

        A suppressed member is refused as `begin_sending` refuses, all or nothing. A process killed while the batch
        is out leaves every letter of it `sending`, owned by that process, which the next run turns into
        `uncertain`: at most one batch per kill.
        """
        with self._transaction() as db:
            for sent_key, sent_at in after_sent:
                self._mark_sent_in(db, sent_key, sent_at)
            claimed: list[bool] = []
            for key in keys:
                try:
                    self._claim_in(db, key)
                except StateRefused:
                    claimed.append(False)
                else:
                    claimed.append(True)
            return claimed

    def end_batch(
        self,
        *,
        sent: Sequence[tuple[tuple[str, str, str], datetime]] = (),
        untried: Sequence[tuple[str, str, str]] = (),
    ) -> None:
        """Commit the last `sent` marks of a run, and put letters marked `sending` but never tried back in the queue
        (sending → queued, the attempt not counted): a run that stops early leaves none of them uncertain."""
        if not sent and not untried:
            return
        with self._transaction() as db:
            for sent_key, sent_at in sent:
                self._mark_sent_in(db, sent_key, sent_at)
            for key in untried:
                self._move(db, key, (State.SENDING,), State.QUEUED, ", attempts = attempts - 1, lease_until = NULL")

    def mark_sent(self, campaign: str, letter_id: str, channel: str, *, sent_at: datetime | None = None) -> None:
        """Record that the server accepted the letter: sending → sent."""
        with self._transaction() as db:
            self._mark_sent_in(db, (campaign, letter_id, channel), sent_at or now())

    def _mark_sent_in(self, db: Database, key: tuple[str, str, str], sent_at: datetime) -> None:
        # As _move, without reading the row back: the run needs nothing of it (a read a letter saved).
        sets = ", sent_at = ?, error = NULL, lease_until = NULL"
        if self._update(db, key, (State.SENDING,), State.SENT, sets, (utc_text(sent_at),), "") != 1:
            self._refuse(key, self._one(*key), (State.SENDING,), State.SENT)

    def mark_uncertain(self, campaign: str, letter_id: str, channel: str, reason: str) -> None:
        """Record that the server may or may not have accepted the letter (its reply was lost): sending → uncertain."""
        with self._transaction() as db:
            self._move(db, (campaign, letter_id, channel), (State.SENDING,), State.UNCERTAIN, _SETTLED, (reason,))

    def mark_deferred(self, campaign: str, letter_id: str, channel: str, reason: str) -> None:
        """Record that the server asked for the letter later, with its reason: sending → deferred.

        A deferred letter cannot have arrived (the server said "not now" before accepting it, or the connection was
        lost before the end of DATA), so it is tried again, later in the same run or first in the next.
        """
        with self._transaction() as db:
            self._move(
                db, (campaign, letter_id, channel), (State.SENDING,), State.DEFERRED, _SETTLED, (reason,)
            )

    def mark_failed(self, campaign: str, letter_id: str, channel: str, reason: str) -> None:
        """Record a refusal for good (a 5xx) with its reason: sending → failed (tried again on the next run)."""
        with self._transaction() as db:
            self._move(db, (campaign, letter_id, channel), (State.SENDING,), State.FAILED, _SETTLED, (reason,))

    def settle_interrupted(self) -> list[Contact]:
        """Return the contacts moved sending → uncertain: the run sending them died during their transaction.

        Only a row whose lease has run out, or whose sending process is gone from this machine, is settled; a live
        sender's row, on this machine or another, is left be. The caller has nothing in `sending` itself.
        """
        with self._transaction() as db:
            rows = db.execute(SELECT + " WHERE c.state = ?" + ORDER, (State.SENDING,))
            abandoned = [contact.key for contact in map(Contact.from_row, rows) if self._abandoned(contact)]
            for key in abandoned:
                db.execute(
                    f"UPDATE contacts SET state = ?, updated_at = ?, error = ?, lease_until = NULL "
                    f"WHERE {KEY} AND state = ?",
                    (State.UNCERTAIN, utc_text(now()), INTERRUPTED, *key, State.SENDING),
                )
            settled = [self._one(*key) for key in abandoned]
        return [contact for contact in settled if contact is not None]

    def _abandoned(self, contact: Contact) -> bool:
        """Return whether a `sending` row's sender is gone: its lease ran out, or its process left this machine."""
        if contact.lease_until is None or contact.lease_until <= now():
            return True
        if contact.machine != self.actor.machine or contact.owner_pid is None:
            return False
        # This process has nothing in flight yet, so a row bearing its id is a dead predecessor's (ids are reused).
        return contact.owner_pid == self.actor.pid or not _process_alive(contact.owner_pid)

    def renew_leases(self) -> int:
        """Return how many of this process's `sending` rows had their lease renewed."""
        with self._transaction() as db:
            return db.execute(
                "UPDATE contacts SET lease_until = ? WHERE state = ? AND machine = ? AND owner_pid = ?",
                (self._lease_end(), State.SENDING, self.actor.machine, self.actor.pid),
            ).rowcount

    @contextmanager
    def keeping_leases(self) -> Iterator[None]:
        """Renew this process's leases every third of a lease while the block runs (a thread, its own connection)."""
        stop = threading.Event()

        def renew() -> None:
            try:
                with type(self)(self.target, actor=self.actor) as other:
                    other.lease_seconds = self.lease_seconds
                    while not stop.wait(self.lease_seconds / 3):
                        other.renew_leases()
            except (OutreachError, sqlite3.Error):
                # A lapsed lease only lets another run settle the letter as uncertain: never sent twice.
                return

        thread = threading.Thread(target=renew, name="outreach-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    def requeue_uncertain(self, campaign: str, letter_id: str, channel: str) -> None:
        """Put an uncertain letter back in the queue (send --resend-uncertain): uncertain → queued, Message-ID kept."""
        with self._transaction() as db:
            self._move(db, (campaign, letter_id, channel), (State.UNCERTAIN,), State.QUEUED)
