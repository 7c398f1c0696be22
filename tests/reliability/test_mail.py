"""Mail that survives real servers (issue 12 items 4 and 7, issue 14 items 1-3): the deferred state and its moves."""

from __future__ import annotations

import csv
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from certificates import make_ca
from commands import draft_once, manifest, run

from outreach.errors import ExitCode
from outreach.ledger import DATABASE_FILE, SCHEMA_VERSION, Contact, Ledger, LedgerError, State
from outreach.ledger.schema import MIGRATIONS
from outreach.resources import default_campaign_dir

CAMPAIGN = "ipem-2024"
GREYLISTED = "Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/ipem.example.org.html"
SHA = "9f2c" * 16


def queue(ledger: Ledger, member_id: int = 4602) -> Contact:
    """Queue an e-mail to a real member (Wera Hobhouse, Bath, by default)."""
    return ledger.enqueue(
        campaign=CAMPAIGN,
        letter_id=f"{member_id}-seat",
        channel="email",
        member_id=member_id,
        name="Wera Hobhouse",
        recipient="wera.hobhouse.mp@parliament.uk",
        asks=("equipment", "workforce"),
        content_sha256=SHA,
        message_id=f"<{member_id}-seat.{CAMPAIGN}@ipem.ac.uk>",
    )


def key(member_id: int = 4602) -> tuple[str, str, str]:
    return (CAMPAIGN, f"{member_id}-seat", "email")


@pytest.fixture
def ledger(outreach_home: Path) -> Iterator[Ledger]:
    with Ledger.open_default() as opened:
        yield opened


def test_a_deferred_letter_keeps_the_reason_and_goes_again_with_the_same_message_id(ledger: Ledger) -> None:
    queued = queue(ledger)
    ledger.begin_sending(*key())
    ledger.mark_deferred(*key(), "RCPT TO: 450 4.7.1 Recipient address rejected: Greylisted")
    deferred = ledger.contact(*key())
    assert deferred is not None
    assert (deferred.state, deferred.error) == ("deferred", "RCPT TO: 450 4.7.1 Recipient address rejected: Greylisted")
    assert [c.letter_id for c in ledger.contacts(state="deferred")] == ["4602-seat"]
    again = ledger.begin_sending(*key())
    assert (again.state, again.attempts, again.message_id) == ("sending", 2, queued.message_id)
    ledger.mark_sent(*key())
    sent = ledger.contact(*key())
    assert sent is not None and sent.state == "sent" and sent.error is None


@pytest.mark.parametrize("move", ["mark_deferred"])
@pytest.mark.parametrize("state", ["queued", "deferred", "sent", "failed", "uncertain"])
def test_only_a_letter_being_sent_can_be_deferred(ledger: Ledger, state: str, move: str) -> None:
    queue(ledger)
    if state != "queued":
        ledger.begin_sending(*key())
        if state == "uncertain":
            ledger.settle_interrupted()
        else:
            getattr(ledger, f"mark_{state}")(*key(), *(() if state == "sent" else ("421 try later",)))
    before = ledger.contact(*key())
    assert before is not None and before.state == state
    with pytest.raises(LedgerError, match=f"cannot move from '{state}' to 'deferred'"):
        getattr(ledger, move)(*key(), "451 4.3.2 try later")
    assert ledger.contact(*key()) == before


def test_a_suppressed_member_deferred_earlier_is_not_tried_again(ledger: Ledger) -> None:
    queue(ledger)
    ledger.begin_sending(*key())
    ledger.mark_deferred(*key(), "421 4.7.0 try again later")
    ledger.suppress(4602, reason="asked not to be contacted", name="Wera Hobhouse")
    with pytest.raises(LedgerError, match="on the suppression list"):
        ledger.begin_sending(*key())


