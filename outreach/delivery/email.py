"""E-mail over SMTP, the first delivery channel: an outbox's letters as e-mails, and the Mailer that sends them.

`read_manifest` checks every row of OUTBOX/manifest.csv and builds every letter's e-mail before the first is sent;
`Mailer` implements `outreach.delivery.channel.Channel`, and `outreach.delivery.run` drives it through the contact
log (`dry_run` and `send_outbox` below put the two together for `outreach send`).

The SMTP transaction is split at the one moment that matters: the end of DATA. A failure before the message's
final "." has been handed to the socket (a 4xx reply, a dropped connection, a timeout) cannot have delivered it,
so the attempt's outcome is RETRY: the letter is deferred and the run comes back to it after a backoff, on the same
or a fresh connection (what the server's reply asks is read by `outreach.delivery.pushback`). Only a 5xx fails a
letter (RFC 5321 4.2.1). Once the whole message is out, only the server's reply says whether it was accepted; if
the connection is lost waiting for that reply the letter may have been delivered, so the outcome is UNCERTAIN and
the letter is never resent without `--resend-uncertain`. Logging in (TLS, the clear-text rule, XOAUTH2) is
`outreach.delivery.login`'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from outreach import forked, limits, settings
from outreach import outbox as outboxes
from outreach.campaign import Campaign
from outreach.delivery import login, pushback, run
from outreach.delivery.ahead import Ahead
from outreach.delivery.channel import Letter, Outcome
from outreach.errors import DataError, SourceError
from outreach.render.email import Email, Signature, new_message_id

CHANNEL = "email"
REQUIRED_COLUMNS = ("letter_id", "member_id", "name", "salutation", "email", "asks", "markdown", "subject", "campaign")
# Tries at one letter within a run, and the pause after each "not now" unless the server asks for a longer one.
# Greylisting lets a recipient's mail through after a few minutes (postgrey's default is 300 s), so the pauses
# reach past five minutes by the fourth try; a letter still deferred after these stays deferred for the next run.
ATTEMPTS = 6
BACKOFF_SECONDS: tuple[float, ...] = (10.0, 60.0, 120.0, 240.0, 480.0)
TIMEOUT_SECONDS = 60.0
NO_EMAIL = "no e-mail address"  # why a row without an address is not sent (a letter for the post)
SECURITY_VARIABLE = settings.SMTP_VARIABLES["security"]


# -- the manifest ----------------------------------------------------------------------------------------------


# An outbox of at least this many letters is checked by two processes (`outreach.forked`) where there are two cores.
PARALLEL_READ_LETTERS = 64


def read_manifest(outbox: Path, campaign: Campaign) -> list[Letter[Email]]:
    """Return the outbox's letters, every row checked and every e-mail built; DataError names manifest.csv:line.

    The rows' own checks (reading each letter, checking its PDF opens, building its e-mail) are shared with a
    second process on two cores; the first row at fault is named either way.
    """
    sender = campaign.sender
    signature = Signature(
        name=sender.signatory_name,
        role=sender.signatory_role,
        organisation=sender.organisation,
        address_lines=sender.address_lines,
        phone=sender.phone,
        email=sender.reply_address,
        website=sender.website,
    )
    rows = outboxes.read_manifest(outbox, REQUIRED_COLUMNS)
    return forked.map_halves(
        lambda row: _letter(row, campaign, signature),
        rows,
        minimum=PARALLEL_READ_LETTERS,
        what=f"checking {outbox / outboxes.MANIFEST}",
    )


def _letter(row: outboxes.ManifestRow, campaign: Campaign, signature: Signature) -> Letter[Email]:
    """Return one manifest row as a letter to e-mail (or, without an address, one that cannot go by e-mail)."""
    sender = campaign.sender
    cells, line = row.cells, row.line
    where = f"{row.where} (letter {row.letter_id})"
    if cells["campaign"].strip() != campaign.id:
        raise DataError(
            f"{where}: drafted for campaign {cells['campaign']!r}, not {campaign.id!r} ({campaign.file}); "
            "use --campaign for the campaign folder it was drafted from"
        )
    if not cells["email"].strip():
        return Letter(line, row.letter_id, row.member_id, cells["name"], "", row.asks, "", CHANNEL, None, NO_EMAIL)
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
        markdown_bytes = limits.read_bytes(markdown_path, limits.LETTER_BYTES, "the letter", where)
    except OSError as exc:
        raise DataError(f"{where}: cannot read the letter {markdown_path} ({exc.strerror})") from None
    # The letter's PDF (if any), then the enclosures: each a PDF inside the outbox that opens, checked before
    # anything is sent. Asked once: each path's checks resolve links and open the PDF.
    attached = row.attachments()
    pdf = attached[0] if row.cells.get("pdf", "").strip() else None
    enclosures = attached[1:] if pdf is not None else attached
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
        closing=campaign.closing,
        signature=signature,
        reply_to=sender.reply_address,
    )
    return Letter(
        line=line,
        letter_id=row.letter_id,
        member_id=row.member_id,
        name=message.recipient_name,
        recipient=message.recipient_address,
        asks=row.asks,
        content_sha256=hashlib.sha256(markdown_bytes).hexdigest(),
        channel=CHANNEL,
        message=message,
    )


# -- SMTP ------------------------------------------------------------------------------------------------------


class Transient(Exception):
    """The server did not take the message and may later: a 4xx reply, or a failure before the end of DATA."""

    def __init__(self, reason: str, asked: pushback.Pushback | None = None) -> None:
        super().__init__(reason)
        self.asked = asked or pushback.Pushback(wait=None, throttled=False)


class Permanent(Exception):
    """The server refused the message for good (a 5xx reply)."""


class Uncertain(Exception):
    """The whole message was sent but the server's reply never came: it may have been delivered."""


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {' '.join(text.split())}".strip()


