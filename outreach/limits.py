"""The stated limits on what outreach reads and renders: past one, the input is refused with one line naming it.

Each is far above anything real and far below what would exhaust a machine: an IPEM letter's Markdown is about
4 kB, a manifest cell at most a few hundred characters, the shipped campaign.toml 34 kB, the largest snapshot CSV
300 kB, a letter's PDF 60 kB; a 54 MB letter body once took 24 GB of memory. Sizes are checked before a file is
read, so an oversized one costs nothing to refuse. README "Safety" states them: change both together.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from outreach.errors import DataError

KIB = 1024
MIB = 1024 * KIB

LETTER_BYTES = 64 * KIB  # a letter: its rendered Markdown (UTF-8), as a template makes it and as `send` reads it
FIELD_CHARS = 10_000  # a single field: a manifest cell, a cell of an input CSV
CAMPAIGN_FILE_BYTES = 1 * MIB  # campaign.toml, and each template
CSV_BYTES = 20 * MIB  # an input CSV: manifest.csv, address_overrides.csv, known_changes.csv, a snapshot's CSVs
ATTACHMENT_BYTES = 10 * MIB  # each PDF `send` attaches: the letter's, an enclosure
RENDER_MEMORY_BYTES = 1024 * MIB  # the memory rendering the letters may add ({{ range(99999)|join(x) }} and the like)


def size(count: int) -> str:
    """Return a size in bytes for people: '64 KiB', '53.6 MiB', '1 GiB'."""
    if count >= 1024 * MIB:
        return f"{count / (1024 * MIB):.1f} GiB".replace(".0 ", " ")
    if count >= MIB:
        return f"{count / MIB:.1f} MiB".replace(".0 ", " ")
    if count >= KIB:
        return f"{count / KIB:.1f} KiB".replace(".0 ", " ")
    return f"{count} bytes"


def check_file(path: Path, limit: int, what: str, where: str | None = None) -> None:
    """Return nothing when the file at `path` is within `limit` bytes; DataError naming it (and `where`) when over.

    A stat, not a read: a file of any size is refused at once.
    """
    try:
        found = os.stat(path).st_size
    except OSError:
        return  # reading it will say why, in the reader's own words
    check_size(found, limit, what, where or str(path))


def check_size(found: int, limit: int, what: str, where: str) -> None:
    """Return nothing when `found` bytes are within `limit`; DataError naming `where` and `what` when over."""
    if found > limit:
        raise DataError(f"{where}: {what} is {size(found)}, over the limit of {size(limit)}")


def read_bytes(path: Path, limit: int, what: str, where: str | None = None) -> bytes:
    """Return a file's bytes, refusing one over `limit` before reading it (and one that grows while it is read)."""
    check_file(path, limit, what, where)
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise DataError(f"{where or path}: {what} is over the limit of {size(limit)}")
    return data


def check_row(cells: Mapping[str, str | None], where: str) -> None:
    """Return nothing when every field of a CSV row is within FIELD_CHARS; DataError naming the row and column."""
    for column, value in cells.items():
        if value is not None and len(value) > FIELD_CHARS:
            raise DataError(f"{where}: {column} is {len(value):,} characters, over the limit of {FIELD_CHARS:,}")


@contextlib.contextmanager
def memory_cap(extra: int) -> Iterator[None]:
    """Return a context in which the process may grow by at most `extra` bytes; past that, MemoryError.

    Jinja's sandbox keeps a template from Python's internals, not from asking for gigabytes in one filter call
    ({{ range(99999)|join("x" * 60000) }}): with the address space capped, that allocation fails at once instead of
    taking the machine. A cap on the address space, not on what is resident, so it holds whatever the kernel's
    overcommit setting. Where the platform has no such limit (or no /proc), nothing is capped.
    """
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            yield  # a limit is already set (a whole draft's merge, or the user's own): keep it
            return
        with open("/proc/self/statm", encoding="ascii") as handle:
            used = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError):
        yield
        return
    cap = used + extra if hard == resource.RLIM_INFINITY else min(used + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
