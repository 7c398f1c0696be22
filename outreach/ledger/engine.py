"""The contact log's two engines: SQLite (one file in OUTREACH_HOME) and PostgreSQL (a team's shared log).

The ledger's SQL is written once for both: `?` placeholders and SQLite's portable types. `Database` adapts it in one
place: PostgreSQL gets `%s` placeholders, BIGINT for INTEGER (an identity column for `INTEGER PRIMARY KEY`) and
byte-order ("C") collation for TEXT, so ISO timestamps compare as text exactly as SQLite's BINARY collation does.

A write transaction takes the whole log's write lock up front: SQLite's `BEGIN IMMEDIATE`, and on PostgreSQL one
transaction-level advisory lock, so a read-then-write (queue a letter unless it is there) behaves the same on both and
two writers take turns. The state moves are conditional UPDATEs besides, so of two senders racing for one letter
exactly one wins on either engine.
"""

from __future__ import annotations

import os
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from outreach.errors import SourceError
from outreach.ledger.records import LedgerError

# Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_SECONDS = 30.0
# Seconds to wait for a team database to answer a connection.
CONNECT_TIMEOUT_SECONDS = 10
# The PostgreSQL advisory lock every write transaction holds (any fixed number: "outreach" in ASCII, cut to 63 bits).
_WRITE_LOCK = int.from_bytes(b"outreach", "big") >> 1
URL_SCHEMES = ("postgresql://", "postgres://")
# Hosts that never need TLS: loopback, and a Unix socket folder.
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


class IntegrityViolation(LedgerError):
    """A write broke a uniqueness, foreign-key or CHECK rule of the log (on either engine)."""


class Row(Protocol):
    """A row read back: by column name or position (sqlite3.Row, and `_Row` on PostgreSQL)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """What an executed statement gives back: its rows, and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(ABC):
    """One connection to the contact log, on either engine; statements are written once, in SQLite's dialect."""

    kind: str
    where: str  # the file, or the URL with its password hidden: what messages name

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Return the cursor of one statement; IntegrityViolation when it breaks a rule of the log."""

    @abstractmethod
    def begin(self) -> None:
        """Open a write transaction holding the log's write lock."""

    @abstractmethod
    def schema_version(self) -> int:
        """Return the log's schema version (0: empty)."""

    @abstractmethod
    def set_schema_version(self, version: int) -> None:
        """Record the schema version, inside the migration's transaction."""

    @abstractmethod
    def ddl(self, statement: str) -> str:
        """Return a schema statement written for SQLite as this engine takes it."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""

    def commit(self) -> None:
        """Commit the open transaction."""
        self.execute("COMMIT")

    def integrity(self) -> list[str]:
        """Return what the engine's own check of its storage finds wrong (PostgreSQL checks its pages itself)."""
        return []

    def rollback(self) -> None:
        """Roll back the open transaction."""
        self.execute("ROLLBACK")

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Yield this connection inside a write transaction (the lock taken up front); commit, or roll back."""
        self.begin()
        try:
            yield self
            self.commit()
        except BaseException:
            self.rollback()
            raise


class SqliteDatabase(Database):
    """The log in one SQLite file: WAL with synchronous=FULL (see the design in `outreach.ledger`)."""

    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.where = str(path)
        in_memory = str(path) == ":memory:"  # an empty log to read from when no file exists yet
        created = not in_memory and not path.exists()
        try:
            if not in_memory:
                path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; every write opens its own BEGIN IMMEDIATE.
            self.connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"{path}: cannot open the contact log ({exc})") from None
        if created:
            # Personal data: readable by its owner only (SQLite gives the -wal and -shm files the same mode).
            os.chmod(path, 0o600)
        self.connection.row_factory = sqlite3.Row

    def start(self) -> None:
        """Turn on WAL, synchronous=FULL and foreign keys: the first writes, once the file has been checked."""
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = FULL")
        self.connection.execute("PRAGMA foreign_keys = ON")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Return the cursor of one statement; IntegrityViolation when it breaks a rule of the log."""
        try:
            return self.connection.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from None

    def begin(self) -> None:
        """Open a write transaction holding SQLite's write lock (BEGIN IMMEDIATE)."""
        self.connection.execute("BEGIN IMMEDIATE")

    def rollback(self) -> None:
        """Roll back the open transaction, if any: a COMMIT refused (a full disk) leaves it open."""
        if self.connection.in_transaction:
            with suppress(sqlite3.Error):
                self.connection.execute("ROLLBACK")

    def integrity(self) -> list[str]:
        """Return what SQLite's quick_check finds wrong in the file's pages (nothing: an empty list)."""
        try:
            found = [" ".join(str(row[0]).split()) for row in self.connection.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        return [] if found == ["ok"] else found

    def schema_version(self) -> int:
        """Return PRAGMA user_version: the file's schema version."""
        return int(self.connection.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        """Write PRAGMA user_version, in the migration's transaction (so a step is all or nothing)."""
        self.connection.execute(f"PRAGMA user_version = {int(version)}")

    def ddl(self, statement: str) -> str:
        """Return the statement unchanged: the schema is written in SQLite's dialect."""
        return statement

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def is_url(target: str | Path) -> bool:
    """Return whether a log target names a PostgreSQL database (postgresql://…) rather than a file."""
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def redact(url: str) -> str:
    """Return a database URL with any password replaced by '***', fit to print."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            hidden = url
        else:
            host = parts.netloc.rpartition("@")[2]
            hidden = urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
    except ValueError:
        return url.split("://", 1)[0] + "://…"
    # A password may also be given as a query parameter (?password=…).
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", hidden)


def open_database(target: str | Path) -> Database:
    """Return a connection to the log a target names: a postgresql:// URL, or an SQLite file (":memory:" for none)."""
    if is_url(target):
        from outreach.ledger.postgres import PostgresDatabase

        return PostgresDatabase(str(target))
    return SqliteDatabase(Path(target))


def needs_tls(hosts: Sequence[str]) -> bool:
    """Return whether any host is reached over a network (not loopback, not a Unix socket folder)."""
    return any(host and not host.startswith("/") and host not in _LOOPBACK for host in hosts)


def source_error(where: str, exc: BaseException, password: str | None) -> SourceError:
    """Return the one-line error for a team database that cannot be reached, never showing the password."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if password:
        text = text.replace(password, "***")
    return SourceError(f"{where}: cannot reach the contact log ({text})")

