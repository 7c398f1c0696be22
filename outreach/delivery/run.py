"""A delivery run, the same for every channel: plan from the contact log, hold the lock, move each letter along.

The channel's reader checks every row and builds every message before the first goes (a bad row stops the run with
one line naming manifest.csv:line, before anything has gone); then, holding an exclusive lock file for the whole
run, each letter moves through the log's state machine:

    enqueue, the whole run in one transaction (references fixed) → begin_sending_batch (committed) → the channel's
    attempt → mark_sent | mark_deferred | mark_failed | mark_uncertain

A deferred letter (the far end said "not now") goes back in the run's queue and comes back when its backoff, or the
wait the far end asked for, is over, while the others go on; a far end that says the run goes too fast pauses it and,
said twice, halves its rate. Letters still deferred at the end are listed in failures.csv and go first next run.

Uncapped (--per-minute 0), commits are grouped: GROUP_COMMIT letters are marked `sending` in one commit, and their
`sent` marks go in one commit with the next batch's `sending`: one fsync for every GROUP_COMMIT letters instead of
one a letter. A process killed anywhere leaves at most that batch in `sending`, which the next run turns into
`uncertain`; `outreach inbox` then finds those that went in the Sent folder (or their --bcc-self copies). Capped,
one letter is marked at a time and its `sent` committed at once. A run that stops early (an error) puts the letters
it marked but never tried back in the queue.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from outreach import settings
from outreach.csvfile import Writer
from outreach.delivery.channel import Channel, Letter, Outcome, Verdict
from outreach.errors import OutreachError, SourceError
from outreach.files import held_lock, write_atomically
from outreach.ledger import (
    CHANNELS,
    SENDABLE_STATES,
    Contact,
    Ledger,
    LedgerError,
    Queued,
    State,
    default_target,
    now,
)

Message = TypeVar("Message")
Ready = TypeVar("Ready")

LOCK_FILE = "send.lock"
FAILURES_FILE = "failures.csv"
# The id of the contact log an outbox was first sent from (see `bind_outbox`).
LOG_ID_FILE = ".outreach-log-id"
FAILURE_COLUMNS = ("letter_id", "member_id", "email", "reason", "state")
DEFAULT_PER_MINUTE = 30
# Group commit (issue 14, item 5): an uncapped run marks this many letters `sending` in one commit, and commits their
# `sent` marks with the next batch's: one fsync for every GROUP_COMMIT letters, and a crash leaves at most this many
# letters uncertain (`outreach inbox` settles those whose copy is in the Sent folder).
GROUP_COMMIT = 8
# Throttled twice, a run slows down: its pause between letters doubles, and an uncapped run starts from 30 a minute
# (Microsoft 365's limit for one mailbox).
THROTTLED_PER_MINUTE = 30
# A deferred letter whose server asks for a longer wait than this is not tried again in this run: it is listed as
# deferred (exit 4) and goes first on the next run. Greylisting asks for minutes (postgrey's default is 5).
LONGEST_WAIT_SECONDS = 15 * 60.0

# Reasons a letter is not sent this run, as the summary names them.
SUPPRESSED = "suppressed (opted out)"
ALREADY_SENT = "already sent"
UNCERTAIN = "uncertain, may have arrived"
OVER_LIMIT = "beyond --limit"
TAKEN = "sent or being sent by another run"


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
    """A letter refused (failed), or still deferred when the run ended: the row of failures.csv."""

    letter_id: str
    member_id: int
    recipient: str
    reason: str
    state: str = State.FAILED


@dataclass
class Result:
    """What a run did: counts by outcome, the failures, the letters still deferred and those left uncertain."""

    sent: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    settled: list[str] = field(default_factory=list)  # left `sending` by an interrupted run, now `uncertain`
    deferred: dict[str, Failure] = field(default_factory=dict)  # by letter id: still deferred, with the last reason

    def summary(self) -> list[tuple[str, int]]:
        """Return (outcome, letters) rows for the summary table."""
        rows: list[tuple[str, int]] = [(Verdict.SENT, len(self.sent)), (Verdict.FAILED, len(self.failures))]
        if self.deferred:
            rows.append(("deferred (the server said later)", len(self.deferred)))
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
    candidates: list[Planned[Message]] = []
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
        candidates.append(Planned(letter, letter.message, resend))
    # Letters a server deferred in an earlier run go first (a stable sort keeps manifest order otherwise): they
    # have waited longest, and a greylisting server now knows them.
    candidates.sort(key=lambda item: not _was_deferred(item.letter, logged))
    for item in candidates:
        if limit is not None and len(result.to_send) >= limit:
            result.skipped.append((item.letter, OVER_LIMIT))
        else:
            result.to_send.append(item)
    return result


def _was_deferred(letter: Letter[Any], logged: dict[tuple[str, str], Contact]) -> bool:
    """Return whether the log holds this letter as deferred by its channel."""
    contact = logged.get((letter.letter_id, letter.channel))
    return contact is not None and contact.state == State.DEFERRED


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
        if contact.state == State.SENDING and contact.lease_until is not None and contact.lease_until > now():
            reason = TAKEN  # a live run (another person's, on a shared log) holds it
        # A row still `sending` with its lease run out belongs to a run that died: the next run settles it uncertain.
        elif contact.state in (State.UNCERTAIN, State.SENDING) and channel == letter.channel:
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
    """Hold OUTREACH_HOME/send.lock exclusively for a run; a second concurrent run fails at once with one line."""
    with held_lock(settings.home() / LOCK_FILE, "send") as path:
        yield path


# -- which log an outbox belongs to ----------------------------------------------------------------------------


def recorded_log_id(outbox: Path) -> str:
    """Return the id of the contact log the outbox was first sent from ('' if it has not been sent)."""
    path = outbox / LOG_ID_FILE
    try:
        return path.read_text(encoding="utf-8").strip() if path.is_file() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise OutreachError(f"{path}: cannot read the outbox's contact log id ({exc})") from None


def _other_log(outbox: Path, recorded: str, where: str, log_id: str) -> OutreachError:
    """Return the one-line refusal of an outbox first sent from another contact log."""
    return OutreachError(
        f"{outbox}: first sent from another contact log (id {recorded}), not {where} ({log_id}): set "
        "OUTREACH_DATABASE_URL or OUTREACH_HOME to that log, or add --yes-other-log"
    )


def bind_outbox(outbox: Path, ledger: Ledger | None, *, other_log: bool, record: bool) -> None:
    """Refuse an outbox first sent from another contact log (unless `other_log`; no ledger: none exists yet); with
    `record`, note this log's id in OUTBOX/.outreach-log-id if the outbox has none yet.

    Two homes each with their own SQLite file would each think the other's letters unsent; homes sharing one team log
    share its id (and a log copied into it by 'outreach log migrate' is known to it), so they are not refused.
    """
    recorded = recorded_log_id(outbox)
    if ledger is None:
        if recorded and not other_log:
            raise _other_log(outbox, recorded, str(default_target()), "no log yet")
        return
    if recorded and recorded not in ledger.known_log_ids() and not other_log:
        raise _other_log(outbox, recorded, ledger.where, f"id {ledger.log_id()}")
    if record and not recorded:
        log_id = ledger.log_id()
        write_atomically(outbox / LOG_ID_FILE, lambda stream: stream.write(f"{log_id}\n".encode()))


# -- the run ---------------------------------------------------------------------------------------------------


def deliver(
    planned: Plan[Message],
    ledger: Ledger,
    channel: Channel[Message, Ready],
    *,
    per_minute: int = DEFAULT_PER_MINUTE,
    report: Report | None = None,
    sleep: Callable[[float], None] = time.sleep,
    backoff_scale: float = 1.0,
) -> Result:
    """Deliver the planned letters, recording each step in the log; write OUTBOX/failures.csv; return what happened.

    A letter the far end defers goes back in the queue and is tried again when its backoff (or the wait the far end
    asked for) has passed, after `channel.attempts` tries it is left deferred. `backoff_scale` multiplies every
    wait (tests and benches make minutes into fractions of a second). A letter another run claims first (a shared
    log) is skipped. The caller holds the send lock and has called ledger.settle_interrupted(). SourceError (exit
    3) when the channel cannot get ready at the start, or cannot be reached again after `channel.attempts` tries in
    a row (the letter in hand is recorded deferred).
    """
    result = Result()
    result.skipped.update(reason for _, reason in planned.skipped)
    if not planned.to_send:
        _write_failures(planned.outbox, result)
        return result
    channel.open()  # an unreachable server stops the run here, before any letter is touched
    pace = _Pace(60.0 / per_minute if per_minute > 0 else 0.0, backoff_scale)
    contacts = _queue_all(planned, ledger, channel)
    if not pace.interval:  # uncapped, the channel may get the messages ready ahead (capped, there is time to spare)
        channel.expect([item.message for item in planned.to_send])
    queue = _Queue(deque(range(len(planned.to_send))))
    # Uncapped, GROUP_COMMIT letters are marked `sending` in one commit with the previous batch's `sent` marks (a
    # crash leaves at most that many uncertain, for `outreach inbox` to settle from the Sent folder). Capped, there
    # is time to spare: one letter at a time, each `sent` committed at once.
    keys = [(planned.campaign, item.letter.letter_id, channel.name) for item in planned.to_send]
    sendable = [contact.state in SENDABLE_STATES and contact.message_id is not None for contact in contacts]
    pending = _Pending(
        GROUP_COMMIT if not pace.interval else 1,
        defer=not pace.interval,
        upcoming=lambda: [keys[index] for index in queue.fresh if sendable[index]],
    )
    # Uncapped, the next letter's message is built while the far end digests the current one (see _send_one).
    # With a cap there is time to spare, and each message's Date stays the moment it is sent.
    ahead: dict[int, _Ready[Message, Ready] | OutreachError] = {}
    try:
        while (index := queue.next(sleep)) is not None:
            pace.wait(sleep)
            built = ahead.pop(index, None)
            if isinstance(built, OutreachError):
                raise built
            current = built or _ready(planned, planned.to_send[index], contacts[index], channel)

            def prepare_following(following: int | None = queue.following()) -> None:
                if following is not None and not pace.interval:
                    try:
                        ahead[following] = _ready(planned, planned.to_send[following], contacts[following], channel)
                    except OutreachError as exc:  # raised at the next letter's turn, not in this one's transaction
                        ahead[following] = exc

            try:
                outcome = _send_one(current, ledger, channel, result, report, _Once(prepare_following), pending)
            except SourceError as lost:
                outcome = _unreachable(lost, queue, channel, result)
            _come_back(outcome, index, queue, pace, channel)
    finally:
        try:
            pending.flush(ledger)
        finally:
            channel.close()
            _write_failures(planned.outbox, result)
    return result


def _unreachable(lost: SourceError, queue: _Queue, channel: Channel[Any, Any], result: Result) -> Outcome:
    """Return a lost far end as a run-wide deferral; raise SourceError once it stayed lost `channel.attempts` times."""
    queue.unreachable += 1
    if queue.unreachable >= channel.attempts:
        raise SourceError(
            f"{lost}; {len(result.sent)} sent and {len(result.deferred)} deferred this run: run send again to continue"
        ) from None
    return Outcome.retry(str(lost), throttled=True)


def _come_back(outcome: Outcome, index: int, queue: _Queue, pace: _Pace, channel: Channel[Any, Any]) -> None:
    """Put a deferred letter back in the queue for when its wait is over, and slow the run when it was throttled.

    RFC 5321 4.5.4.1: a sender keeps a deferred message and tries again after a pause; the pause here grows with
    each try (the channel's backoff), or is the one the server asked for when longer.
    """
    if outcome.verdict != Verdict.RETRY:
        if outcome.verdict != Verdict.UNCERTAIN:
            queue.unreachable = 0
        return
    tries = queue.tried(index)
    backoff = channel.backoff_seconds[min(tries, len(channel.backoff_seconds)) - 1]
    wait = max(backoff, outcome.wait or 0.0)
    if outcome.throttled:
        pace.throttled(wait * pace.scale)
    if tries < channel.attempts and wait <= LONGEST_WAIT_SECONDS:
        queue.defer(index, wait * pace.scale)


@dataclass
class _Queue:
    """The order of a run: letters in plan order, and deferred ones back when their wait is over (earliest first)."""

    fresh: deque[int]
    later: list[tuple[float, int]] = field(default_factory=list)  # a heap of (monotonic time due, letter)
    tries: Counter[int] = field(default_factory=Counter)
    unreachable: int = 0  # the far end lost this many times in a row

    def next(self, sleep: Callable[[float], None]) -> int | None:
        """Return the next letter to try (a deferred one whose time has come, else the next new one), or None."""
        if self.later and (self.later[0][0] <= time.monotonic() or not self.fresh):
            due, index = heapq.heappop(self.later)
            if due > time.monotonic():
                sleep(due - time.monotonic())
            return index
        return self.fresh.popleft() if self.fresh else None

    def following(self) -> int | None:
        """Return the new letter likely to come next (its message may be built while this one goes), if any."""
        return self.fresh[0] if self.fresh else None

    def tried(self, index: int) -> int:
        """Return how many times this run has tried the letter, counting the try just made."""
        self.tries[index] += 1
        return self.tries[index]

    def defer(self, index: int, wait: float) -> None:
        """Bring the letter back after `wait` seconds."""
        heapq.heappush(self.later, (time.monotonic() + wait, index))


@dataclass
class _Pace:
    """When the next letter may start: the per-minute cap, slowed by repeated throttling, and any pause asked for."""

    interval: float  # seconds between starts; 0 = uncapped
    scale: float  # the run's backoff scale (the pause a throttled uncapped run falls back to is scaled too)
    last_start: float | None = None
    paused_until: float = 0.0
    throttles: int = 0

    def wait(self, sleep: Callable[[float], None]) -> None:
        """Sleep until the next letter may start, and note that it starts."""
        start = self.paused_until
        if self.interval and self.last_start is not None:
            start = max(start, self.last_start + self.interval)
        if start > time.monotonic():
            sleep(start - time.monotonic())
        self.last_start = time.monotonic()

    def throttled(self, pause: float) -> None:
        """Pause the whole run for `pause` seconds; from the second throttling on, also halve the rate."""
        self.throttles += 1
        self.paused_until = max(self.paused_until, time.monotonic() + pause)
        if self.throttles >= 2:
            self.interval = max(self.interval * 2, 60.0 / THROTTLED_PER_MINUTE * self.scale)


@dataclass
class _Pending:
    """Group commit: the letters marked `sending` together, and the `sent` marks waiting for the next commit.

    Uncapped, `batch` letters (GROUP_COMMIT) are marked `sending` in one commit, which also carries the previous
    batch's `sent` marks: one fsync for every `batch` letters. Capped, a batch is one letter and each `sent` is
    committed at once (`defer` off), so no accepted letter waits out the interval still `sending`.
    """

    batch: int
    defer: bool
    upcoming: Callable[[], list[tuple[str, str, str]]]  # the letters likely to come next, in order
    sent: list[tuple[tuple[str, str, str], datetime]] = field(default_factory=list)
    out: list[tuple[str, str, str]] = field(default_factory=list)  # marked `sending`, not yet tried
    started: set[tuple[str, str, str]] = field(default_factory=set)  # ever marked `sending` in this run
    trying: tuple[str, str, str] | None = None  # the letter whose try is under way

    def begin(self, ledger: Ledger, key: tuple[str, str, str]) -> bool:
        """Return whether `key` is this run's to send: marked `sending`, by its batch or now with the next letters
        (one commit); False when another run (a shared log) took it first."""
        if key not in self.out:
            following = [other for other in self.upcoming() if other not in self.started and other != key]
            batch = [key, *following[: self.batch - 1]]
            claimed = ledger.begin_sending_batch(batch, after_sent=self.sent)
            self.sent = []
            self.out += [other for other, taken in zip(batch, claimed, strict=True) if taken]
            self.started.update(batch)
            if key not in self.out:
                return False
        self.trying = key
        return True

    def accepted(self, ledger: Ledger, key: tuple[str, str, str]) -> None:
        """Record that `key` was delivered: now, or with the next batch's `sending` when deferring."""
        accepted_at = now()
        if self.defer:
            self.sent.append((key, accepted_at))
        else:
            ledger.mark_sent(*key, sent_at=accepted_at)

    def tried(self, key: tuple[str, str, str]) -> None:
        """Note that a letter's try is over (its outcome recorded, or to be committed with the next batch)."""
        self.out.remove(key)
        self.trying = None

    def flush(self, ledger: Ledger) -> None:
        """Commit the deferred `sent` marks, and put letters marked `sending` but never tried back in the queue
        (at the end of the run, or before it stops on an error); a letter whose try was under way stays `sending`."""
        ledger.end_batch(sent=self.sent, untried=[key for key in self.out if key != self.trying])
        self.sent = []
        self.out = [key for key in self.out if key == self.trying]


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
    meanwhile: _Once,
    pending: _Pending,
) -> Outcome:
    """Return what one try at a queued letter came to: begin_sending → the channel's attempt → mark_*.

    `meanwhile` (building the next letter's message) runs once: the channel calls it while the far end digests
    this message, or it runs here after. The letter is marked `sending` with its batch (group commit), and the
    previous batch's deferred `sent` marks in the same transaction. A far end lost before the message went
    (SourceError) defers the letter (it cannot have arrived: issue 12 item 7) and is raised on.
    """
    item, key = current.item, current.key
    if current.ready is None:
        result.skipped[f"{ALREADY_SENT} ({current.state})"] += 1
        meanwhile()
        return Outcome.failed(current.state)
    if not pending.begin(ledger, key):  # another run (a shared log, another machine) took it since this one queued it
        result.skipped[TAKEN] += 1
        meanwhile()
        return Outcome.failed(TAKEN)
    try:
        outcome = channel.deliver(current.ready, meanwhile)
    except SourceError as lost:
        _record(Outcome.retry(str(lost)), ledger, key, item, result, report, pending)
        raise
    _record(outcome, ledger, key, item, result, report, pending)
    meanwhile()
    return outcome


