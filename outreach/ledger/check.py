"""`outreach log check`: what a contact log must hold true, checked on either engine without changing it.

The schema's constraints keep most of it true as written, but a log can be restored from an old backup, copied
between machines, edited by hand or written by an older outreach: the check reads it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from outreach.ledger.engine import Database, open_database
from outreach.ledger.records import now, utc_text
from outreach.ledger.schema import IDENTIFIED_VERSION, SCHEMA_VERSION
from outreach.ledger.states import CHANNELS, STATES, State


@dataclass(frozen=True)
class Finding:
    """One thing the check found: what it is about, what it found, and whether the log is wrong (a problem)."""

    check: str
    detail: str
    problem: bool = True

    def as_json(self) -> dict[str, object]:
        """Return the finding as `log check --json` prints it."""
        return {"check": self.check, "detail": self.detail, "problem": self.problem}


def _keys(db: Database, sql: str, params: tuple[object, ...] = ()) -> list[str]:
    """Return the contacts a query selects (campaign, letter_id, channel) as people read them."""
    return [f"{row[0]}/{row[1]} ({row[2]})" for row in db.execute(sql, params)]


def _listed(keys: list[str], limit: int = 5) -> str:
    """Return at most `limit` keys, and how many more."""
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def check(db: Database) -> list[Finding]:
    """Return what the log holds that it should not (problems), and what a person may want to know (notes)."""
    version = db.schema_version()
    if version > SCHEMA_VERSION:
        return [Finding("schema", f"version {version} is newer than this outreach understands ({SCHEMA_VERSION})")]
    if version == 0:
        return [Finding("schema", "no contact log here (schema version 0)")]
    findings: list[Finding] = []
    if version < SCHEMA_VERSION:
        findings.append(
            Finding("schema", f"version {version}, older than {SCHEMA_VERSION}: any other command upgrades it", False)
        )
    findings += [Finding("integrity", line) for line in db.integrity()]
    findings += _vocabulary(db)
    orphans = [str(row[0]) for row in db.execute(
        "SELECT r.id FROM replies AS r LEFT JOIN contacts AS c ON c.id = r.contact_id WHERE c.id IS NULL ORDER BY r.id"
    )]  # fmt: skip
    if orphans:
        findings.append(Finding("replies", f"replies to no contact ({len(orphans)}): reply ids {_listed(orphans)}"))
    missing = _keys(
        db,
        "SELECT campaign, letter_id, channel FROM contacts WHERE state = ? AND channel = 'email' "
        "AND (message_id IS NULL OR message_id = '') ORDER BY id",
        (State.SENT,),
    )
    if missing:
        findings.append(Finding("message id", f"e-mails sent with no Message-ID ({len(missing)}): {_listed(missing)}"))
    undated = _keys(
        db, "SELECT campaign, letter_id, channel FROM contacts WHERE state = ? AND sent_at IS NULL", (State.SENT,)
    )
    if undated:
        findings.append(Finding("sent at", f"letters sent with no date ({len(undated)}): {_listed(undated)}"))
    if version >= IDENTIFIED_VERSION:
        findings += _identified(db)
    return findings


def _vocabulary(db: Database) -> list[Finding]:
    """Return the contacts whose state or channel the log does not know."""
    findings = []
    for column, known in (("state", STATES), ("channel", CHANNELS)):
        marks = ", ".join("?" for _ in known)
        odd = _keys(
            db, f"SELECT campaign, letter_id, channel FROM contacts WHERE {column} NOT IN ({marks}) ORDER BY id", known
        )
        if odd:
            findings.append(Finding(column, f"contacts in an unknown {column} ({len(odd)}): {_listed(odd)}"))
    return findings


def _identified(db: Database) -> list[Finding]:
    """Return what the checks of a log with an id and leases find: the id, and letters left mid-send."""
    findings = []
    ids = [row[0] for row in db.execute("SELECT value FROM meta WHERE key = 'log_id'")]
    if len(ids) != 1:
        findings.append(Finding("log id", f"log ids: {len(ids)} (one expected)"))
    lapsed = _keys(
        db,
        "SELECT campaign, letter_id, channel FROM contacts WHERE state = ? AND "
        "(lease_until IS NULL OR lease_until <= ?) ORDER BY id",
        (State.SENDING, utc_text(now())),
    )
    if lapsed:
        findings.append(
            Finding(
                "sending",
                f"letters left mid-send by a run that stopped ({len(lapsed)}; the next send marks them uncertain): "
                + _listed(lapsed),
                problem=False,
            )
        )
    return findings


def check_log(target: Path | str) -> tuple[str, list[Finding]]:
    """Return the log a target names (as messages name it) and what checking it found; a missing file is not
    created."""
    if isinstance(target, Path) and not target.is_file():
        return str(target), [Finding("log", "no contact log yet: nothing has been logged", problem=False)]
    db = open_database(target)
    try:
        return db.where, check(db)
    finally:
        db.close()
