"""The contact log's file: its schema as one ordered list of migrations, and opening a connection to it.

``PRAGMA user_version`` holds the schema version; ``MIGRATIONS`` is the ordered list of steps from an empty file,
each applied in one transaction with the version bump. A file from a newer outreach is refused with one line.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path

from outreach.ledger.records import LedgerError
from outreach.ledger.states import CHANNELS, INBOX_KINDS, MATCHED_BY, OUTCOMES, sql_list

DATABASE_FILE = "outreach.db"
# Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_SECONDS = 30.0

_CHANNEL_LIST = sql_list(CHANNELS)
_OUTCOME_LIST = sql_list(OUTCOMES)
# The states each released step allows, written out: a released step never changes, even when State grows.
_STATES_V1 = sql_list(("queued", "sending", "sent", "failed", "uncertain"))
_STATES_V2 = sql_list(("queued", "sending", "sent", "deferred", "failed", "uncertain"))


def _contacts_table(name: str, states: str) -> str:
    """Return the CREATE TABLE statement of the contacts table under `name`, its state CHECK allowing `states`."""
    return f"""CREATE TABLE {name} (
            id INTEGER PRIMARY KEY,
            campaign TEXT NOT NULL,
            letter_id TEXT NOT NULL,
            channel TEXT NOT NULL CHECK (channel IN ({_CHANNEL_LIST})),
            member_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            recipient TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ({states})),
            asks TEXT NOT NULL,
            content_sha256 TEXT NOT NULL,
            message_id TEXT UNIQUE,
            postal_reference TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            queued_at TEXT NOT NULL,
            sent_at TEXT,
            updated_at TEXT NOT NULL,
            UNIQUE (campaign, letter_id, channel)
        )"""


def _replies_table(name: str, contacts: str) -> str:
    """Return the CREATE TABLE statement of the replies table under `name`, referring to `contacts`."""
    return f"""CREATE TABLE {name} (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES {contacts} (id) ON DELETE CASCADE,
            outcome TEXT NOT NULL CHECK (outcome IN ({_OUTCOME_LIST})),
            reply_date TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            recorded_at TEXT NOT NULL
        )"""


# Each entry takes the schema from version N to N+1; append, never edit a released step.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        _contacts_table("contacts", _STATES_V1),
        "CREATE INDEX contacts_member ON contacts (member_id)",
        "CREATE INDEX contacts_state ON contacts (state)",
        _replies_table("replies", "contacts"),
        "CREATE INDEX replies_contact ON replies (contact_id)",
        """CREATE TABLE suppressions (
            member_id INTEGER PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL,
            suppressed_at TEXT NOT NULL
        )""",
    ),
    # 2: the state `deferred` (issue 14). SQLite cannot change a CHECK constraint in place, so both tables are
    # copied (https://www.sqlite.org/lang_altertable.html, section 7). The replies go first: dropping `contacts`
    # while replies still refer to it would delete them by ON DELETE CASCADE (foreign keys are on, and cannot be
    # turned off inside the migration's transaction). Renaming the new contacts table rewrites the new replies
    # table's reference to the final name (SQLite 3.26+, legacy_alter_table off).
    (
        _contacts_table("contacts_v2", _STATES_V2),
        "INSERT INTO contacts_v2 SELECT * FROM contacts",
        _replies_table("replies_v2", "contacts_v2"),
        "INSERT INTO replies_v2 SELECT * FROM replies",
        "DROP TABLE replies",
        "DROP TABLE contacts",
        "ALTER TABLE contacts_v2 RENAME TO contacts",
        "ALTER TABLE replies_v2 RENAME TO replies",
        "CREATE INDEX contacts_member ON contacts (member_id)",
        "CREATE INDEX contacts_state ON contacts (state)",
        "CREATE INDEX replies_contact ON replies (contact_id)",
    ),
    # 3: `outreach inbox` (issue 14, item 4). A later step that copies `contacts` must copy inbox_messages first,
    # as step 2 does the replies (ON DELETE CASCADE).
    (
        # Where `outreach inbox` has read each mailbox folder to, as mail clients keep it (RFC 3501 2.3.1.1: a UID
        # means nothing once the folder's UIDVALIDITY changes), and every message it matched to a letter, once
        # (`message_key`: its Message-ID, or a hash of its headers when it has none). UIDs and UIDVALIDITY are
        # 32-bit unsigned: BIGINT, which SQLite reads as INTEGER.
        """CREATE TABLE inbox_positions (
            mailbox TEXT NOT NULL,
            folder TEXT NOT NULL,
            uidvalidity BIGINT NOT NULL,
            last_uid BIGINT NOT NULL,
            read_at TEXT NOT NULL,
            PRIMARY KEY (mailbox, folder)
        )""",
        f"""CREATE TABLE inbox_messages (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ({sql_list(INBOX_KINDS)})),
            message_key TEXT NOT NULL,
            sender TEXT NOT NULL,
            subject TEXT NOT NULL,
            received_at TEXT NOT NULL,
            matched_by TEXT NOT NULL CHECK (matched_by IN ({sql_list(MATCHED_BY)})),
            reason TEXT NOT NULL DEFAULT '',
            mailbox TEXT NOT NULL,
            folder TEXT NOT NULL,
            uid BIGINT,
            recorded_at TEXT NOT NULL,
            UNIQUE (contact_id, message_key)
        )""",
        "CREATE INDEX inbox_messages_contact ON inbox_messages (contact_id)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# The queries' shared parts. A contact with its latest reply (by reply date, then the order recorded).
SELECT = """
    SELECT c.*, r.outcome AS reply_outcome, r.reply_date AS reply_date, r.note AS reply_note
    FROM contacts AS c
    LEFT JOIN replies AS r ON r.id = (
        SELECT id FROM replies WHERE contact_id = c.id ORDER BY reply_date DESC, id DESC LIMIT 1
    )
