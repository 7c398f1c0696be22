"""The contact log in PostgreSQL (psycopg 3): a team's shared log, the same schema and rules as the SQLite file.

The password comes from the URL, PGPASSWORD or ~/.pgpass (libpq reads all three) and is never printed: messages
name the URL with its password hidden. A database on another host is reached over TLS with its certificate and
name verified (sslmode=verify-full) unless the URL's own sslmode says otherwise: the rule the hardening issue set
for every credential outreach sends.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from outreach.ledger.engine import (
    _WRITE_LOCK,
    BUSY_TIMEOUT_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    Cursor,
    Database,
    IntegrityViolation,
    needs_tls,
    redact,
    source_error,
)
from outreach.ledger.records import LedgerError

# The schema version lives in its own one-row table (SQLite keeps it in PRAGMA user_version).
VERSION_TABLE = "outreach_schema"


class _Row:
    """A row read by column name or by position, as sqlite3.Row is."""

    __slots__ = ("_index", "_names", "_values")

    def __init__(self, names: list[str], index: dict[str, int], values: Sequence[Any]) -> None:
        self._names, self._index, self._values = names, index, values

    def __getitem__(self, key: int | str, /) -> Any:
        return self._values[key if isinstance(key, int) else self._index[key]]

    def keys(self) -> list[str]:
        """Return the column names."""
        return list(self._names)


def _rows(cursor: Any) -> Callable[[Sequence[Any]], _Row]:
    """Return psycopg's row maker for a cursor: rows that read like sqlite3.Row."""
    names = [column.name for column in cursor.description or ()]
    index = {name: position for position, name in enumerate(names)}
    return lambda values: _Row(names, index, values)


@lru_cache(maxsize=256)
def _adapt(sql: str) -> str:
    """Return a statement with `?` placeholders as psycopg takes it (`%s`, a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _one_line(exc: BaseException) -> str:
    """Return a driver's message on one line (PostgreSQL adds DETAIL and HINT lines)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def tls_options(url: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the connection options outreach adds to a URL: sslmode=verify-full for a database on another host,
    unless the URL or PGSSLMODE names an sslmode (loopback and Unix sockets need none)."""
    environment = os.environ if environ is None else environ
    params = conninfo_to_dict(url)
    hosts = str(params.get("host") or environment.get("PGHOST") or "").split(",")
    if "sslmode" in params or environment.get("PGSSLMODE") or not needs_tls(hosts):
        return {}
    return {"sslmode": "verify-full"}


class PostgresDatabase(Database):
    """One connection to a team's contact log in PostgreSQL, in autocommit: each write opens its own transaction."""

    kind = "postgresql"

    def __init__(self, url: str) -> None:
        self.where = redact(url)
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise LedgerError(f"{self.where}: not a database URL outreach can read ({_one_line(exc)})") from None
        self._password = str(params.get("password") or os.environ.get("PGPASSWORD") or "")
        try:
            # libpq reads the password from the URL, PGPASSWORD or ~/.pgpass; the TLS rule is added to the URL's own.
            self.connection: psycopg.Connection[Any] = psycopg.connect(
                make_conninfo(url, connect_timeout=CONNECT_TIMEOUT_SECONDS, **tls_options(url)),
                autocommit=True,
                row_factory=_rows,
            )
        except psycopg.Error as exc:
            raise source_error(self.where, exc, self._password) from None
        # A writer waits this long for another's transaction, as SQLite's busy timeout does.
        self.execute(f"SET lock_timeout = '{int(BUSY_TIMEOUT_SECONDS * 1000)}ms'")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Return the cursor of one statement; IntegrityViolation when it breaks a rule of the log."""
        try:
            return self.connection.execute(_adapt(sql), tuple(params))
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityViolation(_one_line(exc)) from None
        except psycopg.OperationalError as exc:
            raise source_error(self.where, exc, self._password) from None
        except psycopg.Error as exc:
            raise LedgerError(f"{self.where}: {_one_line(exc)}") from None

    def begin(self) -> None:
        """Open a transaction holding the log's advisory write lock: the counterpart of SQLite's BEGIN IMMEDIATE."""
        self.execute("BEGIN")
        try:
            self.execute("SELECT pg_advisory_xact_lock(?)", (_WRITE_LOCK,))
        except BaseException:
            self.rollback()
            raise

    def rollback(self) -> None:
        """Roll back the open transaction; a connection already lost has nothing to roll back."""
        try:
            self.connection.execute("ROLLBACK")
        except psycopg.Error:
            pass

    def schema_version(self) -> int:
        """Return the version in the outreach_schema table (0 when the database holds no log yet)."""
        # A query of the catalog table, not to_regclass(): that reads the catalog cache, which a migration that
        # another process committed while this one waited for the write lock may not have reached yet.
        found = self.execute(
            "SELECT 1 FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE c.relname = ? AND n.nspname = current_schema()",
            (VERSION_TABLE,),
        ).fetchone()
        if found is None:
            return 0
        row = self.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()
        return int(row[0]) if row else 0

    def set_schema_version(self, version: int) -> None:
        """Record the schema version, in the migration's transaction (so a step is all or nothing)."""
        self.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
        self.execute(f"DELETE FROM {VERSION_TABLE}")
        self.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (?)", (version,))

    def ddl(self, statement: str) -> str:
        """Return a statement written for SQLite in PostgreSQL's types: identity keys, BIGINT, C-collated TEXT."""
        statement = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", statement)
        statement = re.sub(r"\bINTEGER\b", "BIGINT", statement)
        # Byte order, as SQLite's BINARY collation: ISO timestamps compare as text in time order on both engines.
        return re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', statement)

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()
