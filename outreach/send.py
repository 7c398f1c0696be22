"""Sending: e-mail an outbox's letters over SMTP, driven by the contact log so that no letter goes twice.

A run reads OUTBOX/manifest.csv, checks every row and builds every letter's e-mail before the first is sent (a bad
row stops the run with one line naming manifest.csv:line, before anything has gone), then, holding an exclusive lock
file for the whole run, moves each letter through the log's state machine:

    enqueue, the whole run in one transaction (Message-IDs fixed) → begin_sending (committed) → SMTP transaction
    → mark_sent | mark_failed | mark_uncertain

Uncapped (--per-minute 0), a letter's mark_sent is committed in the same transaction as the next letter's
begin_sending: one fsync a letter instead of two, and still never more than one row in `sending`.

The SMTP transaction is split at the one moment that matters: the end of DATA. A failure before the message's
final "." has been handed to the socket (a 4xx reply, a dropped connection, a timeout) cannot have delivered it,
so the letter is retried with backoff on a fresh connection. Once the whole message is out, only the server's
reply says whether it was accepted; if the connection is lost waiting for that reply the letter may have been
delivered, so it is left `uncertain` and never resent without `--resend-uncertain`. A process killed anywhere
leaves at most the one letter it was sending in `sending`, which the next run turns into `uncertain`.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import hashlib
import io
import os
import re
import smtplib
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from outreach import ledger as ledger_module
from outreach import outbox as outboxes
from outreach import settings
from outreach.campaign import Campaign
from outreach.errors import DataError, OutreachError, SourceError
from outreach.files import write_atomically
from outreach.ledger import CHANNELS, Contact, Ledger, Queued
from outreach.render.email import Email, new_message_id

CHANNEL = "email"
LOCK_FILE = "send.lock"
FAILURES_FILE = "failures.csv"
FAILURE_COLUMNS = ("letter_id", "member_id", "email", "reason")
REQUIRED_COLUMNS = ("letter_id", "member_id", "name", "salutation", "email", "asks", "markdown", "subject", "campaign")
DEFAULT_PER_MINUTE = 30
# Attempts at one letter within a run, and the pause before each retry: a greylisting server (451) or a dropped
# connection usually recovers within seconds; a letter still failing after these is recorded failed and retried
# by the next run.
ATTEMPTS = 4
BACKOFF_SECONDS = (0.25, 1.0, 4.0)
TIMEOUT_SECONDS = 60.0

# Reasons a letter is not sent this run, as the summary names them.
NO_EMAIL = "no e-mail address"
SUPPRESSED = "suppressed (opted out)"
ALREADY_SENT = "already sent"
UNCERTAIN = "uncertain, may have arrived"
OVER_LIMIT = "beyond --limit"


@dataclass(frozen=True)
class Outgoing:
    """One manifest row with an e-mail address: the letter, its checked e-mail and what the log records."""

    line: int
    letter_id: str
    member_id: int
    name: str
    email: str
    asks: tuple[str, ...]
    content_sha256: str
    message: Email | None  # None for a row without an e-mail address (a letter for the post)


@dataclass(frozen=True)
class Planned:
    """A letter this run will send; `resend` when it was uncertain and --resend-uncertain asked for it again."""

    letter: Outgoing
    message: Email
    resend: bool = False


@dataclass
class Plan:
    """What a run will do: the letters to send, in manifest order, and the ones it leaves, with the reason."""

    outbox: Path
    campaign: str
    to_send: list[Planned]
    skipped: list[tuple[Outgoing, str]]


@dataclass(frozen=True)
class Failure:
    """A letter the server refused, or that kept failing: the row of failures.csv."""

    letter_id: str
    member_id: int
    email: str
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
        rows: list[tuple[str, int]] = [("sent", len(self.sent)), ("failed", len(self.failures))]
        if self.uncertain:
            rows.append(("uncertain (reply lost)", len(self.uncertain)))
        rows.extend((f"skipped: {reason}", count) for reason, count in sorted(self.skipped.items()))
        return rows


# -- the manifest ----------------------------------------------------------------------------------------------


def read_manifest(outbox: Path, campaign: Campaign) -> list[Outgoing]:
    """Return the outbox's letters, every row checked and every e-mail built; DataError names manifest.csv:line."""
    sender = campaign.sender
    letters: list[Outgoing] = []
    for row in outboxes.read_manifest(outbox, REQUIRED_COLUMNS):
        cells, line = row.cells, row.line
        where = f"{row.where} (letter {row.letter_id})"
        if cells["campaign"].strip() != campaign.id:
            raise DataError(
                f"{where}: drafted for campaign {cells['campaign']!r}, not {campaign.id!r} ({campaign.file}); "
                "use --campaign for the campaign folder it was drafted from"
            )
        if not cells["email"].strip():
            letters.append(Outgoing(line, row.letter_id, row.member_id, cells["name"], "", row.asks, "", None))
            continue
        if not sender.email.strip():
            raise DataError(f"{campaign.file}: [sender] email is empty: set the address the letters are e-mailed from")
        if not sender.signed:
            raise DataError(str(sender.unsigned()))
        if "unsigned" in cells.get("flags", "").split(";"):
            raise DataError(f"{where}: the letter was drafted unsigned: draft it again now that a person signs")
        markdown_path = row.file("markdown")
        if markdown_path is None:
            raise DataError(f"{where}: no markdown file for a letter with an e-mail address (draft with --format md)")
        try:
            markdown_bytes = markdown_path.read_bytes()
        except OSError as exc:
            raise DataError(f"{where}: cannot read the letter {markdown_path} ({exc.strerror})") from None
        pdf = row.file("pdf")
        if pdf is not None and not pdf.is_file():
            raise DataError(f"{where}: the letter's PDF {pdf} is missing")
        enclosures = row.files("enclosures")
        for enclosure in enclosures:
            if not enclosure.is_file():
                raise DataError(f"{where}: the enclosure {enclosure} is missing")
        try:
            markdown = markdown_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{where}: {markdown_path} is not UTF-8 text") from None
        message = Email.from_letter(
            letter_id=row.letter_id,
            sender_name=sender.organisation,
            sender_address=sender.email,
            recipient_name=cells["name"],
            recipient_address=cells["email"],
            subject=cells["subject"],
            salutation=cells["salutation"],
            markdown=markdown,
            attachment=pdf,
            where=where,
            enclosures=enclosures,
        )
        letters.append(
            Outgoing(
                line=line,
                letter_id=row.letter_id,
                member_id=row.member_id,
                name=message.recipient_name,
                email=message.recipient_address,
                asks=row.asks,
                content_sha256=hashlib.sha256(markdown_bytes).hexdigest(),
                message=message,
            )
        )
    return letters


