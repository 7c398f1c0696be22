"""A delivery run, the same for every channel: plan from the contact log, hold the lock, move each letter along.

The channel's reader checks every row and builds every message before the first goes (a bad row stops the run with
one line naming manifest.csv:line, before anything has gone); then, holding an exclusive lock file for the whole
run, each letter moves through the log's state machine:

    enqueue, the whole run in one transaction (references fixed) → begin_sending (committed) → the channel's attempt
    → mark_sent | mark_failed | mark_uncertain

Uncapped (--per-minute 0), a letter's mark_sent is committed in the same transaction as the next letter's
begin_sending: one fsync a letter instead of two, and still never more than one row in `sending`. A process killed
anywhere leaves at most the one letter it was sending in `sending`, which the next run turns into `uncertain`.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import io
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from outreach import settings
from outreach.delivery.channel import Channel, Letter, Outcome, Verdict
from outreach.errors import OutreachError, SourceError
from outreach.files import write_atomically
from outreach.ledger import CHANNELS, SENDABLE_STATES, Contact, Ledger, Queued, State, now

Message = TypeVar("Message")
Ready = TypeVar("Ready")

LOCK_FILE = "send.lock"
FAILURES_FILE = "failures.csv"
FAILURE_COLUMNS = ("letter_id", "member_id", "email", "reason")
DEFAULT_PER_MINUTE = 30

# Reasons a letter is not sent this run, as the summary names them.
SUPPRESSED = "suppressed (opted out)"
ALREADY_SENT = "already sent"
UNCERTAIN = "uncertain, may have arrived"
OVER_LIMIT = "beyond --limit"


@dataclass(frozen=True)
class Planned(Generic[Message]):
    """A letter this run will send; `resend` when it was uncertain and --resend-uncertain asked for it again."""

    letter: Letter[Message]
    message: Message
    resend: bool = False


@dataclass
class Plan(Generic[Message]):
    """What a run will do: the letters to send, in manifest order, and the ones it leaves, with the reason."""

    outbox: Path
    campaign: str
    to_send: list[Planned[Message]]
    skipped: list[tuple[Letter[Message], str]]


@dataclass(frozen=True)
class Failure:
    """A letter refused, or that kept failing: the row of failures.csv."""

    letter_id: str
    member_id: int
    recipient: str
    reason: str


@dataclass
class Result:
    """What a run did: counts by outcome, the failures, and the letters left uncertain."""

    sent: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    settled: list[str] = field(default_factory=list)  # left `sending` by an interrupted run, now `uncertain`

    def summary(self) -> list[tuple[str, int]]:
        """Return (outcome, letters) rows for the summary table."""
        rows: list[tuple[str, int]] = [(Verdict.SENT, len(self.sent)), (Verdict.FAILED, len(self.failures))]
        if self.uncertain:
            rows.append(("uncertain (reply lost)", len(self.uncertain)))
        rows.extend((f"skipped: {reason}", count) for reason, count in sorted(self.skipped.items()))
        return rows


# What the run tells its caller as it goes: the verdict, the letter, and the reason (empty when sent).
Report = Callable[[Verdict, Planned[Any], str], None]


# -- planning --------------------------------------------------------------------------------------------------


def plan(
    outbox: Path,
    campaign: str,
    letters: Sequence[Letter[Message]],
    ledger: Ledger | None,
    *,
    limit: int | None = None,
    resend_uncertain: bool = False,
) -> Plan[Message]:
    """Return what a run will send, in manifest order, and what it leaves, with the reason (read-only)."""
    suppressed = ledger.suppressed_ids() if ledger is not None else frozenset()
    logged = {(c.letter_id, c.channel): c for c in ledger.contacts(campaign=campaign)} if ledger is not None else {}
    result: Plan[Message] = Plan(outbox=outbox, campaign=campaign, to_send=[], skipped=[])
    for letter in letters:
        if letter.message is None:
            result.skipped.append((letter, letter.unsendable))
            continue
        if letter.member_id in suppressed:
            result.skipped.append((letter, SUPPRESSED))
            continue
        reason, resend = _logged(letter, logged, resend_uncertain)
        if reason is not None:
            result.skipped.append((letter, reason))
            continue
        if limit is not None and len(result.to_send) >= limit:
            result.skipped.append((letter, OVER_LIMIT))
            continue
        result.to_send.append(Planned(letter, letter.message, resend))
    return result


def _logged(
    letter: Letter[Any], logged: dict[tuple[str, str], Contact], resend_uncertain: bool
) -> tuple[str | None, bool]:
    """Return why the log says a letter is not to go (None: it may), and whether it goes again as a resend."""
    reason = None
    resend = False
    for channel in CHANNELS:
        contact = logged.get((letter.letter_id, channel))
        if contact is None:
            continue
        # A row still `sending` belongs to a run that died: it becomes uncertain when the next run starts.
        if contact.state in (State.UNCERTAIN, State.SENDING) and channel == letter.channel:
            if resend_uncertain:
                resend = True
            else:
                reason = UNCERTAIN
        elif contact.state in (State.SENT, State.UNCERTAIN, State.SENDING):
            reason = ALREADY_SENT if channel == letter.channel else f"{ALREADY_SENT} by {channel}"
    return reason, resend


# -- the lock --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def send_lock() -> Iterator[Path]:
    """Hold OUTREACH_HOME/send.lock exclusively for a run; a second concurrent run fails at once with one line.

    flock is released by the kernel when the process dies, however it dies, so a killed run never leaves a stale
    lock behind; that is why the lock is a held file lock, not a file whose presence means "locked".
    """
    path = settings.home() / LOCK_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise OutreachError(f"{path}: cannot open the send lock ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutreachError(f"another 'outreach send' is running (it holds {path}); wait for it") from None
            raise OutreachError(f"{path}: cannot lock ({exc.strerror})") from None
        yield path
    finally:
        os.close(handle)  # closing the descriptor releases the lock


# -- the run ---------------------------------------------------------------------------------------------------


def deliver(
    planned: Plan[Message],
    ledger: Ledger,
    channel: Channel[Message, Ready],
    *,
    per_minute: int = DEFAULT_PER_MINUTE,
    report: Report | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Result:
    """Deliver the planned letters, recording each step in the log; write OUTBOX/failures.csv; return what happened.

    The caller holds the send lock and has called ledger.settle_interrupted(). SourceError (exit 3) when the
    channel cannot get ready at the start, or again after a retry (the letter in hand is recorded failed).
    """
    result = Result()
    result.skipped.update(reason for _, reason in planned.skipped)
    if not planned.to_send:
        _write_failures(planned.outbox, result.failures)
        return result
    channel.open()  # an unreachable server stops the run here, before any letter is touched
    interval = 60.0 / per_minute if per_minute > 0 else 0.0
    contacts = _queue_all(planned, ledger, channel)
    # Uncapped, a letter's `sent` is committed with the next letter's `sending`, one commit a letter (at most one
    # row is ever `sending`, so a crash still leaves at most one letter uncertain). Capped, there is time to spare
    # and each is committed at once, so no accepted letter waits out the interval still `sending`.
    pending = _Pending(defer=not interval)
    last_start: float | None = None
    # Uncapped, the next letter's message is built while the far end digests the current one (see _send_one).
    # With a cap there is time to spare, and each message's Date stays the moment it is sent.
    ahead: _Ready[Message, Ready] | OutreachError | None = None
    try:
        for index, (item, contact) in enumerate(zip(planned.to_send, contacts, strict=True)):
            if interval and last_start is not None:
                wait = last_start + interval - time.monotonic()
                if wait > 0:
                    sleep(wait)
            last_start = time.monotonic()
            if isinstance(ahead, OutreachError):
                raise ahead
            current = ahead if ahead is not None else _ready(planned, item, contact, channel)
            ahead = None
            following = index + 1 if index + 1 < len(planned.to_send) else None

            def prepare_following(following: int | None = following) -> None:
                nonlocal ahead
                if following is not None and not interval:
                    try:
                        ahead = _ready(planned, planned.to_send[following], contacts[following], channel)
                    except OutreachError as exc:  # raised at the next letter's turn, not in this one's transaction
                        ahead = exc

            _send_one(current, ledger, channel, result, report, sleep, _Once(prepare_following), pending)
    finally:
        try:
            pending.flush(ledger)
        finally:
            channel.close()
            _write_failures(planned.outbox, result.failures)
    return result


@dataclass
class _Pending:
    """The last letter delivered whose `sent` has not been committed yet (uncapped runs only)."""

    defer: bool
    sent: tuple[tuple[str, str, str], datetime] | None = None

    def accepted(self, ledger: Ledger, key: tuple[str, str, str]) -> None:
        """Record that `key` was delivered: now, or with the next letter's `sending` when deferring."""
        accepted_at = now()
        if self.defer:
            self.sent = (key, accepted_at)
        else:
            ledger.mark_sent(*key, sent_at=accepted_at)

    def flush(self, ledger: Ledger) -> None:
        """Commit the deferred `sent`, if any (at the end of the run, or before it stops on an error)."""
        if self.sent is not None:
            key, accepted_at = self.sent
            ledger.mark_sent(*key, sent_at=accepted_at)
            self.sent = None