def _credential_variable(smtp: settings.SmtpSettings) -> str:
    """Return the environment variable that holds the credential of the login chosen."""
    return settings.SMTP_TOKEN_COMMAND_VARIABLE if smtp.auth == "xoauth2" else settings.SMTP_PASSWORD_VARIABLE


def _login(connection: smtplib.SMTP, smtp: settings.SmtpSettings) -> None:
    """Log in once: XOAUTH2 with a fresh token, or a password with the best mechanism offered (PLAIN, LOGIN, ...).

    smtplib's login() tries each mechanism in turn after a refusal, so one wrong password would count as several
    failed logins against the account's lockout, and some servers lose step on the second attempt.
    """
    connection.ehlo_or_helo_if_needed()
    offered = connection.esmtp_features.get("auth", "").upper().split()
    if smtp.auth == "xoauth2":
        if "XOAUTH2" not in offered:
            raise smtplib.SMTPNotSupportedError(
                f"the server does not offer AUTH XOAUTH2 (it offers: {' '.join(offered) or 'no AUTH'})"
            )
        initial = login.xoauth2(smtp.user, login.token(smtp.token_command, settings.SMTP_TOKEN_COMMAND_VARIABLE))
        # A refused token gets a 334 challenge (a base64 JSON error); the client answers it with an empty line and
        # the server then says 535 (Google's and Microsoft's XOAUTH2 documentation).
        connection.auth("XOAUTH2", lambda challenge=None: initial if challenge is None else "")
        return
    connection.user, connection.password = smtp.user, smtp.password
    for mechanism, answer in (("PLAIN", connection.auth_plain), ("LOGIN", connection.auth_login)):
        if mechanism in offered:
            connection.auth(mechanism, answer)
            return
    connection.login(smtp.user, smtp.password)