def _record(
    outcome: Outcome,
    ledger: Ledger,
    key: tuple[str, str, str],
    item: Planned[Any],
    result: Result,
    report: Report | None,
    pending: _Pending,
) -> None:
    """Record a try's outcome in the log and in the run's result, and report it."""
    letter = item.letter
    pending.tried(key)
    result.deferred.pop(letter.letter_id, None)
    if outcome.verdict == Verdict.SENT:
        pending.accepted(ledger, key)
        result.sent.append(letter.letter_id)
    elif outcome.verdict == Verdict.UNCERTAIN:
        ledger.mark_uncertain(*key, f"{outcome.reason}: the server may have accepted it")
        result.uncertain.append(letter.letter_id)
    elif outcome.verdict == Verdict.RETRY:
        ledger.mark_deferred(*key, outcome.reason)
        result.deferred[letter.letter_id] = Failure(
            letter.letter_id, letter.member_id, letter.recipient, outcome.reason, State.DEFERRED
        )
    else:
        ledger.mark_failed(*key, outcome.reason)
        result.failures.append(Failure(letter.letter_id, letter.member_id, letter.recipient, outcome.reason))
    if report:
        report(outcome.verdict, item, outcome.reason)


def _write_failures(outbox: Path, result: Result) -> None:
    """Write OUTBOX/failures.csv listing this run's failures and the letters still deferred; remove an old one."""
    path = outbox / FAILURES_FILE
    listed = [*result.failures, *result.deferred.values()]
    if not listed:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    buffer = io.StringIO()
    writer = Writer(buffer)
    writer.writerow(FAILURE_COLUMNS)
    for failure in listed:
        writer.writerow((failure.letter_id, failure.member_id, failure.recipient, failure.reason, failure.state))
    write_atomically(path, lambda stream: stream.write(buffer.getvalue().encode("utf-8")))


