"""The outbox: safe file names, the manifest, and a folder that is written whole or not at all.

A draft is written into a temporary folder beside the outbox and moved into place only when every file is there,
so a failure part-way leaves the previous outbox as it was; an outbox that exists is replaced only with --force.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.errors import OutputError

if TYPE_CHECKING:  # only for hints: `send` reads the manifest without loading the targeting machinery
    from outreach.targeting import Target

MANIFEST_COLUMNS = (
    "letter_id",
    "member_id",
    "kind",
    "template",
    "name",
    "constituency",
    "constituency_code",
    "posts",
    "salutation",
    "address",
    "email",
    "asks",
    "local_sites",
    "nearest_centre",
    "nearest_centre_km",
    "flags",
    "markdown",
    "pdf",
    "docx",
    "subject",
    "letter_date",
    "nation",
    "party",
    "campaign",
)
LETTERS_DIR = "letters"
MERGED_PDF = "print.pdf"
MANIFEST = "manifest.csv"


def slug(text: str, limit: int = 60) -> str:
    """Return a file-name-safe slug: ASCII letters, digits and single hyphens, never empty, never a path."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return cleaned[:limit].rstrip("-") or "letter"


def letter_stem(target: Target) -> str:
    """Return the file stem of a target's letter: its id, then who it is for (e.g. 4366-seat-ynys-mon)."""
    about = target.constituency.name if target.kind == "seat" and target.constituency else target.name
    return f"{slug(target.letter_id, 40)}-{slug(about)}"


def inside(folder: Path, relative: str) -> Path:
    """Return folder/relative, refusing any path that would land outside the folder."""
    if os.path.isabs(relative) or ".." in Path(relative).parts or "\x00" in relative:
        raise OutputError(f"{relative}: refusing to write outside the outbox {folder}")
    return folder / relative


@contextmanager
def staging(out: Path, *, force: bool) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `out`; on success it replaces `out` (which needs --force if present)."""
    out = out.expanduser()
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputError(f"{out}: outbox already holds files; use --force to replace it, or --out for another")
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        raise OutputError(f"{out}: cannot write here ({exc.strerror})") from None
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old: Path | None = None
    if out.exists():
        old = parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    stage.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_text(path: Path, text: str) -> None:
    """Write a UTF-8 text file (its folder must exist), raising OutputError on failure."""
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None


def manifest_text(rows: Sequence[dict[str, str]]) -> str:
    """Return the manifest as CSV text, header first."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