# -- planning --------------------------------------------------------------------------------------------------


def plan(
    outbox: Path,
    campaign: str,
    letters: Sequence[Outgoing],
    ledger: Ledger | None,
    *,
    limit: int | None = None,
    resend_uncertain: bool = False,
) -> Plan:
    """Return what a run will send, in manifest order, and what it leaves, with the reason (read-only)."""
    suppressed = ledger.suppressed_ids() if ledger is not None else frozenset()
    logged = {(c.letter_id, c.channel): c for c in ledger.contacts(campaign=campaign)} if ledger is not None else {}
    result = Plan(outbox=outbox, campaign=campaign, to_send=[], skipped=[])
    for letter in letters:
        if letter.message is None:
            result.skipped.append((letter, NO_EMAIL))
            continue
        if letter.member_id in suppressed:
            result.skipped.append((letter, SUPPRESSED))
            continue
        resend = False
        if ledger is not None:
            reason = None
            for channel in CHANNELS:
                contact = logged.get((letter.letter_id, channel))
                if contact is None:
                    continue
                # A row still `sending` belongs to a run that died: it becomes uncertain when the next run starts.
                if contact.state in ("uncertain", "sending") and channel == CHANNEL:
                    if resend_uncertain:
                        resend = True
                    else:
                        reason = UNCERTAIN
                elif contact.state in ("sent", "uncertain", "sending"):
                    reason = ALREADY_SENT if channel == CHANNEL else f"{ALREADY_SENT} by {channel}"
            if reason is not None:
                result.skipped.append((letter, reason))
                continue
        if limit is not None and len(result.to_send) >= limit:
            result.skipped.append((letter, OVER_LIMIT))
            continue
        result.to_send.append(Planned(letter, letter.message, resend))
    return result


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