class _Once:
    """A piece of work run at most once, by whoever calls it first (the channel while it waits, or the run)."""

    def __init__(self, work: Callable[[], None]) -> None:
        self._work: Callable[[], None] | None = work

    def __call__(self) -> None:
        work, self._work = self._work, None
        if work is not None:
            work()


@dataclass(frozen=True)
class _Ready(Generic[Message, Ready]):
    """A letter queued in the log with its reference fixed, and its message built as it goes out."""

    item: Planned[Message]
    key: tuple[str, str, str]
    ready: Ready | None  # None: the log's row is not in a state to send (it says which)
    state: str


def _queue_all(planned: Plan[Message], ledger: Ledger, channel: Channel[Message, Any]) -> list[Contact]:
    """Return the log's row of every letter to send, queued in one transaction with its reference fixed.

    A reference (an e-mail's Message-ID), once in the log, is kept on every retry and on a resend of an uncertain
    letter.
    """
    for item in planned.to_send:
        if item.letter.channel != channel.name:
            raise ValueError(f"{item.letter.letter_id}: read for {item.letter.channel}, delivered by {channel.name}")
        if item.resend:
            current = ledger.contact(planned.campaign, item.letter.letter_id, channel.name)
            if current is not None and current.state == State.UNCERTAIN:
                ledger.requeue_uncertain(planned.campaign, item.letter.letter_id, channel.name)
    return ledger.enqueue_all(
        [
            Queued(
                campaign=planned.campaign,
                letter_id=item.letter.letter_id,
                channel=channel.name,
                member_id=item.letter.member_id,
                name=item.letter.name,
                recipient=item.letter.recipient,
                asks=item.letter.asks,
                content_sha256=item.letter.content_sha256,
                message_id=channel.new_reference(item.message),
            )
            for item in planned.to_send
        ]
    )


