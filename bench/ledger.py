"""Time the contact log's state changes as a 650-letter send makes them: enqueue, then begin_sending + mark_sent each.

Usage: python bench/ledger.py [FOLDER ...]   (default: a temporary folder under /work and one under /dev/shm)

Each state change is one committed transaction with synchronous=FULL (an fsync of the WAL), so the figure is mostly
the file system's fsync time; the same run with synchronous=NORMAL is printed beside it for comparison.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from outreach.ledger import Ledger

LETTERS = 650


def run(folder: Path, synchronous: str) -> tuple[float, float]:
    """Return seconds for 650 enqueues, and for 1,300 state changes (begin_sending + mark_sent per letter)."""
    path = folder / f"bench-{synchronous.lower()}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with Ledger(path) as ledger:
        connection: sqlite3.Connection = ledger._db  # the bench alone switches durability, to compare
        connection.execute(f"PRAGMA synchronous = {synchronous}")
        started = time.perf_counter()
        for number in range(LETTERS):
            ledger.enqueue(
                campaign="bench",
                letter_id=f"{number}-seat",
                channel="email",
                member_id=number,
                name=f"Member {number}",
                recipient=f"member{number}@parliament.uk",
                asks=("workforce", "registration"),
                content_sha256="0" * 64,
                message_id=f"<{number}.bench@ipem.ac.uk>",
            )
        queued = time.perf_counter() - started
        started = time.perf_counter()
        for number in range(LETTERS):
            ledger.begin_sending("bench", f"{number}-seat", "email")
            ledger.mark_sent("bench", f"{number}-seat", "email")
        changes = time.perf_counter() - started
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return queued, changes


def main() -> None:
    """Print the figures for each folder."""
    folders = [Path(arg) for arg in sys.argv[1:]] or [Path("/work"), Path("/dev/shm")]
    for base in folders:
        with tempfile.TemporaryDirectory(dir=base, prefix="outreach-bench-") as temporary:
            for synchronous in ("FULL", "NORMAL"):
                queued, changes = run(Path(temporary), synchronous)
                print(
                    f"{base}: synchronous={synchronous}: {LETTERS} enqueues {queued:.2f} s; "
                    f"{2 * LETTERS} state changes {changes:.2f} s ({changes / (2 * LETTERS) * 1000:.2f} ms each)"
                )


if __name__ == "__main__":
    main()