def test_a_log_of_the_first_schema_is_migrated_with_its_contacts_and_replies(outreach_home: Path) -> None:
    path = outreach_home / DATABASE_FILE
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA foreign_keys = ON")
    for statement in MIGRATIONS[0]:
        raw.execute(statement)
    raw.execute("PRAGMA user_version = 1")
    stamp = "2026-11-20T09:30:00+00:00"
    raw.execute(
        """INSERT INTO contacts (campaign, letter_id, channel, member_id, name, recipient, state, asks,
               content_sha256, message_id, queued_at, sent_at, updated_at)
           VALUES (?, '4602-seat', 'email', 4602, 'Wera Hobhouse', 'wera.hobhouse.mp@parliament.uk', 'sent',
               'workforce', ?, '<4602-seat@ipem.ac.uk>', ?, ?, ?)""",
        (CAMPAIGN, SHA, stamp, stamp, stamp),
    )
    raw.execute(
        "INSERT INTO replies (contact_id, outcome, reply_date, recorded_at) VALUES (1, 'meeting', '2026-11-27', ?)",
        (stamp,),
    )
    with pytest.raises(sqlite3.IntegrityError):  # the first schema has no deferred state
        raw.execute("UPDATE contacts SET state = 'deferred'")
    raw.close()
    with Ledger.open_default() as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION
        [contact] = ledger.contacts()
        assert (contact.state, contact.reply_outcome, contact.reply_date) == ("sent", "meeting", date(2026, 11, 27))
        assert contact.sent_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
        queue(ledger, 4366)
        ledger.begin_sending(*key(4366))
        ledger.mark_deferred(*key(4366), "451 4.3.2 try later")
        assert ledger.contact(*key(4366)).state == State.DEFERRED  # type: ignore[union-attr]
        assert ledger.forget_campaign(CAMPAIGN) == 2  # the replies still cascade from the rebuilt contacts
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT COUNT(*) FROM replies").fetchone()[0] == 0
    indexes = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"contacts_member", "contacts_state", "replies_contact"} <= indexes
    raw.close()


# -- what a server's "not now" asks (RFC 5321, RFC 3463) --------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "text", "wait", "throttled"),
    [
        # postgrey through Postfix: one recipient's first try, not the run's pace
        (450, f"4.7.1 <a@b.uk>: {GREYLISTED}", None, False),
        (421, "4.7.0 Try again later, closing connection.", None, True),  # Gmail: the channel closes for everyone
        (450, "4.7.1 Too much mail from you: try again in 2 minutes", 120.0, True),
        (450, "4.4.2 Message submission rate for this client has exceeded the configured limit", None, True),
        (432, "4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded", None, True),
        (451, "4.7.1 Service unavailable; Retry-After: 90", 90.0, False),
        (451, "4.3.0 Mail server temporarily rejected message.", None, False),
        (450, "4.2.0 mailbox busy, retry in 30s", 30.0, False),
    ],
)
def test_what_a_temporary_refusal_asks_is_read_from_its_code_and_text(
    code: int, text: str, wait: float | None, throttled: bool
) -> None:
    from outreach.delivery import pushback

    assert pushback.read(code, text) == pushback.Pushback(wait, throttled)


# -- a server that says "not now" -------------------------------------------------------------------------------

SENDER = "policy@ipem.example.org"
REPLY_TO = "public.affairs@ipem.example.org"


