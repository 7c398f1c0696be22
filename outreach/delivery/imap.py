"""The campaign mailbox over IMAP, read-only: folders are opened with EXAMINE and bodies fetched with BODY.PEEK.

outreach never changes the mailbox: EXAMINE opens a folder read-only (RFC 3501 6.3.2) and BODY.PEEK leaves the
\\Seen flag alone (6.4.5), so the people who read the mailbox see it as they left it. Every failure of the server
is one SourceError naming the server (never the password or token).
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from outreach.delivery import login
from outreach.errors import DataError, SourceError
from outreach.settings import IMAP_PREFIX, ImapSettings

TIMEOUT_SECONDS = 60.0
# UIDs fetched in one command: a first run over a large mailbox goes in pieces, each a bounded answer.
FETCH_BATCH = 200
# A message's header is read up to this size: a real one is a few kB, and a hostile one cannot fill the memory.
HEADER_BYTES = 64 * 1024
# A delivery report is read whole up to this size (its delivery-status part comes before the returned message).
REPORT_BYTES = 1 << 20

_LIST = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$')
_UID = re.compile(rb"\bUID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


@dataclass(frozen=True)
class Fetched:
    """One message's headers as the server holds them: its UID, when the server received it, the header bytes."""

    uid: int
    received_at: datetime
    header: bytes