@dataclass(frozen=True)
class Wire:
    """An e-mail as it goes to the server: the envelope, and the message with its Message-ID and Date as DATA
    carries it (`Email.as_data`: dot-stuffed, ended by CRLF "." CRLF)."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes


class Mailer:
    """The e-mail channel: one SMTP connection, opened on demand, reused for every letter, reopened after a failure."""

    name: str = CHANNEL
    attempts: int = ATTEMPTS
    backoff_seconds: tuple[float, ...] = BACKOFF_SECONDS

    def __init__(
        self, smtp: settings.SmtpSettings, timeout: float = TIMEOUT_SECONDS, *, bcc_self: bool = False
    ) -> None:
        self.settings = smtp
        self.timeout = timeout
        self.bcc_self = bcc_self
        self._connection: smtplib.SMTP | None = None
        self._ahead: Ahead | None = None

    def expect(self, messages: Sequence[Email]) -> None:
        """Start encoding the run's messages ahead in a second process (`delivery.ahead`), when it pays."""
        if self._ahead is None:
            self._ahead = Ahead.start(messages)

    def new_reference(self, message: Email) -> str:
        """Return a new Message-ID for a letter, at the sender's domain."""
        return new_message_id(message.sender_address)

    def prepare(self, message: Email, reference: str) -> Wire:
        """Return the e-mail as it goes on the wire, with its Message-ID and this moment as its Date.

        The DATA encoding is done here rather than in start(): uncapped, the run prepares the next letter while the
        server digests the current one, so this work costs no time on the wire.
        """
        recipients = [message.recipient_address]
        if self.bcc_self and message.sender_address.lower() != message.recipient_address.lower():
            recipients.append(message.sender_address)  # envelope only: no Bcc header, so the MP sees none
        encoded = self._ahead.take(message) if self._ahead is not None else None
        data = message.as_data(reference, datetime.now(UTC), encoded)
        return Wire(message.sender_address, tuple(recipients), data)

    def deliver(self, ready: Wire, meanwhile: Callable[[], None]) -> Outcome:
        """Return what one SMTP transaction came to; `meanwhile` runs while the server digests the message."""
        try:
            self.start(ready.sender, ready.recipients, ready.data)
            meanwhile()
            self.finish()
        except Transient as exc:
            return Outcome.retry(str(exc), wait=exc.asked.wait, throttled=exc.asked.throttled)
        except Permanent as exc:
            return Outcome.failed(str(exc))
        except Uncertain as exc:
            return Outcome.uncertain(str(exc))
        return Outcome.sent()

    def open(self) -> None:
        """Open the connection (TLS and login as configured); SourceError names the server, never the credential.

        A credential bound for a host that is not loopback over an unencrypted connection is refused before any
        connection is made (DataError naming OUTREACH_SMTP_SECURITY).
        """
        if self._connection is not None:
            return
        smtp = self.settings
        login.refuse_clear_text(
            smtp.host, smtp.security, bool(smtp.user), where=f"SMTP {smtp.describe()}", variable=SECURITY_VARIABLE
        )
        context = login.tls_context(smtp.ca_file, settings.SMTP_CA_FILE_VARIABLE) if smtp.security != "none" else None
        connection: smtplib.SMTP | None = None
        try:
            if smtp.security == "ssl":
                connection = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=self.timeout, context=context)
            else:
                connection = smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout)
            connection.ehlo()
            if smtp.security == "starttls":
                # smtplib raises SMTPNotSupportedError when the server offers no STARTTLS: never a clear-text fallback.
                connection.starttls(context=context)
                connection.ehlo()
            if smtp.user:
                _login(connection, smtp)
        except smtplib.SMTPAuthenticationError as exc:
            self._discard(connection)
            raise SourceError(
                f"SMTP {smtp.describe()}: login refused ({_reply_text(exc.smtp_code, exc.smtp_error)}); "
                f"check OUTREACH_SMTP_USER and {_credential_variable(smtp)}"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            self._discard(connection)
            raise SourceError(f"SMTP {smtp.describe()}: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            self._discard(connection)
            raise SourceError(
                f"SMTP {smtp.describe()}: refused the connection ({_reply_text(exc.smtp_code, exc.smtp_error)})"
            ) from None
        except ssl.SSLCertVerificationError as exc:
            self._discard(connection)
            raise SourceError(
                f"SMTP {smtp.describe()}: the server's certificate is not trusted ({exc.verify_message}); if it is "
                f"signed by a private CA, set {settings.SMTP_CA_FILE_VARIABLE} to that CA's certificate"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._discard(connection)
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise SourceError(f"SMTP {smtp.describe()}: cannot connect ({reason})") from None
        self._connection = connection

    @staticmethod
    def _discard(connection: smtplib.SMTP | None) -> None:
        """Say QUIT if the server still listens (after a refused login too), then close."""
        if connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                if connection.sock is not None:
                    connection.quit()
            with contextlib.suppress(Exception):
                connection.close()

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open, and stop encoding ahead: the run is over."""
        try:
            self._hang_up()
        finally:
            ahead, self._ahead = self._ahead, None
            if ahead is not None:
                ahead.close()

    def _hang_up(self) -> None:
        """Say QUIT and close the connection, if one is open (the next letter opens another)."""
        connection, self._connection = self._connection, None
        self._discard(connection)

    def drop(self) -> None:
        """Close the connection without a goodbye: it failed, or is in DATA, where QUIT would be message text."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def start(self, sender: str, recipients: Sequence[str], data: bytes) -> None:
        """Send MAIL, RCPT, DATA and the message (`data` as DATA carries it, from `Email.as_data`); the server's
        verdict is left for finish() to read.

        Raises Transient or Permanent: up to here the server cannot have accepted the message. smtplib's sendmail()
        cannot tell a failure before the end of DATA from one after it, so the transaction is spelled out.
        """
        self.open()
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
            connection.send(data)
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
        """Raise Transient for a 4xx, Permanent for a 5xx (or any other unexpected reply), leaving a usable session.

        RFC 5321 4.2.1: only a 5yz is permanent. After a 421 (4.2.5: the server is closing the channel) the session
        ends with QUIT as the RFC asks of the client; after another 4yz or a 5yz it is reset (RSET, 4.1.1.5) and
        kept for the next letter.
        """
        text = _reply_text(code, reply)
        reason = f"{stage}: {text}"
        if code == 421:
            self._hang_up()
        else:
            connection = self._connection
            try:
                if connection is not None:
                    connection.rset()
            except (smtplib.SMTPException, OSError):
                self.drop()
        if 400 <= code < 500:
            raise Transient(reason, pushback.read(code, text.partition(" ")[2]))
        raise Permanent(reason)


# -- outreach send ---------------------------------------------------------------------------------------------


def dry_run(
    outbox: Path,
    campaign: Campaign,
    *,
    limit: int | None = None,
    resend_uncertain: bool = False,
    other_log: bool = False,
) -> run.Plan[Email]:
    """Return what `send` would do, reading the log if there is one; sends nothing and writes nothing."""
    letters = read_manifest(outbox, campaign)
    return run.dry_run(
        outbox, campaign.id, letters, limit=limit, resend_uncertain=resend_uncertain, other_log=other_log
    )


def send_outbox(
    outbox: Path,
    campaign: Campaign,
    smtp: settings.SmtpSettings,
    *,
    limit: int | None = None,
    per_minute: int = run.DEFAULT_PER_MINUTE,
    bcc_self: bool = False,
    resend_uncertain: bool = False,
    other_log: bool = False,
    confirm: Callable[[run.Plan[Email]], object] | None = None,
    report: run.Report | None = None,
) -> tuple[run.Plan[Email], run.Result]:
    """Return the plan and the result of e-mailing an outbox: the whole run under the send lock.

    `confirm` is called with the plan before anything is sent (it raises to stop the run).
    """
    letters = read_manifest(outbox, campaign)
    mailer = Mailer(smtp, bcc_self=bcc_self)
    return run.run(
        outbox,
        campaign.id,
        letters,
        mailer,
        limit=limit,
        per_minute=per_minute,
        resend_uncertain=resend_uncertain,
        other_log=other_log,
        confirm=confirm,
        report=report,
        backoff_scale=settings.send_backoff_scale(),
    )