def _ready(
    planned: Plan[Message], item: Planned[Message], contact: Contact, channel: Channel[Message, Ready]
) -> _Ready[Message, Ready]:
    """Return a queued letter with its message built to go out, carrying the reference its log row holds."""
    key = (planned.campaign, item.letter.letter_id, channel.name)
    if contact.state not in SENDABLE_STATES or contact.message_id is None:
        # Another run got here first (the lock makes this unexpected), or a row written by hand: leave it be.
        return _Ready(item, key, None, contact.state)
    return _Ready(item, key, channel.prepare(item.message, contact.message_id), contact.state)


def _send_one(
    current: _Ready[Message, Ready],
    ledger: Ledger,
    channel: Channel[Message, Ready],
    result: Result,
    report: Report | None,
    sleep: Callable[[float], None],
    meanwhile: _Once,
    pending: _Pending,
) -> None:
    """Take one queued letter through begin_sending → the channel's attempts → mark_sent | _failed | _uncertain.

    `meanwhile` (building the next letter's message) runs once: the channel calls it while the far end digests
    this message, or it runs here after. The previous letter's deferred `sent` is committed in the same
    transaction as this one's `sending`.
    """
    item, key = current.item, current.key
    if current.ready is None:
        result.skipped[f"{ALREADY_SENT} ({current.state})"] += 1
        meanwhile()
        return
    ledger.begin_sending(*key, after_sent=pending.sent)
    pending.sent = None
    attempt = 1
    while True:
        outcome = channel.deliver(current.ready, meanwhile)
        if outcome.verdict != Verdict.RETRY:
            break
        if attempt >= channel.attempts:
            outcome = Outcome.failed(f"{outcome.reason} (after {channel.attempts} attempts)")
            break
        if report:
            report(Verdict.RETRY, item, outcome.reason)
        sleep(channel.backoff_seconds[min(attempt, len(channel.backoff_seconds)) - 1])
        attempt += 1
        try:
            channel.open()
        except SourceError as lost:
            _record(Outcome.failed(str(lost)), ledger, key, item, result, report, pending)
            raise SourceError(f"{lost}; {len(result.sent)} sent this run: run send again to continue") from None
    _record(outcome, ledger, key, item, result, report, pending)
    meanwhile()