# -- SMTP ------------------------------------------------------------------------------------------------------


class Transient(Exception):
    """The server did not take the message and may later: a 4xx reply, or a failure before the end of DATA."""


class Permanent(Exception):
    """The server refused the message for good (a 5xx reply)."""


class Uncertain(Exception):
    """The whole message was sent but the server's reply never came: it may have been delivered."""


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {' '.join(text.split())}".strip()


_CRLF = re.compile(rb"\r\n|\r|\n")


def _login(connection: smtplib.SMTP, user: str, password: str) -> None:
    """Log in once, with the best mechanism the server offers (PLAIN, then LOGIN, then what smtplib picks).

    smtplib's login() tries each mechanism in turn after a refusal, so one wrong password would count as several
    failed logins against the account's lockout, and some servers lose step on the second attempt.
    """
    connection.ehlo_or_helo_if_needed()
    offered = connection.esmtp_features.get("auth", "").upper().split()
    connection.user, connection.password = user, password
    for mechanism, answer in (("PLAIN", connection.auth_plain), ("LOGIN", connection.auth_login)):
        if mechanism in offered:
            connection.auth(mechanism, answer)
            return
    connection.login(user, password)


def _wire(data: bytes) -> bytes:
    """Return a message as DATA carries it: CRLF line ends, leading dots doubled, ended by CRLF "." CRLF.

    RFC 5321 4.5.2. The messages built here already have CRLF line ends, so three counts (in C) skip the
    regular expression, and bytes.replace doubles the dots: a regular expression over a 40 kB message costs a
    quarter of a millisecond, a fifth of a letter's time when sending uncapped.
    """
    line_feeds = data.count(b"\n")
    if line_feeds != data.count(b"\r") or line_feeds != data.count(b"\r\n"):
        data = _CRLF.sub(b"\r\n", data)
    data = data.replace(b"\n.", b"\n..")
    if data.startswith(b"."):
        data = b"." + data
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