@dataclass
class Sink:
    """An aiosmtpd handler that throttles, greylists and refuses as real servers do, and records every session."""

    greylist_seconds: float = 0.0  # 450 4.7.1 for each recipient until this long after its first try
    per_window: int = 0  # at most this many messages a window, then 450 4.7.1 "too much mail" (0: no limit)
    window_seconds: float = 1.0
    refuse: set[str] = field(default_factory=set)  # 550 5.1.1 at RCPT
    defer: set[str] = field(default_factory=set)  # 451 4.3.0 at RCPT, every time
    down_after: int = 0  # after this many messages: 421 at MAIL, then every new connection hung up (0: never)
    received: list[bytes] = field(default_factory=list)
    accepted_at: list[float] = field(default_factory=list)
    first_seen: dict[str, float] = field(default_factory=dict)
    replies: list[str] = field(default_factory=list)  # every 4xx and 5xx said
    connections: int = 0
    quits: int = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        if self.down_after and len(self.received) >= self.down_after:
            server.transport.close()
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        now = time.monotonic()
        if self.down_after and len(self.received) >= self.down_after:
            return self._say("421 4.3.2 Service shutting down, closing transmission channel")
        recent = [moment for moment in self.accepted_at if now - moment < self.window_seconds]
        if self.per_window and len(recent) >= self.per_window:
            return self._say("450 4.7.1 Too much mail from you: try again in 30 seconds")
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.refuse:
            return self._say(f"550 5.1.1 <{address}>: Recipient address rejected: mailbox unavailable")
        if address in self.defer:
            return self._say("451 4.3.0 Mail server temporarily rejected message")
        first = self.first_seen.setdefault(address, time.monotonic())
        if time.monotonic() - first < self.greylist_seconds:
            return self._say(f"450 4.7.1 <{address}>: {GREYLISTED}")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(bytes(envelope.original_content))
        self.accepted_at.append(time.monotonic())
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.quits += 1
        return "221 Bye"

    def _say(self, reply: str) -> str:
        self.replies.append(reply)
        return reply

    def messages(self) -> list[EmailMessage]:
        parsed = [message_from_bytes(raw, policy=default_policy) for raw in self.received]
        return [message for message in parsed if isinstance(message, EmailMessage)]

    def message_ids(self) -> list[str]:
        return [str(message["Message-ID"]) for message in self.messages()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    """Start a Sink on a free loopback port, point OUTREACH_SMTP_* at it, and make minutes of backoff hundredths."""
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("OUTREACH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OUTREACH_SMTP_PORT", str(port))
    monkeypatch.setenv("OUTREACH_SMTP_SECURITY", "none")
    monkeypatch.setenv("OUTREACH_SEND_BACKOFF_SCALE", "0.01")  # 10 s → 0.1 s, a 30 s wait asked → 0.3 s
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def signed_campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the IPEM campaign signed by a named person, with a sender, a reply address and a telephone.

    The shipped campaign is unsigned by design; these values are a test's (example.org, and a number from Ofcom's
    range kept for drama, 01632 960xxx), never IPEM's.
    """
    folder = tmp_path_factory.mktemp("campaign") / "ipem-2024"
    shutil.copytree(default_campaign_dir(), folder)
    toml = folder / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    for key, value in (
        ("email", SENDER),
        ("reply_email", REPLY_TO),
        ("phone", "01632 960 123"),
        ("signatory_role", "Head of Policy"),
    ):
        assert text.count(f'\n{key} = ""') == 1
        text = text.replace(f'\n{key} = ""', f'\n{key} = "{value}"')
    text = text.replace('signatory_name = "Policy and Public Affairs Team"', 'signatory_name = "Alex Example"')
    toml.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory, signed_campaign: Path) -> Path:
    """The first 12 letters of the signed campaign's audience, drafted once."""
    return draft_once(tmp_path_factory, signed_campaign, "--limit", "12")


