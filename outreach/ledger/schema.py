"""The contact log's schema as one ordered list of migrations for both engines, and opening a connection to it.

The schema version is PRAGMA user_version in an SQLite file and the outreach_schema table in PostgreSQL;
``MIGRATIONS`` is the ordered list of steps from an empty log, each applied in one transaction with the version bump.
A statement is written once, in SQLite's dialect (`Database.ddl` adapts it to PostgreSQL); a step may also hold a
function of the open connection, for what SQL alone cannot say (a new log's id). A log from a newer outreach is
refused with one line, and an SQLite file is checked before anything is written to it.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from outreach.ledger.engine import BUSY_TIMEOUT_SECONDS, Database, SqliteDatabase, open_database
from outreach.ledger.records import LedgerError
from outreach.ledger.states import CHANNELS, INBOX_KINDS, MATCHED_BY, OUTCOMES, sql_list

DATABASE_FILE = "outreach.db"
__all__ = ["BUSY_TIMEOUT_SECONDS", "DATABASE_FILE", "MIGRATIONS", "SCHEMA_VERSION", "connect", "transaction"]

_CHANNEL_LIST = sql_list(CHANNELS)
_OUTCOME_LIST = sql_list(OUTCOMES)
# The states each released step allows, written out: a released step never changes, even when State grows.
_STATES_V1 = sql_list(("queued", "sending", "sent", "failed", "uncertain"))
_STATES_V2 = sql_list(("queued", "sending", "sent", "deferred", "failed", "uncertain"))


def _new_log_id(db: Database) -> None:
    """Give a new log its id, made once with the schema: outboxes record it (see `Ledger.log_id`)."""
    db.execute("INSERT INTO meta (key, value) VALUES ('log_id', ?)", (str(uuid.uuid4()),))


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


# A step's statements run in order; a function is called with the open connection.
Step = tuple[str | Callable[[Database], None], ...]

# Each entry takes the schema from version N to N+1; append, never edit a released step.
MIGRATIONS: tuple[Step, ...] = (
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
    # 4: the log's id (issue 12, item 10) and who did what, on which machine (issue 15, item 2).
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        _new_log_id,
        "ALTER TABLE contacts ADD COLUMN by_user TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE contacts ADD COLUMN machine TEXT NOT NULL DEFAULT ''",
        # A `sending` row's owner (the machine above, and this process) and its lease: only an expired lease, or
        # an owner process gone from this machine, lets another run settle the row as uncertain.
        "ALTER TABLE contacts ADD COLUMN owner_pid INTEGER",
        "ALTER TABLE contacts ADD COLUMN lease_until TEXT",
        "ALTER TABLE replies ADD COLUMN by_user TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE replies ADD COLUMN machine TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE suppressions ADD COLUMN by_user TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE suppressions ADD COLUMN machine TEXT NOT NULL DEFAULT ''",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
# The first version with the log's id and the senders' leases (`outreach log check` looks for them from here on).
IDENTIFIED_VERSION = next(number for number, step in enumerate(MIGRATIONS, 1) if _new_log_id in step)

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


def connect(target: Path | str) -> Database:
    """Return a connection to the log a target names (a file, ":memory:", or a postgresql:// URL), migrated.

    SQLite: WAL with synchronous=FULL, every commit fsynced before it returns (see the design in `outreach.ledger`).
    The file is checked before anything is written to it: another program's SQLite file, a log missing a table or
    column, or one with a damaged page is refused with one line (LedgerError), never migrated or written into.
    """
    db = open_database(target)
    try:
        if isinstance(db, SqliteDatabase):
            # Checked before the first write (turning WAL on rewrites the header): a file refused is left as it was.
            version = db.schema_version()
            _refuse_foreign(db.connection, db.where, version)
            _check_pages(db.connection, db.where)
            if version == SCHEMA_VERSION:
                _check_columns(db.connection, db.where)
            db.start()
        _migrate(db)
        if isinstance(db, SqliteDatabase) and version != SCHEMA_VERSION:
            _check_columns(db.connection, db.where)
    except BaseException as exc:
        db.close()
        if is_fault(exc):
            raise fault(db.where, exc) from None
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


def fault(path: Path | str, exc: BaseException) -> LedgerError:
    """Return the one-line LedgerError for an SQLite failure on the log at `path`: what happened and what to do."""
    if isinstance(exc, OverflowError):  # Python's int is unbounded; SQLite's INTEGER is 64 bits
        return LedgerError(f"{path}: a number too large for the contact log ({exc})")
    code = getattr(exc, "sqlite_errorcode", None)
    # An extended result code keeps its primary code in the low byte.
    what = _FAULTS.get(code & 0xFF) if isinstance(code, int) else None
    return LedgerError(f"{path}: {what or 'the contact log failed'} ({exc})")


def _refuse_foreign(db: sqlite3.Connection, path: str, version: int) -> None:
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
    db = SqliteDatabase(Path(":memory:"))
    try:
        for statements in MIGRATIONS:
            for statement in statements:
                if isinstance(statement, str):
                    db.execute(statement)
                else:
                    statement(db)
        return _columns(db.connection)
    finally:
        db.close()


def _columns(db: sqlite3.Connection) -> dict[str, frozenset[str]]:
    """Return the columns of every table in a database, by table."""
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {table: frozenset(row[1] for row in db.execute(f'PRAGMA table_info("{table}")')) for table in tables}


def _check_columns(db: sqlite3.Connection, path: str) -> None:
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


def _check_pages(db: sqlite3.Connection, path: str) -> None:
    """Refuse a log with a damaged page (PRAGMA quick_check)."""
    # quick_check reads every page (milliseconds for a campaign's log): a damaged log is refused before a send
    # starts rather than part-way through it.
    first = db.execute("PRAGMA quick_check(1)").fetchone()[0]
    if first != "ok":
        # SQLite's report spans lines ("*** in database main ***\nOn tree page 2 …"): keep the message one line.
        raise LedgerError(f"{path}: {_FAULTS[sqlite3.SQLITE_CORRUPT]} ({' '.join(str(first).split())[:200]})")


def schema_version(db: Database) -> int:
    """Return the log's schema version."""
    return db.schema_version()


def _migrate(db: Database) -> None:
    """Apply the migrations the log lacks, each in one transaction with its version bump."""
    if db.schema_version() == SCHEMA_VERSION:
        return
    with db.transaction():
        # Read again inside the write lock: another process may have migrated while this one waited.
        version = db.schema_version()
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"{db.where}: schema version {version} is newer than this outreach understands "
                f"({SCHEMA_VERSION}); upgrade outreach to read it"
            )
        for step, statements in enumerate(MIGRATIONS[version:], version + 1):
            for statement in statements:
                if isinstance(statement, str):
                    db.execute(db.ddl(statement))
                else:
                    statement(db)
            # The version is written in the same transaction as the step, so a step is all or nothing.
            db.set_schema_version(step)


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """Yield the connection inside a write transaction (the write lock taken up front); commit, or roll back."""
    with db.transaction():
        yield db
