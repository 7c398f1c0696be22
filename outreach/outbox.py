"""The outbox: safe file names, the manifest (written and read back), and a folder written whole or not at all.

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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.errors import DataError, OutputError
from outreach.ledger.records import is_member_id

if TYPE_CHECKING:  # only for hints: `send` reads the manifest without loading the targeting machinery
    from outreach.campaign import Enclosure
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
    "figures",
    "enclosures",
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


def _leaves(relative: str) -> bool:
    """Return whether a relative path would land outside the folder it is joined to."""
    return os.path.isabs(relative) or ".." in Path(relative).parts or "\x00" in relative


def inside(folder: Path, relative: str) -> Path:
    """Return folder/relative, refusing any path that would land outside the folder."""
    if _leaves(relative):
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


def copy_enclosures(stage: Path, enclosures: Sequence[Enclosure]) -> None:
    """Copy each enclosure once into the outbox being written, where the manifest's `enclosures` column says."""
    for enclosure in {item.outbox_path: item for item in enclosures}.values():
        target = inside(stage, enclosure.outbox_path)
        try:
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(enclosure.file, target)
        except OSError as exc:
            raise OutputError(f"{enclosure.file}: cannot copy the enclosure into the outbox ({exc.strerror})") from None


def manifest_text(rows: Sequence[dict[str, str]]) -> str:
    """Return the manifest as CSV text, header first."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@dataclass(frozen=True)
class ManifestRow:
    """One row of an outbox's manifest.csv, checked: its key cells typed, every cell as written."""

    outbox: Path
    where: str  # "<outbox>/manifest.csv:12", the line the row starts on
    line: int
    letter_id: str
    member_id: int
    asks: tuple[str, ...]
    cells: dict[str, str]

    def file(self, column: str) -> Path | None:
        """Return the outbox file a path column (markdown, pdf, docx) names, or None when the cell is empty."""
        found = self.files(column)
        return found[0] if found else None

    def files(self, column: str) -> tuple[Path, ...]:
        """Return the outbox files a `;`-separated path column (enclosures) names."""
        paths = [value.strip() for value in self.cells.get(column, "").split(";") if value.strip()]
        for value in paths:
            if _leaves(value):
                raise DataError(f"{self.where}: {column} path {value!r} leaves the outbox")
        return tuple(self.outbox / value for value in paths)


def read_manifest(folder: Path, required: Sequence[str]) -> list[ManifestRow]:
    """Return the rows of folder/manifest.csv, each checked; DataError names manifest.csv:line.

    Checked here for every reader: the file is there and has the `required` columns, each row has as many
    fields as the header, a letter id (4366-seat) that does not repeat, and a whole-number member_id.
    """
    path = folder / MANIFEST
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: no manifest here; give the outbox folder that 'outreach draft' wrote") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    needed = dict.fromkeys(("letter_id", "member_id", *required))
    missing = [column for column in needed if column not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"{path}:1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    rows: list[ManifestRow] = []
    seen: dict[str, int] = {}
    end = 1  # the header's line
    for cells in _records(reader, path):
        line = end + 1  # the line this row starts on (a quoted field may span lines)
        end = reader.line_num
        where = f"{path}:{line}"
        if None in cells or any(value is None for value in cells.values()):
            raise DataError(f"{where}: the row has {'more' if None in cells else 'fewer'} fields than the header")
        letter_id = cells["letter_id"].strip()
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", letter_id):
            raise DataError(f"{where}: letter_id {cells['letter_id']!r} is not a letter id (e.g. 4366-seat)")
        if letter_id in seen:
            raise DataError(f"{where}: letter {letter_id} repeats line {seen[letter_id]}")
        seen[letter_id] = line
        try:
            member_id = int(cells["member_id"])
        except ValueError:
            raise DataError(f"{where}: member_id {cells['member_id']!r} is not a number") from None
        if not is_member_id(member_id):
            raise DataError(f"{where}: member_id {cells['member_id'].strip()} is out of range")
        asks = tuple(ask for ask in cells.get("asks", "").split(";") if ask)
        rows.append(ManifestRow(folder, where, line, letter_id, member_id, asks, cells))
    return rows


def _records(reader: csv.DictReader[str], path: Path) -> Iterator[dict[str, str]]:
    """Yield the reader's rows; a row the csv module cannot read (a field over its size limit) is a DataError naming
    the line the row starts on."""
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{path}:{start}: not readable as CSV ({exc})") from None
        yield cells