def _record(
    outcome: Outcome,
    ledger: Ledger,
    key: tuple[str, str, str],
    item: Planned[Any],
    result: Result,
    report: Report | None,
    pending: _Pending,
) -> None:
    """Record a letter's final outcome in the log and in the run's result, and report it."""
    letter = item.letter
    if outcome.verdict == Verdict.SENT:
        pending.accepted(ledger, key)
        result.sent.append(letter.letter_id)
    elif outcome.verdict == Verdict.UNCERTAIN:
        ledger.mark_uncertain(*key, f"{outcome.reason}: the server may have accepted it")
        result.uncertain.append(letter.letter_id)
    else:
        ledger.mark_failed(*key, outcome.reason)
        result.failures.append(Failure(letter.letter_id, letter.member_id, letter.recipient, outcome.reason))
    if report:
        report(outcome.verdict, item, outcome.reason)


def _write_failures(outbox: Path, failures: Sequence[Failure]) -> None:
    """Write OUTBOX/failures.csv listing this run's failures; remove an old one when there are none."""
    path = outbox / FAILURES_FILE
    if not failures:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FAILURE_COLUMNS)
    for failure in failures:
        writer.writerow((failure.letter_id, failure.member_id, failure.recipient, failure.reason))
    write_atomically(path, lambda stream: stream.write(buffer.getvalue().encode("utf-8")))


# -- a whole run -----------------------------------------------------------------------------------------------


def dry_run(
    outbox: Path,
    campaign: str,
    letters: Sequence[Letter[Message]],
    *,
    limit: int | None = None,
    resend_uncertain: bool = False,
) -> Plan[Message]:
    """Return what a run would do, reading the log if there is one; delivers nothing and writes nothing."""
    if not Ledger.exists_default():
        return plan(outbox, campaign, letters, None, limit=limit, resend_uncertain=resend_uncertain)
    with Ledger.open_default() as ledger:
        return plan(outbox, campaign, letters, ledger, limit=limit, resend_uncertain=resend_uncertain)


def run(
    outbox: Path,
    campaign: str,
    letters: Sequence[Letter[Message]],
    channel: Channel[Message, Any],
    *,
    limit: int | None = None,
    per_minute: int = DEFAULT_PER_MINUTE,
    resend_uncertain: bool = False,
    confirm: Callable[[Plan[Message]], object] | None = None,
    report: Report | None = None,
) -> tuple[Plan[Message], Result]:
    """Return the plan and the result of delivering letters by a channel: the whole run under the send lock.

    `confirm` is called with the plan before anything is sent (it raises to stop the run).
    """
    with send_lock(), Ledger.open_default() as ledger:
        settled = ledger.settle_interrupted()
        planned = plan(outbox, campaign, letters, ledger, limit=limit, resend_uncertain=resend_uncertain)
        if planned.to_send and confirm is not None:
            confirm(planned)
        result = deliver(planned, ledger, channel, per_minute=per_minute, report=report)
    result.settled = [contact.letter_id for contact in settled]
    return planned, result