"""
ORDER = " ORDER BY COALESCE(c.sent_at, c.queued_at), c.id"
KEY = "campaign = ? AND letter_id = ? AND channel = ?"


def connect(path: Path) -> sqlite3.Connection:
    """Return a connection to the log at `path` (":memory:" for an empty one), created and migrated if need be.

    WAL with synchronous=FULL: every commit is fsynced before it returns (see the design in `outreach.ledger`).
    The file is checked before anything is written to it: another program's SQLite file, a log missing a table or
    column, or one with a damaged page is refused with one line (LedgerError), never migrated or written into.
    """
    in_memory = str(path) == ":memory:"  # an empty log to read from when no file exists yet
    created = not in_memory and not path.exists()
    try:
        if not in_memory:
            path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; every write opens its own BEGIN IMMEDIATE.
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise LedgerError(f"{path}: cannot open the contact log ({exc})") from None
    if created:
        # Personal data: readable by its owner only (SQLite gives the -wal and -shm files the same mode).
        os.chmod(path, 0o600)
    db.row_factory = sqlite3.Row
    try:
        # Checked before the first write (turning WAL on rewrites the header): a file refused is left as it was.
        version = schema_version(db)
        _refuse_foreign(db, path, version)
        _check_pages(db, path)
        if version == SCHEMA_VERSION:
            _check_columns(db, path)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        _migrate(db, path)
        if version != SCHEMA_VERSION:
            _check_columns(db, path)
    except BaseException as exc:
        db.close()
        if is_fault(exc):
            raise fault(path, exc) from None
        raise
    return db


# SQLite's primary result codes (https://sqlite.org/rescode.html) for the faults a user can meet, each with what to do.
_FAULTS = {
    sqlite3.SQLITE_CORRUPT: "the contact log is damaged; restore it from a backup (sqlite3 .recover salvages rows)",
    sqlite3.SQLITE_NOTADB: "not a contact log outreach can read",
    sqlite3.SQLITE_READONLY: "the contact log is read-only; make the file and its folder writable",
    sqlite3.SQLITE_CANTOPEN: "cannot open the contact log; check the file and its folder can be written",
    sqlite3.SQLITE_FULL: "the disk holding the contact log is full; free some space",
    sqlite3.SQLITE_IOERR: "the contact log could not be read or written",
    sqlite3.SQLITE_PERM: "the contact log may not be written here",
}


def is_fault(exc: BaseException) -> bool:
    """Return whether an exception is a fault of the log's file or of its input, not a bug in outreach.

    SQLite's ProgrammingError, InterfaceError and the like are bugs and keep their traceback.
    """
    faults = (sqlite3.DatabaseError, sqlite3.OperationalError, sqlite3.IntegrityError, sqlite3.DataError)
    return isinstance(exc, OverflowError) or type(exc) in faults


def fault(path: Path, exc: BaseException) -> LedgerError:
    """Return the one-line LedgerError for an SQLite failure on the log at `path`: what happened and what to do."""
    if isinstance(exc, OverflowError):  # Python's int is unbounded; SQLite's INTEGER is 64 bits
        return LedgerError(f"{path}: a number too large for the contact log ({exc})")
    code = getattr(exc, "sqlite_errorcode", None)
    # An extended result code keeps its primary code in the low byte.
    what = _FAULTS.get(code & 0xFF) if isinstance(code, int) else None
    return LedgerError(f"{path}: {what or 'the contact log failed'} ({exc})")


def _refuse_foreign(db: sqlite3.Connection, path: Path, version: int) -> None:
    """Refuse an SQLite file that another program made: no schema version of ours, yet tables already in it."""
    if version != 0:
        return
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    if tables:
        raise LedgerError(
            f"{path}: not an outreach contact log (an SQLite file holding {', '.join(tables[:5])}); "
            "point OUTREACH_HOME at another folder or move the file away"
        )


@cache
def expected_columns() -> dict[str, frozenset[str]]:
    """Return each table's columns as MIGRATIONS make them (built once in memory, so the check never drifts)."""
    db = sqlite3.connect(":memory:")
    try:
        for statements in MIGRATIONS:
            for statement in statements:
                db.execute(statement)
        return _columns(db)
    finally:
        db.close()