@pytest.fixture
def outbox(drafted: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "outbox"
    shutil.copytree(drafted, copy)
    return copy


def send(outbox: Path, campaign: Path, *flags: str, expect: ExitCode = ExitCode.OK) -> tuple[str, str]:
    return run("send", str(outbox), "--campaign", str(campaign), "--no-dry-run", "--yes", *flags, expect=expect)


def logged() -> dict[str, Contact]:
    with Ledger.open_default() as ledger:
        return {contact.letter_id: contact for contact in ledger.contacts()}


def failures(outbox: Path) -> list[dict[str, str]]:
    with (outbox / "failures.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_throttled_greylisted_and_refused_every_letter_ends_sent_or_failed_for_a_5xx_and_none_twice(
    sink: Sink, outbox: Path, signed_campaign: Path
) -> None:
    rows = [row for row in manifest(outbox) if row["email"]]
    refused = rows[4]["email"]
    sink.greylist_seconds, sink.per_window, sink.window_seconds = 0.3, 4, 1.0
    sink.refuse = {refused}
    _, stderr = send(outbox, signed_campaign, "--per-minute", "0", expect=ExitCode.SEND_INCOMPLETE)
    greylisted = [reply for reply in sink.replies if "Greylisted" in reply]
    throttled = [reply for reply in sink.replies if "Too much mail" in reply]
    assert len(greylisted) >= len(rows) and throttled  # every recipient was greylisted once, and the run throttled
    states = {letter: contact.state for letter, contact in logged().items()}
    assert states == {row["letter_id"]: "failed" if row["email"] == refused else "sent" for row in rows}
    ids = sink.message_ids()
    assert len(ids) == len(set(ids)) == len(rows) - 1  # nothing twice
    assert {contact.message_id for contact in logged().values() if contact.state == "sent"} == set(ids)
    assert [(row["letter_id"], row["state"]) for row in failures(outbox)] == [(rows[4]["letter_id"], "failed")]
    assert "550 5.1.1" in failures(outbox)[0]["reason"]
    assert "deferred" in stderr and "Greylisted" in stderr
    assert sink.quits == sink.connections  # every session ended with QUIT, after refusals too


def test_a_letter_still_deferred_at_the_end_is_listed_and_goes_first_next_run(
    sink: Sink, outbox: Path, signed_campaign: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTREACH_SEND_BACKOFF_SCALE", "0.001")
    rows = [row for row in manifest(outbox) if row["email"]]
    stubborn = rows[1]
    sink.defer = {stubborn["email"]}
    stdout, stderr = send(outbox, signed_campaign, "--limit", "3", "--per-minute", "0", expect=ExitCode.SEND_INCOMPLETE)
    contact = logged()[stubborn["letter_id"]]
    assert (contact.state, contact.attempts) == ("deferred", 6)
    assert contact.error is not None and "451 4.3.0" in contact.error
    assert [(row["letter_id"], row["state"]) for row in failures(outbox)] == [(stubborn["letter_id"], "deferred")]
    assert "1 still deferred" in stderr.strip().splitlines()[-1]
    assert len(sink.received) == 2
    sink.defer = set()
    send(outbox, signed_campaign, "--limit", "1", "--per-minute", "0")
    assert message_from_bytes(sink.received[2], policy=default_policy)["To"].addresses[0].addr_spec == stubborn["email"]
    assert logged()[stubborn["letter_id"]].state == "sent"
    assert not (outbox / "failures.csv").exists()


def test_a_server_gone_before_data_leaves_letters_deferred_never_uncertain(
    sink: Sink, outbox: Path, signed_campaign: Path
) -> None:
    rows = [row for row in manifest(outbox) if row["email"]]
    sink.down_after = 2
    _, stderr = send(outbox, signed_campaign, "--per-minute", "0", expect=ExitCode.SOURCE)
    (last,) = stderr.strip().splitlines()[-1:]
    assert last.startswith("error: SMTP 127.0.0.1:") and "2 sent and" in last and "run send again" in last
    states = {letter: contact.state for letter, contact in logged().items()}
    assert list(states.values()).count("sent") == 2
    assert set(states.values()) <= {"sent", "queued", "deferred"} and "deferred" in states.values()
    sink.down_after = 0
    send(outbox, signed_campaign, "--per-minute", "0")
    assert {contact.state for contact in logged().values()} == {"sent"}
    ids = sink.message_ids()
    assert len(ids) == len(set(ids)) == len(rows)


# -- logins: TLS verified against a private CA, XOAUTH2, no credential in clear text -----------------------------

TOKEN = "ya29.test-token-4f1b9c"  # what the token command prints; never shown anywhere


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A private CA made by the test (openssl), and a server certificate it signed for 127.0.0.1."""
    return make_ca(tmp_path_factory.mktemp("ca"))


@dataclass
class Login(Sink):
    """A Sink that takes logins only over TLS: a password, or XOAUTH2 checked as Google and Microsoft check it."""

    logins: list[tuple[str, str, bool]] = field(default_factory=list)  # (mechanism, user, over TLS)

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        self.logins.append((mechanism, data.login.decode(), server.transport.get_extra_info("ssl_object") is not None))
        return AuthResult(success=(data.login, data.password) == (b"ipem", b"correct horse battery staple"))

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> Any:
        import base64
        import json

        from aiosmtpd.smtp import AuthResult

        response = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        fields = response.decode().split("\x01")
        user = fields[0].removeprefix("user=")
        self.logins.append(("XOAUTH2", user, server.transport.get_extra_info("ssl_object") is not None))
        if fields[2:] == ["", ""] and fields[1] == f"auth=Bearer {TOKEN}" and user == SENDER:
            return AuthResult(success=True)
        # RFC 7628-style error challenge, as Google sends: the client answers with an empty line, then 535.
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"})
        await server.challenge_auth(error)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")


@pytest.fixture(params=["starttls", "ssl"])
def tls_sink(
    request: pytest.FixtureRequest, test_ca: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Login]:
    """A Login server on loopback with the test CA's certificate: STARTTLS on demand, or TLS from the first byte."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(test_ca["cert"], test_ca["key"])
    handler = Login()
    port = free_port()
    # aiosmtpd's auth_require_tls speaks of STARTTLS; on a TLS port every byte, AUTH too, is already encrypted.
    tls: dict[str, Any] = (
        {"ssl_context": context, "auth_require_tls": False}
        if request.param == "ssl"
        else {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    )
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=handler.authenticate, **tls)
    controller.start()
    for variable, value in (
        ("HOST", "127.0.0.1"),
        ("PORT", str(port)),
        ("SECURITY", request.param),
        ("USER", "ipem"),
        ("PASSWORD", "correct horse battery staple"),
    ):
        monkeypatch.setenv(f"OUTREACH_SMTP_{variable}", value)
    try:
        yield handler
    finally:
        controller.stop()


def test_a_private_ca_named_in_outreach_smtp_ca_file_is_trusted_and_nothing_else(
    tls_sink: Login, test_ca: dict[str, Path], outbox: Path, signed_campaign: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, stderr = send(outbox, signed_campaign, "--limit", "1", expect=ExitCode.SOURCE)
    (line,) = stderr.strip().splitlines()[-1:]
    assert "certificate is not trusted" in line and "OUTREACH_SMTP_CA_FILE" in line
    assert tls_sink.logins == [] and tls_sink.received == []  # no password went to an unverified server
    monkeypatch.setenv("OUTREACH_SMTP_CA_FILE", str(test_ca["ca"]))
    send(outbox, signed_campaign, "--limit", "2")
    assert len(tls_sink.received) == 2
    assert tls_sink.logins == [("PLAIN", "ipem", True)]  # one login, over TLS
    monkeypatch.setenv("OUTREACH_SMTP_CA_FILE", str(test_ca["key"]))  # not a certificate
    _, stderr = send(outbox, signed_campaign, expect=ExitCode.FAILURE)
    assert stderr.strip().startswith(f"error: OUTREACH_SMTP_CA_FILE: {test_ca['key']} holds no CA certificate")


def test_xoauth2_sends_the_token_the_command_prints_and_shows_it_nowhere(
    tls_sink: Login,
    test_ca: dict[str, Path],
    outbox: Path,
    signed_campaign: Path,
    outreach_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTREACH_SMTP_CA_FILE", str(test_ca["ca"]))
    monkeypatch.setenv("OUTREACH_SMTP_USER", SENDER)
    monkeypatch.delenv("OUTREACH_SMTP_PASSWORD")
    monkeypatch.setenv("OUTREACH_SMTP_AUTH", "xoauth2")
    monkeypatch.setenv("OUTREACH_SMTP_TOKEN_COMMAND", f"echo {TOKEN} | cat")  # through the shell, like passwordeval
    outputs = list(send(outbox, signed_campaign, "--limit", "2"))
    assert tls_sink.logins == [("XOAUTH2", SENDER, True)] and len(tls_sink.received) == 2
    monkeypatch.setenv("OUTREACH_SMTP_TOKEN_COMMAND", "echo expired-token")
    outputs += send(outbox, signed_campaign, expect=ExitCode.SOURCE)
    assert "login refused (535 5.7.8" in outputs[-1] and "OUTREACH_SMTP_TOKEN_COMMAND" in outputs[-1]
    monkeypatch.setenv("OUTREACH_SMTP_TOKEN_COMMAND", "echo 'token store locked' >&2; exit 7")
    outputs += send(outbox, signed_campaign, expect=ExitCode.SOURCE)
    assert outputs[-1].strip().splitlines()[-1] == (
        "error: OUTREACH_SMTP_TOKEN_COMMAND: the command failed (exit status 7): token store locked"
    )
    assert len(tls_sink.received) == 2
    for path in [*outreach_home.rglob("*"), *outbox.rglob("*")]:
        if path.is_file():
            outputs.append(path.read_bytes().decode("latin-1"))
    assert not [text for text in outputs if TOKEN in text or "expired-token" in text]


@pytest.mark.parametrize("auth", ["password", "xoauth2"])
def test_a_credential_in_clear_text_to_a_host_that_is_not_loopback_is_refused_before_connecting(
    auth: str, outbox: Path, signed_campaign: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[object] = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: attempts.append(address))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: attempts.append(args) or [])
    ran = tmp_path / "token-command-ran"
    for variable, value in (
        ("HOST", "smtp.ipem.example.org"),
        ("SECURITY", "none"),
        ("USER", SENDER),
        ("PASSWORD", "correct horse battery staple"),
        ("AUTH", auth),
        ("TOKEN_COMMAND", f"touch {ran}; echo {TOKEN}"),
    ):
        monkeypatch.setenv(f"OUTREACH_SMTP_{variable}", value)
    _, stderr = send(outbox, signed_campaign, expect=ExitCode.FAILURE)
    (line,) = stderr.strip().splitlines()
    assert line.startswith("error: SMTP smtp.ipem.example.org:25 (none, as policy@ipem.example.org): refusing")
    assert "unencrypted" in line and "set OUTREACH_SMTP_SECURITY to starttls or ssl" in line
    assert attempts == [] and not ran.exists()  # no connection, no name looked up, no token fetched
    assert {contact.state for contact in logged().values()} <= {"queued"}


# -- a letter that identifies its sender --------------------------------------------------------------------------


def test_the_email_says_who_sent_it_reply_to_signature_and_reference_in_an_accessible_html_part(
    sink: Sink, outbox: Path, signed_campaign: Path
) -> None:
    import re

    row = next(row for row in manifest(outbox) if row["email"])
    send(outbox, signed_campaign, "--limit", "1")
    (message,) = sink.messages()
    assert message["Reply-To"].addresses[0].addr_spec == REPLY_TO
    assert message["From"].addresses[0].addr_spec == SENDER
    assert message["Subject"] == f"{row['subject']} (Our ref: {row['letter_id']})"
    block = [
        "Alex Example",
        "Head of Policy",
        "Institute of Physics and Engineering in Medicine",
        "Fairmount House, 230 Tadcaster Road, York, YO24 1ES",
        "Tel: 01632 960 123",
        f"Email: {REPLY_TO}",
        "www.ipem.ac.uk",
    ]
    text_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
    assert text_part is not None and html_part is not None
    text = text_part.get_content().replace("\r\n", "\n")
    assert text.startswith(f"Our ref: {row['letter_id']}\n\n{row['salutation']},")
    assert text.rstrip().endswith("Yours sincerely,\n\n" + "\n".join(block))
    assert text.count("Alex Example") == 1  # the printed letter's own sign-off lines gave way to the block
    page = html_part.get_content().replace("\r\n", "\n")
    assert "<br>\n".join(block) in page
    assert re.search(r'<html lang="en-GB">', page) and f"<title>{row['subject']}" in page.replace("&#x27;", "'")
    assert page.count("<h1") == 1 and "max-width: 40em" in page
    assert not re.search(r"<style|<script|<link|class=", page, re.IGNORECASE)  # what mail clients strip
    assert "color: #1a1a1a" in page and "background: #ffffff" in page


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"OUTREACH_SMTP_AUTH": "oauth"},
            "OUTREACH_SMTP_AUTH: SMTP auth must be one of password, xoauth2, not 'oauth'",
        ),
        (
            {"OUTREACH_SMTP_AUTH": "xoauth2", "OUTREACH_SMTP_TOKEN_COMMAND": "echo t"},
            "OUTREACH_SMTP_AUTH: xoauth2 needs the mailbox's login and a token command: set OUTREACH_SMTP_USER",
        ),
        (
            {"OUTREACH_SMTP_AUTH": "xoauth2", "OUTREACH_SMTP_USER": SENDER},
            "OUTREACH_SMTP_AUTH: xoauth2 needs the mailbox's login and a token command: "
            "set OUTREACH_SMTP_TOKEN_COMMAND",
        ),
        ({"OUTREACH_SEND_BACKOFF_SCALE": "fast"}, "OUTREACH_SEND_BACKOFF_SCALE: must be a number from 0 to 10"),
    ],
)
def test_bad_login_settings_are_one_line_naming_the_variable(environ: dict[str, str], message: str) -> None:
    from outreach import settings
    from outreach.errors import DataError

    with pytest.raises(DataError) as raised:
        settings.smtp({"host": "smtp.office365.com"}, environ=environ)
        settings.send_backoff_scale(environ)
    assert str(raised.value).startswith(message)


def test_a_throttled_run_pauses_and_then_halves_its_rate() -> None:
    from outreach.delivery.run import _Pace

    uncapped = _Pace(0.0, 0.01)
    uncapped.throttled(0.3)
    assert uncapped.interval == 0.0 and uncapped.paused_until > time.monotonic()  # once: a pause only
    uncapped.throttled(0.3)
    assert uncapped.interval == pytest.approx(0.02)  # twice: 30 a minute (scaled by the run's 0.01)
    capped = _Pace(2.0, 1.0)  # --per-minute 30
    capped.throttled(1.0)
    capped.throttled(1.0)
    capped.throttled(1.0)
    assert capped.interval == 8.0  # halved at the second throttling and again at the third
    slept: list[float] = []
    capped.wait(slept.append)
    assert slept and 0.9 < slept[0] <= 1.0  # the pause asked for comes first
