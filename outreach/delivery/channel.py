"""The contract between a channel (a way of getting a letter to a member) and the run that drives it.

A channel is one module in `outreach.delivery`, with two parts:

- a reader that turns the outbox's manifest into `Letter`s before anything is sent: every row checked, every message
  built, and for a row that cannot go by this channel the reason (`email.read_manifest`: "no e-mail address");
- a class that implements `Channel`: get ready (connect, log in), fix a reference the log keeps before the first
  attempt (an e-mail's Message-ID), build the message as it goes out, deliver it once and say what happened as an
  `Outcome` value, close.

Everything else is `outreach.delivery.run`'s, the same for every channel: the plan (what the contact log shows sent,
suppressed or uncertain; --limit), the send lock, queueing with the reference fixed, the per-minute cap, retries with
the channel's backoff, settling an interrupted run, failures.csv. A channel never touches the log, and the run never
knows SMTP: a postal channel is a new module here, not a copy of the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

Message = TypeVar("Message")  # what a channel delivers: an e-mail, a print job
Message_contra = TypeVar("Message_contra", contravariant=True)
Ready = TypeVar("Ready")  # a message ready to go out: built with its reference and the moment it goes


class Verdict(StrEnum):
    """What one attempt at a letter came to; the run records it in the contact log."""

    SENT = "sent"  # delivered (the server accepted it)
    FAILED = "failed"  # refused for good: recorded failed, listed in failures.csv, tried again by the next run
    UNCERTAIN = "uncertain"  # it may have arrived (the answer was lost): never resent without --resend-uncertain
    RETRY = "deferred"  # it cannot have arrived and may go later: recorded deferred, tried again after a backoff


@dataclass(frozen=True)
class Outcome:
    """One attempt's verdict with its reason (empty when sent), as a value rather than an exception.

    A deferral may carry the pause the far end asked for (`wait`, seconds) and whether it said the run goes too fast
    (`throttled`: the whole run pauses and slows down, not only this letter).
    """

    verdict: Verdict
    reason: str = ""
    wait: float | None = None
    throttled: bool = False

    @classmethod
    def sent(cls) -> Outcome:
        """Return the outcome of a delivered letter."""
        return cls(Verdict.SENT)

    @classmethod
    def failed(cls, reason: str) -> Outcome:
        """Return the outcome of a letter refused for good, with the reason."""
        return cls(Verdict.FAILED, reason)

    @classmethod
    def uncertain(cls, reason: str) -> Outcome:
        """Return the outcome of a letter that may have arrived, with the reason."""
        return cls(Verdict.UNCERTAIN, reason)

    @classmethod
    def retry(cls, reason: str, *, wait: float | None = None, throttled: bool = False) -> Outcome:
        """Return the outcome of a letter that cannot have arrived but may later, with the reason and any pause."""
        return cls(Verdict.RETRY, reason, wait, throttled)


@dataclass(frozen=True)
class Letter(Generic[Message]):
    """One manifest row as a channel reads it: what the contact log records, and the message, if it can go."""

    line: int  # in manifest.csv
    letter_id: str
    member_id: int
    name: str
    recipient: str  # where this channel takes it (an e-mail address); empty when it cannot go this way
    asks: tuple[str, ...]
    content_sha256: str  # SHA-256 hex of the letter as drafted (the outbox's Markdown file)
    channel: str  # the contact log's channel: email, post or other
    message: Message | None  # None: it cannot go by this channel, for the reason in `unsendable`
    unsendable: str = ""


class Channel(Protocol[Message_contra, Ready]):
    """A way of delivering letters, driven by `outreach.delivery.run.deliver`."""

    name: str  # the contact log's channel (ledger.CHANNELS)
    attempts: int  # attempts at one letter within a run while it answers RETRY; then it is left deferred
    backoff_seconds: tuple[float, ...]  # the pause before each retry, unless the far end asks for one (last repeats)

    def open(self) -> None:
        """Get ready to deliver (connect, log in), if not already; SourceError when the far end cannot be reached."""

    def expect(self, messages: Sequence[Message_contra]) -> None:
        """Hear which messages an uncapped run will deliver, in order, before the first: a channel may get them
        ready meanwhile (e-mail encodes them ahead in a second process)."""

    def new_reference(self, message: Message_contra) -> str:
        """Return a new reference for a message, fixed in the log before the first attempt and kept on every retry."""

    def prepare(self, message: Message_contra, reference: str) -> Ready:
        """Return the message as it goes out, carrying its reference; OutreachError if it cannot be built."""

    def deliver(self, ready: Ready, meanwhile: Callable[[], None]) -> Outcome:
        """Return what one attempt at delivering the message came to; never raise for the letter's own failure.

        `meanwhile` (the run building the next message) may be called once while the far end digests this one.
        """

    def close(self) -> None:
        """Say goodbye and let go of any connection."""
