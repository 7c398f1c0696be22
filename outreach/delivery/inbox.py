"""`outreach inbox`: the campaign mailbox read for replies, automatic replies, delivery reports and sent copies.

Each new message of INBOX (since the UID the contact log says was read last) is matched to a letter:

1. by its `In-Reply-To`, then its `References` (RFC 5322 3.6.4): the Message-ID the log keeps for each letter;
2. for a delivery report, by the Message-ID of the letter it returns (RFC 3464: a message/rfc822 or
   text/rfc822-headers part);
3. failing those, by its sender's address being the letter's recipient and its subject naming the letter's
   reference (`5450-seat`): a reply written as a new message. This match is flagged for a person to check.

What it is: a delivery report (multipart/report; report-type=delivery-status, RFC 3464) whose recipient's Action is
`failed` fails the letter with its Status and Diagnostic-Code; an automatic reply (RFC 3834 `Auto-Submitted` other
than `no`, and the out-of-office headers `X-Autoreply`, `X-Autorespond`, `Precedence: auto_reply`) is an
acknowledgement; anything else is a person's reply, recorded with its date, sender and subject, its outcome left for
`outreach reply`. Then each `uncertain` letter's Message-ID is looked for in the Sent folder (where Microsoft 365 and
Google keep mail submitted over SMTP) and in INBOX (the copy `send --bcc-self` delivers): found, it is `sent`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses

from outreach.delivery.imap import Fetched, Mailbox
from outreach.ledger import Contact, Found, Ledger, State
from outreach.settings import ImapSettings

INBOX = "INBOX"
CHANNEL = "email"
# How long a sender or subject is kept: enough to recognise a reply, and a hostile header cannot fill the log.
MAX_TEXT = 300
_MESSAGE_IDS = re.compile(r"<[^<>\s]+>")
# Out-of-office headers beside RFC 3834's Auto-Submitted, as sent by common autoresponders.
_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond")


def _clean(text: object) -> str:
    """Return header text as one printable line, cut to MAX_TEXT characters (no control characters)."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text or "")).split())
    return line[:MAX_TEXT]


def _ids(value: object) -> list[str]:
    """Return the Message-IDs a header holds (In-Reply-To, References, Message-ID), in order."""
    return _MESSAGE_IDS.findall(str(value or ""))


@dataclass(frozen=True)
class Incoming:
    """A message's headers as outreach reads them: its ids, sender, subject, and what kind of message it is."""

    uid: int
    fetched: Fetched
    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: str  # the From header as one line
    sender_address: str  # the From address, lower case
    subject: str
    automatic: bool
    report: bool

    @classmethod
    def parse(cls, fetched: Fetched) -> Incoming:
        """Return what a message's headers say, however malformed (a bad header reads as empty)."""
        headers = BytesHeaderParser(policy=default_policy).parsebytes(fetched.header)

        def header(name: str) -> str:
            try:
                return str(headers.get(name, "") or "")
            except (ValueError, TypeError, IndexError):  # a header the parser cannot make sense of
                return ""

        addresses = [address for _, address in getaddresses([header("From")]) if "@" in address]
        auto_submitted = header("Auto-Submitted").split(";")[0].strip().lower()
        own = _ids(header("Message-ID"))
        content_type = headers.get_content_type() if hasattr(headers, "get_content_type") else ""
        report_type = str(headers.get_param("report-type", "", header="content-type") or "").lower()
        return cls(
            uid=fetched.uid,
            fetched=fetched,
            message_id=own[0] if own else "",
            in_reply_to=tuple(_ids(header("In-Reply-To"))),
            references=tuple(reversed(_ids(header("References")))),  # the nearest ancestor last in the header
            sender=_clean(header("From")),
            sender_address=addresses[0].lower() if addresses else "",
            subject=_clean(header("Subject")),
            automatic=(auto_submitted not in ("", "no"))
            or any(header(name) for name in _AUTO_HEADERS)
            or header("Precedence").strip().lower() == "auto_reply",
            report=content_type == "multipart/report" and report_type == "delivery-status",
        )

    @property
    def key(self) -> str:
        """Return what the log knows this message by: its Message-ID, or a hash of its headers if it has none."""
        return self.message_id or "sha256:" + hashlib.sha256(self.fetched.header).hexdigest()