def _columns(db: sqlite3.Connection) -> dict[str, frozenset[str]]:
    """Return the columns of every table in a database, by table."""
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {table: frozenset(row[1] for row in db.execute(f'PRAGMA table_info("{table}")')) for table in tables}


def _check_columns(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a log missing a table or a column that its schema version should have."""
    found = _columns(db)
    for table, columns in expected_columns().items():
        if table not in found:
            raise LedgerError(f"{path}: the contact log has no '{table}' table; restore it from a backup")
        missing = sorted(columns - found[table])
        if missing:
            raise LedgerError(
                f"{path}: the contact log's '{table}' table lacks column {', '.join(map(repr, missing))}; "
                "restore it from a backup"
            )


def _check_pages(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a log with a damaged page (PRAGMA quick_check)."""
    # quick_check reads every page (milliseconds for a campaign's log): a damaged log is refused before a send
    # starts rather than part-way through it.
    first = db.execute("PRAGMA quick_check(1)").fetchone()[0]
    if first != "ok":
        # SQLite's report spans lines ("*** in database main ***\nOn tree page 2 …"): keep the message one line.
        raise LedgerError(f"{path}: {_FAULTS[sqlite3.SQLITE_CORRUPT]} ({' '.join(str(first).split())[:200]})")


def schema_version(db: sqlite3.Connection) -> int:
    """Return the file's schema version (PRAGMA user_version)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations the file lacks, each in one transaction with its version bump."""
    if schema_version(db) == SCHEMA_VERSION:
        return
    with transaction(db):
        # Read again inside the write lock: another process may have migrated while this one waited.
        version = schema_version(db)
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"{path}: schema version {version} is newer than this outreach understands "
                f"({SCHEMA_VERSION}); upgrade outreach to read it"
            )
        for step, statements in enumerate(MIGRATIONS[version:], version + 1):
            for statement in statements:
                db.execute(statement)
            # PRAGMA user_version is written in the same transaction as the step, so a step is all or nothing.
            db.execute(f"PRAGMA user_version = {step}")


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Yield the connection inside BEGIN IMMEDIATE (the write lock taken up front); commit, or roll back."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        # A COMMIT refused (a full disk) leaves the transaction open: roll it back too, so nothing half-done stays.
        if db.in_transaction:
            with suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise
