"""`outreach log migrate --to URL`: a local SQLite log copied into a team's database, in one transaction.

Contacts are matched by the ledger key (campaign, letter_id, channel) and suppressions by member: a row already in
the team's log with the same content is left as it is (so copying twice changes nothing), and one with different
content stops the copy before anything is written, naming the row and the column. Replies are copied with their
contact; an identical reply already there is not added twice. The team's log then knows the local log's id, so an
outbox first sent from the local log can be sent on from the team's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outreach.ledger.engine import Database, IntegrityViolation
from outreach.ledger.log import Ledger
from outreach.ledger.records import LedgerError, now, utc_text

_TABLES = ("contacts", "replies", "suppressions", "inbox_messages", "inbox_positions")
# What a reply is, as two logs compare them (its id and contact id are each log's own).
_REPLY_FIELDS = ("outcome", "reply_date", "note", "recorded_at", "by_user", "machine")


@dataclass
class Copied:
    """What a copy did: rows added, and rows already there with the same content, per table."""

    added: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_TABLES, 0))
    same: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_TABLES, 0))


def _columns(row: Any, skip: tuple[str, ...] = ("id",)) -> list[str]:
    """Return a row's columns but its own ids."""
    return [name for name in row.keys() if name not in skip]


def _refuse_different(found: Any, row: Any, columns: list[str], what: str, where: str) -> None:
    """Refuse (LedgerError, one line) a row the team's log holds with other content than the local one."""
    differs = next((name for name in columns if found[name] != row[name]), None)
    if differs is not None:
        raise LedgerError(
            f"{what}: already in {where} with a different {differs} ({found[differs]!r}, here {row[differs]!r}); "
            "nothing was copied"
        )


def _insert(db: Database, table: str, values: dict[str, Any]) -> None:
    """Insert one row (column names are the log's own, never user input)."""
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values.values()))


def copy_log(source: Ledger, target: Ledger) -> Copied:
    """Return what copying every contact, reply and suppression of `source` into `target` did, in one transaction."""
    if source.log_id() == target.log_id():
        raise LedgerError(f"{target.where} is the log being copied (log id {source.log_id()}): nothing to do")
    copied = Copied()
    reading: Database = source._db
    with target._transaction() as db:
        ids: dict[int, int] = {}
        for row in reading.execute("SELECT * FROM contacts ORDER BY id"):
            ids[row["id"]] = _copy_contact(db, row, copied, target.where)
        for row in reading.execute("SELECT * FROM replies ORDER BY id"):
            _copy_reply(db, row, ids[row["contact_id"]], copied)
        for row in reading.execute("SELECT * FROM suppressions ORDER BY member_id"):
            _copy_suppression(db, row, copied, target.where)
        _copy_inbox(reading, db, ids, copied, target.where)
        # Outboxes first sent from the local log may go on from the team's (see `delivery.run.bind_outbox`).
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (f"absorbed:{source.log_id()}", utc_text(now())),
        )
    return copied


def _copy_contact(db: Database, row: Any, copied: Copied, where: str) -> int:
    """Return the team log's id of a contact: the same row already there, or the row added."""
    key = (row["campaign"], row["letter_id"], row["channel"])
    columns = _columns(row)
    found = db.execute("SELECT * FROM contacts WHERE campaign = ? AND letter_id = ? AND channel = ?", key).fetchone()
    if found is not None:
        _refuse_different(found, row, columns, f"{key[0]}/{key[1]} ({key[2]})", where)
        copied.same["contacts"] += 1
        return int(found["id"])
    try:
        _insert(db, "contacts", {name: row[name] for name in columns})
    except IntegrityViolation as exc:
        raise LedgerError(f"{key[0]}/{key[1]} ({key[2]}): cannot be copied ({exc}); nothing was copied") from None
    copied.added["contacts"] += 1
    added = db.execute("SELECT id FROM contacts WHERE campaign = ? AND letter_id = ? AND channel = ?", key).fetchone()
    return int(added[0])


def _copy_reply(db: Database, row: Any, contact_id: int, copied: Copied) -> None:
    """Add a reply to its contact in the team's log, unless the same reply is there."""
    values = {name: row[name] for name in _REPLY_FIELDS}
    same = " AND ".join(f"{name} = ?" for name in values)
    if db.execute(f"SELECT 1 FROM replies WHERE contact_id = ? AND {same}", (contact_id, *values.values())).fetchone():
        copied.same["replies"] += 1
        return
    _insert(db, "replies", {"contact_id": contact_id, **values})
    copied.added["replies"] += 1


def _copy_suppression(db: Database, row: Any, copied: Copied, where: str) -> None:
    """Add a suppression to the team's log, unless the same one is there; refuse a different one for the member."""
    columns = _columns(row, skip=())
    found = db.execute("SELECT * FROM suppressions WHERE member_id = ?", (row["member_id"],)).fetchone()
    if found is None:
        _insert(db, "suppressions", {name: row[name] for name in columns})
        copied.added["suppressions"] += 1
        return
    _refuse_different(found, row, columns, f"suppression of member {row['member_id']}", where)
    copied.same["suppressions"] += 1


def _copy_inbox(reading: Database, db: Database, ids: dict[int, int], copied: Copied, where: str) -> None:
    """Copy what `outreach inbox` recorded: the messages matched to letters, and how far each folder was read."""
    for row in reading.execute("SELECT * FROM inbox_messages ORDER BY id"):
        contact_id = ids[row["contact_id"]]
        columns = _columns(row, skip=("id", "contact_id"))
        found = db.execute(
            "SELECT * FROM inbox_messages WHERE contact_id = ? AND message_key = ?", (contact_id, row["message_key"])
        ).fetchone()
        if found is None:
            _insert(db, "inbox_messages", {"contact_id": contact_id, **{name: row[name] for name in columns}})
            copied.added["inbox_messages"] += 1
        else:
            _refuse_different(found, row, columns, f"inbox message {row['message_key']}", where)
            copied.same["inbox_messages"] += 1
    for row in reading.execute("SELECT * FROM inbox_positions ORDER BY mailbox, folder"):
        columns = _columns(row, skip=())
        found = db.execute(
            "SELECT * FROM inbox_positions WHERE mailbox = ? AND folder = ?", (row["mailbox"], row["folder"])
        ).fetchone()
        if found is None:
            _insert(db, "inbox_positions", {name: row[name] for name in columns})
            copied.added["inbox_positions"] += 1
        else:
            _refuse_different(found, row, columns, f"inbox position of {row['mailbox']} {row['folder']}", where)
            copied.same["inbox_positions"] += 1