@dataclass(frozen=True)
class Failure:
    """One recipient a delivery report says the message could not be delivered to, and why."""

    recipient: str
    reason: str


def read_report(raw: bytes) -> tuple[list[Failure], list[str]]:
    """Return a delivery report's failed recipients (Action: failed) and the Message-IDs of the message it returns."""
    message = message_from_bytes(raw, policy=default_policy)
    failures: list[Failure] = []
    returned: list[str] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            # The first block holds the per-message fields, each later one a recipient's (RFC 3464 2.2, 2.3).
            blocks = part.get_payload()
            for block in blocks[1:] if isinstance(blocks, list) else []:
                failure = _failed(block) if isinstance(block, Message) else None
                if failure is not None:
                    failures.append(failure)
        elif kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                returned += _ids(inner[0].get("Message-ID", ""))
        elif kind == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                returned += _ids(BytesHeaderParser(policy=default_policy).parsebytes(text).get("Message-ID", ""))
    return failures, returned


def _failed(block: Message) -> Failure | None:
    """Return the failure a recipient's block of a delivery report names, or None if it did not fail."""
    if str(block.get("Action", "")).strip().lower() != "failed":
        return None
    recipient = str(block.get("Final-Recipient", "") or block.get("Original-Recipient", ""))
    address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
    status = _clean(block.get("Status", ""))
    diagnostic = _clean(block.get("Diagnostic-Code", ""))
    reason = " ".join(part for part in (status, f"({diagnostic})" if diagnostic else "") if part)
    return Failure(address, reason or "delivery failed")


@dataclass
class Letters:
    """The e-mailed letters of the contact log, looked up by Message-ID and by recipient address."""

    by_message_id: dict[str, Contact] = field(default_factory=dict)
    by_recipient: dict[str, list[Contact]] = field(default_factory=dict)

    @classmethod
    def of(cls, contacts: Iterable[Contact]) -> Letters:
        """Return the index of the letters that have gone (or may have) by e-mail."""
        index = cls()
        for contact in contacts:
            if contact.message_id is None or contact.state in (State.QUEUED,):
                continue
            index.by_message_id[contact.message_id] = contact
            index.by_recipient.setdefault(contact.recipient.lower(), []).append(contact)
        return index

    def by_ids(self, ids: Iterable[str]) -> Contact | None:
        """Return the first letter one of these Message-IDs names, or None."""
        return next((self.by_message_id[i] for i in ids if i in self.by_message_id), None)

    def by_sender_and_subject(self, incoming: Incoming) -> Contact | None:
        """Return the letter to this sender whose reference the subject names (the latest, if several), or None."""
        named = [
            contact
            for contact in self.by_recipient.get(incoming.sender_address, [])
            if re.search(rf"(?<![\w-]){re.escape(contact.letter_id)}(?![\w-])", incoming.subject)
        ]
        return named[-1] if named else None


def _found(
    contact: Contact, incoming: Incoming, kind: str, matched_by: str, reason: str = "", folder: str = INBOX
) -> Found:
    """Return what the log records of a message matched to a letter."""
    return Found(
        key=contact.key,
        kind=kind,
        message_key=incoming.key,
        sender=incoming.sender,
        subject=incoming.subject,
        received_at=incoming.fetched.received_at,
        matched_by=matched_by,
        folder=folder,
        uid=incoming.uid,
        reason=reason,
        name=contact.name,
    )