def quoted(name: str) -> str:
    """Return a folder name as an IMAP quoted string (RFC 3501 4.3), for names with spaces such as 'Sent Items'."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _internaldate(text: bytes) -> datetime:
    """Return the moment an INTERNALDATE names ('01-Dec-2026 09:19:13 +0000'), in UTC."""
    return datetime.strptime(text.decode("ascii").strip(), "%d-%b-%Y %H:%M:%S %z").astimezone(UTC)


def _numbers(data: Sequence[object]) -> list[int]:
    """Return the numbers of a SEARCH answer ('1 2 5'); none for an empty one."""
    first = data[0] if data else b""
    return [int(x) for x in first.split() if x.isdigit()] if isinstance(first, bytes) else []


class Mailbox:
    """One IMAP session with the campaign mailbox, read-only; a context manager that logs out at the end."""

    def __init__(self, imap: ImapSettings, timeout: float = TIMEOUT_SECONDS) -> None:
        self.settings = imap
        self.timeout = timeout
        self._session: imaplib.IMAP4 | None = None
        self.folder = ""

    def __enter__(self) -> Mailbox:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, what: str, exc: BaseException | str) -> SourceError:
        """Return the one-line error naming the server and what failed."""
        reason = exc if isinstance(exc, str) else (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
        return SourceError(f"IMAP {self.settings.describe()}: {what} ({reason})")

    def open(self) -> None:
        """Connect (TLS as configured, certificate verified) and log in; SourceError when that fails.

        The rules of `outreach.delivery.login`, as for SMTP: a credential goes unencrypted only to loopback (refused
        before connecting, naming OUTREACH_IMAP_SECURITY), certificates are verified (OUTREACH_IMAP_CA_FILE for a
        private CA), and XOAUTH2 takes a fresh token from OUTREACH_IMAP_TOKEN_COMMAND.
        """
        imap = self.settings
        login.refuse_clear_text(
            imap.host, imap.security, True, where=f"IMAP {imap.describe()}", variable=IMAP_PREFIX + "SECURITY"
        )
        context = login.tls_context(imap.ca_file, IMAP_PREFIX + "CA_FILE") if imap.security != "none" else None
        session: imaplib.IMAP4 | None = None
        try:
            if imap.security == "ssl":
                session = imaplib.IMAP4_SSL(imap.host, imap.port, ssl_context=context, timeout=self.timeout)
            else:
                session = imaplib.IMAP4(imap.host, imap.port, timeout=self.timeout)
                if imap.security == "starttls":
                    session.starttls(ssl_context=context)
            if imap.auth == "xoauth2":
                answer = login.xoauth2(imap.user, login.token(imap.token_command, IMAP_PREFIX + "TOKEN_COMMAND"))
                session.authenticate("XOAUTH2", lambda _challenge: answer.encode())
            else:
                session.login(imap.user, imap.password)
        except imaplib.IMAP4.error as exc:
            self._discard(session)
            raise self._fail("login refused; check OUTREACH_IMAP_USER and the password or token", exc) from None
        except (OSError, imaplib.IMAP4.abort, ssl.SSLError) as exc:
            self._discard(session)
            raise self._fail("cannot connect", exc) from None
        except BaseException:
            self._discard(session)
            raise
        self._session = session

    @staticmethod
    def _discard(session: imaplib.IMAP4 | None) -> None:
        if session is not None:
            with contextlib.suppress(Exception):
                session.shutdown()

    def close(self) -> None:
        """Log out (nothing was changed, so there is nothing to expunge) and close the connection."""
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(Exception):
                session.logout()
            self._discard(session)

    def _command(self, what: str, *args: object) -> list[object]:
        """Return the data of one command that must answer OK; SourceError otherwise."""
        assert self._session is not None, "open() first"
        try:
            status, data = getattr(self._session, what)(*args)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._fail(f"{what.upper()} failed", exc) from None
        if status != "OK":
            raise self._fail(f"{what.upper()} refused", b" ".join(x for x in data if isinstance(x, bytes)).decode())
        return list(data)

    def folders(self) -> list[tuple[str, frozenset[str]]]:
        """Return each folder's name and its flags (\\Sent among them, RFC 6154)."""
        found = []
        for line in self._command("list"):
            match = _LIST.match(line) if isinstance(line, bytes) else None
            if match is None:
                continue
            name = match["name"].decode("utf-8", "replace")
            if name.startswith('"') and name.endswith('"'):
                name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            found.append((name, frozenset(match["flags"].decode().lower().split())))
        return found

    def sent_folder(self) -> str | None:
        """Return the Sent folder: OUTREACH_IMAP_SENT, else the folder marked \\Sent; None if there is none."""
        folders = self.folders()
        if self.settings.sent:
            if self.settings.sent not in {name for name, _ in folders}:
                raise DataError(
                    f"OUTREACH_IMAP_SENT: no folder {self.settings.sent!r} in {self.settings.mailbox()} "
                    f"(it has {', '.join(sorted(name for name, _ in folders))})"
                )
            return self.settings.sent
        return next((name for name, flags in folders if "\\sent" in flags), None)

    def examine(self, folder: str) -> int:
        """Open a folder read-only (EXAMINE) and return its UIDVALIDITY."""
        assert self._session is not None, "open() first"
        self._command("select", quoted(folder), True)  # readonly=True: imaplib sends EXAMINE
        self.folder = folder
        _, values = self._session.response("UIDVALIDITY")
        if not values or not isinstance(values[0], bytes) or not values[0].isdigit():
            raise self._fail(f"EXAMINE {folder}", "no UIDVALIDITY in the answer")
        return int(values[0])

    def uids_after(self, last_uid: int) -> list[int]:
        """Return the UIDs above `last_uid` in the open folder, in order."""
        # "n:*" always includes the highest UID, even below n (RFC 3501 6.4.8), hence the filter.
        data = self._command("uid", "SEARCH", None, "UID", f"{last_uid + 1}:*")
        return sorted(uid for uid in _numbers(data) if uid > last_uid)

    def search_message_id(self, message_id: str) -> list[int]:
        """Return the UIDs of the open folder's messages whose Message-ID header holds `message_id`."""
        return _numbers(self._command("uid", "SEARCH", None, "HEADER", "Message-ID", quoted(message_id)))

    def headers(self, uids: Sequence[int]) -> Iterator[Fetched]:
        """Yield the headers and arrival time of these messages of the open folder, leaving them unread."""
        for start in range(0, len(uids), FETCH_BATCH):
            batch = ",".join(str(uid) for uid in uids[start : start + FETCH_BATCH])
            for item in self._command("uid", "FETCH", batch, f"(UID INTERNALDATE BODY.PEEK[HEADER]<0.{HEADER_BYTES}>)"):
                if not isinstance(item, tuple) or len(item) < 2:
                    continue
                uid, moment = _UID.search(item[0]), _INTERNALDATE.search(item[0])
                if uid is None or moment is None:
                    raise self._fail(f"FETCH in {self.folder}", "an answer without UID or INTERNALDATE")
                yield Fetched(int(uid[1]), _internaldate(moment[1]), bytes(item[1]))

    def message(self, uid: int) -> bytes:
        """Return a message of the open folder (up to REPORT_BYTES), leaving it unread."""
        for item in self._command("uid", "FETCH", str(uid), f"(BODY.PEEK[]<0.{REPORT_BYTES}>)"):
            if isinstance(item, tuple) and len(item) >= 2:
                return bytes(item[1])
        raise self._fail(f"FETCH {uid} in {self.folder}", "no message in the answer")