class Mailer:
    """One SMTP connection, opened on demand and reused for every letter; reconnects after a failure."""

    def __init__(self, smtp: settings.SmtpSettings, timeout: float = TIMEOUT_SECONDS) -> None:
        self.settings = smtp
        self.timeout = timeout
        self._connection: smtplib.SMTP | None = None

    def connect(self) -> None:
        """Open the connection (TLS and login as configured); SourceError names the server, never the password."""
        if self._connection is not None:
            return
        smtp = self.settings
        connection: smtplib.SMTP | None = None
        try:
            if smtp.security == "ssl":
                connection = smtplib.SMTP_SSL(
                    smtp.host, smtp.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                connection = smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout)
            connection.ehlo()
            if smtp.security == "starttls":
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if smtp.user:
                _login(connection, smtp.user, smtp.password)
        except smtplib.SMTPAuthenticationError as exc:
            self._discard(connection)
            raise SourceError(
                f"SMTP {smtp.describe()}: login refused ({_reply_text(exc.smtp_code, exc.smtp_error)}); "
                "check OUTREACH_SMTP_USER and OUTREACH_SMTP_PASSWORD"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            self._discard(connection)
            raise SourceError(f"SMTP {smtp.describe()}: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            self._discard(connection)
            raise SourceError(
                f"SMTP {smtp.describe()}: refused the connection ({_reply_text(exc.smtp_code, exc.smtp_error)})"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._discard(connection)
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise SourceError(f"SMTP {smtp.describe()}: cannot connect ({reason})") from None
        self._connection = connection

    @staticmethod
    def _discard(connection: smtplib.SMTP | None) -> None:
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.quit()
            self._discard(connection)

    def drop(self) -> None:
        """Close the connection without a goodbye (it failed; the next letter reconnects)."""
        connection, self._connection = self._connection, None
        self._discard(connection)

    def transact(self, sender: str, recipients: Sequence[str], data: bytes) -> None:
        """Send one message; raise Transient, Permanent or Uncertain by where and how it failed.

        smtplib's sendmail() cannot tell a failure before the end of DATA from one after it, so the transaction
        is spelled out: MAIL, RCPT, DATA, the body with its final ".", then the one reply that decides.
        """
        self.start(sender, recipients, data)
        self.finish()

    def start(self, sender: str, recipients: Sequence[str], data: bytes) -> None:
        """Send MAIL, RCPT, DATA and the whole message; the server's verdict is left for finish() to read.

        Raises Transient or Permanent: up to here the server cannot have accepted the message.
        """
        self.connect()
        connection = self._connection
        assert connection is not None
        commands: list[tuple[str, str, tuple[int, ...]]] = [("MAIL FROM", f"MAIL FROM:<{sender}>", (250,))]
        commands += [(f"RCPT TO <{recipient}>", f"RCPT TO:<{recipient}>", (250, 251)) for recipient in recipients]
        commands.append(("DATA", "DATA", (354,)))
        try:
            replies: list[tuple[int, bytes]] = []
            if connection.has_extn("pipelining"):
                # RFC 2920: the envelope goes in one write and its replies are read together: one round trip
                # instead of one per command. (The addresses were checked: no spaces, no line breaks.)
                connection.send("".join(f"{line}\r\n" for _, line, _ in commands))
                replies = [connection.getreply() for _ in commands]
            else:
                for _, line, accepted in commands:
                    connection.putcmd(line)
                    replies.append(connection.getreply())
                    if replies[-1][0] not in accepted:
                        break
            for (stage, _, accepted), (code, reply) in zip(commands, replies, strict=False):
                if code not in accepted:
                    if replies[-1][0] == 354:
                        # A server that took DATA after refusing a recipient would deliver whatever follows to the
                        # others; there is no way to cancel DATA but to hang up, which discards the message.
                        self.drop()
                    self._refused(code, reply, stage)
            connection.send(_wire(data))
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # The final "." was not handed to the socket, so the server cannot have accepted the message.
            self.drop()
            raise Transient(f"connection lost before the message was complete ({exc or type(exc).__name__})") from None

    def finish(self) -> None:
        """Read the reply to the end of DATA: accepted, or Transient / Permanent; Uncertain if it never comes."""
        connection = self._connection
        if connection is None:
            raise Uncertain("connection lost after the message was sent, before the server's reply")
        try:
            code, reply = connection.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.drop()
            raise Uncertain(
                f"connection lost after the message was sent, before the server's reply ({exc or type(exc).__name__})"
            ) from None
        if code != 250:
            self._refused(code, reply, "end of DATA")

    def _refused(self, code: int, reply: bytes, stage: str) -> None:
        """Raise Transient for 4xx, Permanent for 5xx (and any other unexpected reply), leaving a usable session."""
        reason = f"{stage}: {_reply_text(code, reply)}"
        if 400 <= code < 500:
            # Start the next attempt on a fresh connection: after a 421 the server has closed this one anyway.
            self.drop()
            raise Transient(reason)
        connection = self._connection
        try:
            if connection is not None:
                connection.rset()
        except (smtplib.SMTPException, OSError):
            self.drop()
        raise Permanent(reason)


# -- the run ---------------------------------------------------------------------------------------------------

Report = Callable[[str, Planned, str], None]


def deliver(
    planned: Plan,
    ledger: Ledger,
    mailer: Mailer,
    *,
    per_minute: int = DEFAULT_PER_MINUTE,
    bcc_self: bool = False,
    report: Report | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Result:
    """Send the planned letters, recording each step in the log; write OUTBOX/failures.csv; return what happened.

    The caller holds the send lock and has called ledger.settle_interrupted(). SourceError (exit 3) when the
    server cannot be reached at the start, or stops answering mid-run (the letter in hand is recorded failed).
    """
    result = Result()
    result.skipped.update(reason for _, reason in planned.skipped)
    if not planned.to_send:
        _write_failures(planned.outbox, result.failures)
        return result
    mailer.connect()  # an unreachable server stops the run here, before any letter is touched
    interval = 60.0 / per_minute if per_minute > 0 else 0.0
    contacts = _queue_all(planned, ledger)
    # Uncapped, a letter's `sent` is committed with the next letter's `sending`, one commit a letter (at most one
    # row is ever `sending`, so a crash still leaves at most one letter uncertain). Capped, there is time to spare
    # and each is committed at once, so no accepted letter waits out the interval still `sending`.
    pending = _Pending(defer=not interval)
    last_start: float | None = None
    # Uncapped, the next letter's message is built while the server digests the current one (see _send_one).
    # With a cap there is time to spare, and each message's Date stays the moment it is sent.
    ahead: _Ready | OutreachError | None = None
    try:
        for index, (item, contact) in enumerate(zip(planned.to_send, contacts, strict=True)):
            if interval and last_start is not None:
                wait = last_start + interval - time.monotonic()
                if wait > 0:
                    sleep(wait)
            last_start = time.monotonic()
            if isinstance(ahead, OutreachError):
                raise ahead
            current = ahead if ahead is not None else _ready(planned, item, contact, bcc_self)
            ahead = None
            following = index + 1 if index + 1 < len(planned.to_send) else None

            def prepare_following(following: int | None = following) -> None:
                nonlocal ahead
                if following is not None and not interval:
                    try:
                        ahead = _ready(planned, planned.to_send[following], contacts[following], bcc_self)
                    except OutreachError as exc:  # raised at the next letter's turn, not in this one's transaction
                        ahead = exc

            _send_one(current, ledger, mailer, result, report, sleep, prepare_following, pending)
    finally:
        try:
            pending.flush(ledger)
        finally:
            mailer.close()
            _write_failures(planned.outbox, result.failures)
    return result


@dataclass
class _Pending:
    """The last letter the server accepted, whose `sent` has not been committed yet (uncapped runs only)."""

    defer: bool
    sent: tuple[tuple[str, str, str], datetime] | None = None

    def accepted(self, ledger: Ledger, key: tuple[str, str, str]) -> None:
        """Record that the server accepted `key`: now, or with the next letter's `sending` when deferring."""
        accepted_at = ledger_module.now()
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


@dataclass(frozen=True)
class _Ready:
    """A letter queued in the log with its Message-ID fixed, and its message built as it goes on the wire."""

    item: Planned
    key: tuple[str, str, str]
    data: bytes | None  # None: the log's row is not in a state to send (it says which)
    recipients: tuple[str, ...]
    state: str


def _queue_all(planned: Plan, ledger: Ledger) -> list[Contact]:
    """Return the log's row of every letter to send, queued in one transaction with its Message-ID fixed.

    A Message-ID, once in the log, is kept on every retry and on a resend of an uncertain letter.
    """
    for item in planned.to_send:
        if item.resend:
            current = ledger.contact(planned.campaign, item.letter.letter_id, CHANNEL)
            if current is not None and current.state == "uncertain":
                ledger.requeue_uncertain(planned.campaign, item.letter.letter_id, CHANNEL)
    return ledger.enqueue_all(
        [
            Queued(
                campaign=planned.campaign,
                letter_id=item.letter.letter_id,
                channel=CHANNEL,
                member_id=item.letter.member_id,
                name=item.letter.name,
                recipient=item.letter.email,
                asks=item.letter.asks,
                content_sha256=item.letter.content_sha256,
                message_id=new_message_id(item.message.sender_address),
            )
            for item in planned.to_send
        ]
    )


def _ready(planned: Plan, item: Planned, contact: Contact, bcc_self: bool) -> _Ready:
    """Return a queued letter with its bytes built for the wire, using the Message-ID its log row holds."""
    message = item.message
    key = (planned.campaign, item.letter.letter_id, CHANNEL)
    recipients = [message.recipient_address]
    if bcc_self and message.sender_address.lower() != message.recipient_address.lower():
        recipients.append(message.sender_address)  # envelope only: no Bcc header, so the MP sees none
    if contact.state not in ("queued", "failed") or contact.message_id is None:
        # Another run got here first (the lock makes this unexpected), or a row written by hand: leave it be.
        return _Ready(item, key, None, tuple(recipients), contact.state)
    data = message.as_bytes(contact.message_id, datetime.now(UTC))
    return _Ready(item, key, data, tuple(recipients), contact.state)


def _send_one(
    ready: _Ready,
    ledger: Ledger,
    mailer: Mailer,
    result: Result,
    report: Report | None,
    sleep: Callable[[float], None],
    meanwhile: Callable[[], None],
    pending: _Pending,
) -> None:
    """Take one queued letter through begin_sending → SMTP → mark_sent | mark_failed | mark_uncertain.

    `meanwhile` (building the next letter's message) runs once, between handing the server the whole message
    and reading its verdict, while the server digests it. The previous letter's deferred `sent` is committed in
    the same transaction as this one's `sending`.
    """
    item, key = ready.item, ready.key
    letter = item.letter
    if ready.data is None:
        result.skipped[f"{ALREADY_SENT} ({ready.state})"] += 1
        meanwhile()
        return
    ledger.begin_sending(*key, after_sent=pending.sent)
    pending.sent = None
    attempt = 1
    waiting: Callable[[], None] | None = meanwhile
    while True:
        try:
            mailer.start(item.message.sender_address, ready.recipients, ready.data)
            if waiting is not None:
                run_now = waiting
                waiting = None
                run_now()
            mailer.finish()
        except Transient as exc:
            if attempt >= ATTEMPTS:
                _fail(ledger, key, letter, f"{exc} (after {ATTEMPTS} attempts)", result, report, item)
                break
            if report:
                report("retry", item, str(exc))
            sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1])
            attempt += 1
            try:
                mailer.connect()
            except SourceError as lost:
                _fail(ledger, key, letter, str(lost), result, report, item)
                raise SourceError(f"{lost}; {len(result.sent)} sent this run: run send again to continue") from None
            continue
        except Permanent as exc:
            _fail(ledger, key, letter, str(exc), result, report, item)
        except Uncertain as exc:
            ledger.mark_uncertain(*key, f"{exc}: the server may have accepted it")
            result.uncertain.append(letter.letter_id)
            if report:
                report("uncertain", item, str(exc))
        else:
            pending.accepted(ledger, key)
            result.sent.append(letter.letter_id)
            if report:
                report("sent", item, "")
        break
    if waiting is not None:
        waiting()


def _fail(
    ledger: Ledger,
    key: tuple[str, str, str],
    letter: Outgoing,
    reason: str,
    result: Result,
    report: Report | None,
    item: Planned,
) -> None:
    ledger.mark_failed(*key, reason)
    result.failures.append(Failure(letter.letter_id, letter.member_id, letter.email, reason))
    if report:
        report("failed", item, reason)


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
        writer.writerow((failure.letter_id, failure.member_id, failure.email, failure.reason))
    write_atomically(path, lambda stream: stream.write(buffer.getvalue().encode("utf-8")))


def dry_run(outbox: Path, campaign: Campaign, *, limit: int | None = None, resend_uncertain: bool = False) -> Plan:
    """Return what `send` would do, reading the log if there is one; sends nothing and writes nothing."""
    letters = read_manifest(outbox, campaign)
    if not Ledger.exists_default():
        return plan(outbox, campaign.id, letters, None, limit=limit, resend_uncertain=resend_uncertain)
    with Ledger.open_default() as ledger:
        return plan(outbox, campaign.id, letters, ledger, limit=limit, resend_uncertain=resend_uncertain)


def send_outbox(
    outbox: Path,
    campaign: Campaign,
    smtp: settings.SmtpSettings,
    *,
    limit: int | None = None,
    per_minute: int = DEFAULT_PER_MINUTE,
    bcc_self: bool = False,
    resend_uncertain: bool = False,
    confirm: Callable[[Plan], object] | None = None,
    report: Report | None = None,
) -> tuple[Plan, Result]:
    """Return the plan and the result of sending an outbox: the whole run under the send lock.

    `confirm` is called with the plan before anything is sent (it raises to stop the run).
    """
    letters = read_manifest(outbox, campaign)
    with send_lock(), Ledger.open_default() as ledger:
        settled = ledger.settle_interrupted()
        planned = plan(outbox, campaign.id, letters, ledger, limit=limit, resend_uncertain=resend_uncertain)
        if planned.to_send and confirm is not None:
            confirm(planned)
        result = deliver(planned, ledger, Mailer(smtp), per_minute=per_minute, bcc_self=bcc_self, report=report)
    result.settled = [contact.letter_id for contact in settled]
    return planned, result