def match(incoming: Incoming, letters: Letters, mailbox: Mailbox) -> Found | None:
    """Return what a new INBOX message is to its letter, or None if it is about no letter."""
    if incoming.report:
        failures, returned = read_report(mailbox.message(incoming.uid))
        contact = letters.by_ids(returned)
        matched_by = "returned_message"
        if contact is None:
            contact, matched_by = letters.by_ids(incoming.in_reply_to + incoming.references), "in_reply_to"
        failed = [f for f in failures if contact is not None and f.recipient == contact.recipient.lower()]
        if contact is None or not failed:
            return None  # a delay notice, or a failure of another recipient (the sender's own --bcc-self copy)
        return _found(contact, incoming, "delivery_failure", matched_by, failed[0].reason)
    kind = "auto_reply" if incoming.automatic else "reply"
    for matched_by, ids in (("in_reply_to", incoming.in_reply_to), ("references", incoming.references)):
        contact = letters.by_ids(ids)
        if contact is not None:
            return _found(contact, incoming, kind, matched_by)
    contact = letters.by_sender_and_subject(incoming)
    return _found(contact, incoming, kind, "sender_and_subject") if contact is not None else None


@dataclass
class InboxResult:
    """What a run read and recorded: messages matched to letters, letters settled, and what was left."""

    mailbox: str
    read: int = 0  # new INBOX messages read this run
    found: list[Found] = field(default_factory=list)  # newly recorded: replies, acknowledgements, failures, copies
    unmatched: int = 0  # new messages about no letter, left alone
    copies: int = 0  # new messages that are letters' own copies (--bcc-self)
    still_uncertain: list[Contact] = field(default_factory=list)  # no copy found: for send --resend-uncertain
    sent_folder: str | None = None


def _settle(
    mailbox: Mailbox, uncertain: Sequence[Contact], folders: Sequence[str]
) -> tuple[list[Found], list[Contact]]:
    """Return the copies found of uncertain letters (by Message-ID, in each folder) and the letters with none."""
    copies: dict[tuple[str, str, str], Found] = {}
    for folder in folders:
        mailbox.examine(folder)
        for contact in uncertain:
            if contact.key in copies or contact.message_id is None:
                continue
            uids = mailbox.search_message_id(contact.message_id)
            for fetched in mailbox.headers(uids):
                incoming = Incoming.parse(fetched)
                if incoming.message_id == contact.message_id:  # SEARCH HEADER matches substrings: check it
                    copies[contact.key] = _found(contact, incoming, "copy", "message_id", folder=folder)
                    break
    return list(copies.values()), [contact for contact in uncertain if contact.key not in copies]


def read_inbox(ledger: Ledger, imap: ImapSettings) -> InboxResult:
    """Return what the campaign mailbox holds that is new for the contact log, recorded in one transaction."""
    account = imap.mailbox()
    result = InboxResult(account)
    letters = Letters.of(ledger.contacts(channel=CHANNEL))
    uncertain = ledger.contacts(state=State.UNCERTAIN, channel=CHANNEL)
    with Mailbox(imap) as mailbox:
        result.sent_folder = mailbox.sent_folder()
        uidvalidity = mailbox.examine(INBOX)
        position = ledger.inbox_position(account, INBOX)
        # A changed UIDVALIDITY means the folder's UIDs were renumbered: read it all again (nothing is recorded twice).
        last_uid = position[1] if position is not None and position[0] == uidvalidity else 0
        uids = mailbox.uids_after(last_uid)
        found: list[Found] = []
        for fetched in list(mailbox.headers(uids)):
            result.read += 1
            incoming = Incoming.parse(fetched)
            if incoming.message_id in letters.by_message_id:
                result.copies += 1  # a letter's own --bcc-self copy: it may settle an uncertain letter below
                continue
            item = match(incoming, letters, mailbox)
            if item is None:
                result.unmatched += 1
            else:
                found.append(item)
        folders = [folder for folder in (result.sent_folder, INBOX) if folder]
        copies, result.still_uncertain = _settle(mailbox, uncertain, folders) if uncertain else ([], [])
    result.found = ledger.record_inbox(account, found + copies, position=(INBOX, uidvalidity, max([last_uid, *uids])))
    return result
