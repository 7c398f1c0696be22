"""Time the contact log's state changes as a 650-letter send makes them, on SQLite and on PostgreSQL.

Usage: python bench/ledger.py [--url postgresql://…] [FOLDER ...]
(default folders: a temporary one under /work and one under /dev/shm; without --url a PostgreSQL server is started on
loopback from Debian's binaries for each folder, its data there, with PostgreSQL's default durability)

A send queues its letters in one transaction, then makes two state changes a letter (sending, then sent), each one
committed transaction. SQLite commits with synchronous=FULL (an fsync of the WAL each), so its figure is mostly the
file system's fsync time; the same run with synchronous=NORMAL is printed beside it. PostgreSQL commits with its
defaults (fsync on, synchronous_commit on) over a loopback connection, each write transaction also taking the log's
advisory write lock.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from postgres_server import start

from outreach.ledger import Ledger, Queued
from outreach.ledger.engine import SqliteDatabase

LETTERS = 650


def _queued(number: int) -> Queued:
    return Queued(
        campaign="bench",
        letter_id=f"{number}-seat",
        channel="email",
        member_id=number,
        name=f"Member {number}",
        recipient=f"member{number}@parliament.uk",
        asks=("workforce", "registration"),
        content_sha256="0" * 64,
        message_id=f"<{number}.{uuid.uuid4().hex}@ipem.ac.uk>",
    )


def run(ledger: Ledger) -> tuple[float, float]:
    """Return seconds to queue 650 letters (one transaction), and for their 1,300 state changes (one each)."""
    ledger.forget_campaign("bench")
    started = time.perf_counter()
    ledger.enqueue_all([_queued(number) for number in range(LETTERS)])
    queued = time.perf_counter() - started
    started = time.perf_counter()
    for number in range(LETTERS):
        ledger.begin_sending("bench", f"{number}-seat", "email")
        ledger.mark_sent("bench", f"{number}-seat", "email")
    changes = time.perf_counter() - started
    ledger.forget_campaign("bench")
    return queued, changes


def report(label: str, queued: float, changes: float) -> None:
    """Print one engine's figures."""
    print(
        f"{label}: {LETTERS} letters queued in {queued:.2f} s; {2 * LETTERS} state changes in {changes:.2f} s "
        f"= {2 * LETTERS / changes:,.0f} a second ({changes / (2 * LETTERS) * 1000:.2f} ms each)"
    )


def sqlite(base: Path) -> None:
    """Print SQLite's figures in a folder, with synchronous=FULL (as shipped) and NORMAL."""
    with tempfile.TemporaryDirectory(dir=base, prefix="outreach-bench-") as temporary:
        for synchronous in ("FULL", "NORMAL"):
            with Ledger(Path(temporary) / f"bench-{synchronous.lower()}.db") as ledger:
                database = ledger._db
                assert isinstance(database, SqliteDatabase)
                database.connection.execute(f"PRAGMA synchronous = {synchronous}")  # the bench alone switches it
                report(f"SQLite {base}, synchronous={synchronous}", *run(ledger))


def postgresql(url: str | None, base: Path) -> None:
    """Print PostgreSQL's figures: against `url`, or a server started for the bench in `base`."""
    if url is not None:
        with Ledger(url) as ledger:
            report(f"PostgreSQL {ledger.where}", *run(ledger))
        return
    server = start(durable=True, under=str(base))
    try:
        with Ledger(server.create_database("bench")) as ledger:
            report(f"PostgreSQL 15 on 127.0.0.1, data in {base}, defaults (fsync on)", *run(ledger))
    finally:
        server.stop()


def main() -> None:
    """Print the figures for each folder, SQLite's then PostgreSQL's (or once for --url)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a PostgreSQL database to bench (default: a server started on loopback)")
    parser.add_argument("folders", nargs="*", type=Path, default=[Path("/work"), Path("/dev/shm")])
    arguments = parser.parse_args()
    for base in arguments.folders:
        sqlite(base)
        if arguments.url is None:
            postgresql(None, base)
    if arguments.url is not None:
        postgresql(arguments.url, arguments.folders[0])


if __name__ == "__main__":
    main()