# -- a whole run -----------------------------------------------------------------------------------------------


def dry_run(
    outbox: Path,
    campaign: str,
    letters: Sequence[Letter[Message]],
    *,
    limit: int | None = None,
    resend_uncertain: bool = False,
    other_log: bool = False,
) -> Plan[Message]:
    """Return what a run would do, reading the log if there is one; delivers nothing and writes nothing."""
    if not Ledger.exists_default():
        bind_outbox(outbox, None, other_log=other_log, record=False)
        return plan(outbox, campaign, letters, None, limit=limit, resend_uncertain=resend_uncertain)
    with Ledger.open_default() as ledger:
        bind_outbox(outbox, ledger, other_log=other_log, record=False)
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
    other_log: bool = False,
    confirm: Callable[[Plan[Message]], object] | None = None,
    report: Report | None = None,
    backoff_scale: float = 1.0,
) -> tuple[Plan[Message], Result]:
    """Return the plan and the result of delivering letters by a channel: the whole run under the send lock.

    `confirm` is called with the plan before anything is sent (it raises to stop the run). The lock is this home's;
    on a team's shared log, runs elsewhere are kept apart by the log itself (conditional moves and leases, which a
    thread renews while the run lives).
    """
    with send_lock(), Ledger.open_default() as ledger, ledger.keeping_leases():
        bind_outbox(outbox, ledger, other_log=other_log, record=False)
        settled = ledger.settle_interrupted()
        planned = plan(outbox, campaign, letters, ledger, limit=limit, resend_uncertain=resend_uncertain)
        if planned.to_send and confirm is not None:
            confirm(planned)
        if planned.to_send:
            bind_outbox(outbox, ledger, other_log=other_log, record=True)
        try:
            result = deliver(
                planned, ledger, channel, per_minute=per_minute, report=report, backoff_scale=backoff_scale
            )
        except LedgerError as exc:  # a full disk or a failing log stops the run: say how far it got
            raise LedgerError(f"{exc}; {_progress(planned, ledger)}") from None
    result.settled = [contact.letter_id for contact in settled]
    return planned, result


def _progress(planned: Plan[Any], ledger: Ledger) -> str:
    """Return what the log says of a run that stopped part-way: of its letters, how many went, are in doubt, are left.

    The log, not the run's memory, is asked: it is what the next run acts on.
    """
    keys = {(item.letter.letter_id, item.letter.channel) for item in planned.to_send}
    try:
        found = [c for c in ledger.contacts(campaign=planned.campaign) if (c.letter_id, c.channel) in keys]
    except LedgerError:
        return "the contact log cannot be read to say how far the run got"
    states = Counter(contact.state for contact in found)
    doubt = states[State.SENDING] + states[State.UNCERTAIN]
    return (
        f"of this run's {len(keys)} letters, {states[State.SENT]} sent"
        + (f", {doubt} in doubt (may have arrived; shown as uncertain, never sent again unasked)" if doubt else "")
        + f", {len(keys) - states[State.SENT] - doubt} not sent: fix that, then run 'outreach send' again for the rest"
    )
