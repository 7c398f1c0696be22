"""The contact log's file: its schema as one ordered list of migrations, and opening a connection to it.

``PRAGMA user_version`` holds the schema version; ``MIGRATIONS`` is the ordered list of steps from an empty file,
each applied in one transaction with the version bump. A file from a newer outreach is refused with one line.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from outreach.ledger.records import LedgerError
from outreach.ledger.states import CHANNELS, OUTCOMES, sql_list

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
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        _migrate(db, path)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise LedgerError(f"{path}: not a contact log outreach can read ({exc})") from None
    except BaseException:
        db.close()
        raise
    return db


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
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
