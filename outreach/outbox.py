"""The outbox: safe file names, the manifest (written and read back), and a folder written whole or not at all.

A draft is written into a staging folder beside the outbox (`.NAME.<token>.partial`) and moved into place only
when every file is there, so a failure part-way leaves the previous outbox as it was. The outbox is locked while it
is written (`.NAME.lock`), so a second draft into it is refused; an outbox that exists is replaced only with --force,
and only when outreach wrote it (its manifest.csv, nothing a person added). A draft killed at any moment leaves
either the old outbox or the new one: the old one is moved aside (`.NAME.previous`) before the new one moves in, and
the next draft, or a reader, puts it back if the kill came between the two renames.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import functools
import io
import os
import re
import secrets
import shutil
import stat
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outreach import limits
from outreach.csvfile import Writer, read_cell
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
    "hooks",
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


# What outreach itself puts at the top of an outbox: `draft` (the manifest, the print PDF, the letters and
# enclosures folders) and `send` (failures.csv). Add here any file another command writes into an outbox: `--force`
# refuses to replace a folder holding anything else, since that would delete a file a person put there.
# `.outreach-log-id`: the contact log the outbox was first sent from (`delivery.run.LOG_ID_FILE`).
OUTBOX_ENTRIES = frozenset({MANIFEST, MERGED_PDF, LETTERS_DIR, "enclosures", "failures.csv", ".outreach-log-id"})
# The lock files office programs leave beside a file a person has open (LibreOffice, Microsoft Office).
_OFFICE_LOCK = re.compile(r"\.~lock\..*#|~\$.*")


def _beside(target: Path, what: str) -> Path:
    """Return the hidden path `.NAME.what` beside an outbox: its lock, the previous outbox, a staging folder."""
    return target.parent / f".{target.name}.{what}"


def _target(out: Path) -> Path:
    """Return the folder `--out` names, links resolved; OutputError for the folder one is in, or one that holds it.

    The outbox is replaced whole by renaming, and a folder renamed from under a shell leaves that shell in a
    deleted folder: `--out .` is refused rather than half-supported.
    """
    target = out.expanduser().resolve()
    try:
        here = Path.cwd().resolve()
    except OSError:
        here = None
    if target.parent == target or (here is not None and here.is_relative_to(target)):
        raise OutputError(
            f"{out}: is the folder you are in, or holds it; outreach replaces its outbox folder whole, "
            "so give --out a folder of its own (e.g. --out outbox)"
        )
    return target


@contextmanager
def _locked(target: Path, out: Path) -> Iterator[None]:
    """Hold an exclusive lock on the outbox (a file beside it) while it is written; OutputError if another holds it.

    flock is released by the kernel however the process ends, so a killed draft leaves no stale lock. The lock
    file is removed when done; a second run that opened the old file before that notices the file is no longer
    the one at the path and tries again.
    """
    path = _beside(target, "lock")
    for _ in range(5):
        try:
            handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"{out}: cannot write here ({exc.strerror})") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.read(handle, 32).decode("ascii", "replace").strip()
            os.close(handle)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise OutputError(
                    f"{out}: another 'outreach draft'{f' (pid {holder})' if holder.isdigit() else ''} is writing "
                    "this outbox now; nothing was written: wait for it, or give --out another folder"
                ) from None
            raise OutputError(f"{out}: cannot lock the outbox ({exc.strerror})") from None
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        if current is not None and os.path.samestat(current, os.fstat(handle)):
            break
        os.close(handle)  # the file was removed by the run that held it: lock the new one
    else:
        raise OutputError(f"{out}: cannot lock the outbox (its lock file keeps changing)")
    try:
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(handle)


def _tidy(target: Path) -> bool:
    """Return whether the previous outbox was put back: after a killed draft, remove its staging folders, and
    restore the outbox it had moved aside (killed between the two renames) or remove that copy (killed after).

    Called with the outbox locked, so no staging folder found here belongs to a live draft.
    """
    stage_name = re.compile(re.escape(_beside(target, "").name) + r"[0-9a-f]{16}\.partial")
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            if stage_name.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
    previous = _beside(target, "previous")
    if not previous.is_dir() or previous.is_symlink():
        return False
    if target.exists() or target.is_symlink():
        shutil.rmtree(previous, ignore_errors=True)
        return False
    os.rename(previous, target)
    return True


def recover(out: Path) -> bool:
    """Return whether an outbox that a killed draft had moved aside was put back where `out` names.

    For readers (send, log add, report) that find no manifest: a draft killed between moving the old outbox aside
    and moving the new one in leaves the old one complete, beside. Does nothing while a draft holds the outbox.
    """
    try:
        target = out.expanduser().resolve()
        if not _beside(target, "previous").is_dir():
            return False
        with _locked(target, out):
            return _tidy(target)
    except (OSError, OutputError):
        return False


def _is_outbox(target: Path, entries: Sequence[Path]) -> str | None:
    """Return why a folder that holds files is not an outbox `--force` may replace, or None when it is one.

    An outbox is what `draft` wrote: its manifest.csv starts with outreach's header, and the folder holds nothing
    outreach did not put there (a file a person added would be lost with it).
    """
    try:
        with open(target / MANIFEST, encoding="utf-8-sig") as handle:
            header = handle.readline(4096)
    except (OSError, UnicodeDecodeError):
        header = ""
    if not header.startswith(",".join(MANIFEST_COLUMNS[:4]) + ","):
        return f"is not an outbox outreach wrote (it has no {MANIFEST} of outreach's)"
    foreign = sorted(
        entry.name
        for entry in entries
        if entry.name not in OUTBOX_ENTRIES and not _OFFICE_LOCK.fullmatch(entry.name)
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        return f"holds files outreach did not write ({shown})"
    return None


def _check_replaceable(target: Path, out: Path, *, force: bool) -> None:
    """Raise OutputError unless `target` is absent, an empty folder, or (with --force) an outbox outreach wrote."""
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; give --out a folder")
    try:
        entries = list(target.iterdir())
    except OSError as exc:
        raise OutputError(f"{out}: cannot read the folder ({exc.strerror})") from None
    if not entries:
        return
    problem = _is_outbox(target, entries)
    if problem:
        raise OutputError(
            f"{out}: {problem}: --force replaces only an outbox outreach wrote; nothing was written "
            "(give --out a new or empty folder)"
        )
    if not force:
        raise OutputError(f"{out}: outbox already holds files; use --force to replace it, or --out for another")


def _swap(stage: Path, target: Path, out: Path) -> None:
    """Move the finished outbox into place: the old one aside, the new one in, then the old one removed.

    Killed between the two renames, the old outbox is complete beside it (`.NAME.previous`) and the next draft,
    or a reader, puts it back; a rename that fails puts it back at once.
    """
    previous = _beside(target, "previous")
    moved = False
    try:
        if target.exists():
            os.rename(target, previous)
            moved = True
        os.rename(stage, target)
    except OSError as exc:
        if moved:
            with contextlib.suppress(OSError):
                os.rename(previous, target)
        raise OutputError(f"{out}: cannot move the new outbox into place ({exc.strerror}); nothing changed") from None
    if moved:
        shutil.rmtree(previous, ignore_errors=True)


def check_out(out: Path, *, force: bool) -> None:
    """Return nothing when a draft may write to `out`; OutputError, before any letter is merged, when it may not.

    `staging` checks again, holding the lock: this is only so a refusal comes at once, not after the merge.
    """
    target = _target(out)
    if not _beside(target, "previous").exists():  # a killed draft's aside copy: staging puts it back, then checks
        _check_replaceable(target, out, force=force)


@contextmanager
def staging(out: Path, *, force: bool) -> Iterator[Path]:
    """Yield a fresh folder beside `out`; when the block ends without error it replaces `out` in one step.

    The outbox is locked for the whole run (a second draft into it is refused), staging folders and an aside copy
    left by a killed draft are tidied first, and an existing outbox is replaced only with --force and only when
    outreach wrote it.
    """
    target = _target(out)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write here ({exc.strerror})") from None
    with _locked(target, out):
        _tidy(target)
        _check_replaceable(target, out, force=force)
        stage = _beside(target, f"{secrets.token_hex(8)}.partial")
        try:
            stage.mkdir()  # not mkdtemp: its folders are private (0700), and an outbox is for people to open
        except OSError as exc:
            raise OutputError(f"{out}: cannot write here ({exc.strerror})") from None
        try:
            yield stage
            _swap(stage, target, out)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise


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
    writer = Writer(buffer)
    writer.writerow(MANIFEST_COLUMNS)
    for row in rows:
        writer.writerow(row.get(column, "") for column in MANIFEST_COLUMNS)
    return buffer.getvalue()


class _Paths:
    """The checks of one manifest's paths, shared by its rows: the outbox and each folder in it resolved once, each
    file then found with one lstat, and each column's answer kept (a row's paths are asked again when it is sent).
    Plain strings (os.path) rather than Path objects: a manifest names thousands of paths."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = str(outbox)
        self._root: Path | None = None
        self._inside = ""  # the real outbox and a separator: what every real path inside it starts with
        self.folders: dict[str, str] = {}
        self.checked: dict[tuple[int, str], tuple[Path, ...]] = {}

    def locate(self, value: str) -> tuple[str, os.stat_result]:
        """Return the real path of outbox/value, links resolved, and its status; OSError or RuntimeError when not.

        The folder is resolved once per read; a file that is not a link is its own real path.
        """
        folder_name, name = os.path.split(value)
        folder = self.folders.get(folder_name)
        if folder is None:
            folder = self.folders[folder_name] = os.path.realpath(os.path.join(self.outbox, folder_name), strict=True)
        candidate = os.path.join(folder, name)
        status = os.lstat(candidate)
        if stat.S_ISLNK(status.st_mode):
            real = os.path.realpath(candidate, strict=True)
            return real, os.stat(real)
        return candidate, status

    def inside(self, real: str) -> bool:
        """Return whether a real path lies inside the outbox."""
        if not self._inside:
            self._inside = str(self.resolved_root()).rstrip(os.sep) + os.sep
        return real.startswith(self._inside)

    def resolved_root(self) -> Path:
        """Return the outbox with its links resolved (once per read)."""
        if self._root is None:
            self._root = Path(os.path.realpath(self.outbox))
        return self._root


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
    paths: _Paths = field(compare=False, repr=False)  # shared by the rows of one read

    def file(self, column: str) -> Path | None:
        """Return the outbox file a path column (markdown, pdf, docx) names, or None when the cell is empty."""
        found = self.files(column)
        return found[0] if found else None

    def files(self, column: str) -> tuple[Path, ...]:
        """Return the outbox files a `;`-separated path column (enclosures) names, links resolved, each checked.

        Every path a manifest names must be a regular file inside the outbox once links are resolved (a link out
        of it would let `send` mail any file the user can read), and within its size limit; DataError names the
        row and the path. Checked once per read of the manifest.
        """
        known = self.paths.checked.get((self.line, column))
        if known is not None:
            return known
        paths = [value.strip() for value in self.cells.get(column, "").split(";") if value.strip()]
        found = []
        for value in paths:
            if _leaves(value):
                raise DataError(f"{self._what(column, value)} leaves the outbox")
            try:
                real, status = self.paths.locate(value)
            except FileNotFoundError:
                raise DataError(f"{self._what(column, value)} is missing") from None
            except (OSError, RuntimeError) as exc:  # RuntimeError: a loop of links (Python before 3.13)
                reason = getattr(exc, "strerror", None) or exc
                raise DataError(f"{self._what(column, value)} cannot be read ({reason})") from None
            if not self.paths.inside(real):
                raise DataError(f"{self._what(column, value)} leads outside the outbox, to {real}")
            if not stat.S_ISREG(status.st_mode):
                raise DataError(f"{self._what(column, value)} is not a regular file")
            limit = limits.LETTER_BYTES if column == "markdown" else limits.ATTACHMENT_BYTES
            limits.check_size(status.st_size, limit, "the file", self._what(column, value))
            found.append(Path(real))
        self.paths.checked[(self.line, column)] = checked = tuple(found)
        return checked

    def _what(self, column: str, value: str) -> str:
        """Return how an error names a path of this row: the manifest's line, the column's label, the path."""
        return f"{self.where}: {_FILE_LABELS.get(column, column)} {value}"

    def attachments(self) -> tuple[Path, ...]:
        """Return what `send` attaches for this row: the letter's PDF (if any), then the enclosures, each checked to
        be a PDF that opens; DataError names the row and the path."""
        pdf = self.file("pdf")
        paths = ((pdf,) if pdf is not None else ()) + self.files("enclosures")
        for path in paths:
            _check_pdf(path, f"{self.where}: {path.relative_to(self.paths.resolved_root())}")
        return paths


PATH_COLUMNS = ("markdown", "pdf", "docx", "enclosures")  # the manifest's columns that name files in the outbox
_FILE_LABELS = {"markdown": "letter file", "pdf": "the letter's PDF", "docx": "the letter's DOCX"}


@functools.lru_cache(maxsize=64)  # an enclosure goes with many letters: open it once
def _pdf_problem(path: Path, size: int, modified: int) -> str | None:
    """Return why the file at `path` (of this size and time) is not a PDF that opens, or None when it is one."""
    import pikepdf

    with open(path, "rb") as handle:
        if handle.read(5) != b"%PDF-":
            return "is not a PDF (a PDF starts with %PDF-)"
    try:
        with pikepdf.open(path) as document:
            if not document.pages:
                return "is a PDF with no pages"
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError, RecursionError) as exc:
        return f"is not a PDF that opens ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    return None


def _check_pdf(path: Path, where: str) -> None:
    """Return nothing when `path` is a PDF that opens; DataError naming `where` when it is not."""
    try:
        found = path.stat()
        problem = _pdf_problem(path, found.st_size, found.st_mtime_ns)
    except OSError as exc:
        raise DataError(f"{where}: cannot be read ({exc.strerror})") from None
    if problem:
        raise DataError(f"{where} {problem}")


def read_manifest(folder: Path, required: Sequence[str]) -> list[ManifestRow]:
    """Return the rows of folder/manifest.csv, each checked; DataError names manifest.csv:line.

    Checked here for every reader: the file is there, within the CSV limit, and has the `required` columns; each
    row has as many fields as the header, none over the field limit, a letter id (4366-seat) that does not repeat,
    a whole-number member_id, and every path it names a regular file inside the outbox.
    """
    path = folder / MANIFEST
    try:
        limits.check_file(path, limits.CSV_BYTES, "the manifest")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        if recover(folder):  # a draft was killed between moving the old outbox aside and the new one in
            return read_manifest(folder, required)
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
    paths = _Paths(folder)
    end = 1  # the header's line
    for cells in _records(reader, path):
        line = end + 1  # the line this row starts on (a quoted field may span lines)
        end = reader.line_num
        where = f"{path}:{line}"
        if None in cells or any(value is None for value in cells.values()):
            raise DataError(f"{where}: the row has {'more' if None in cells else 'fewer'} fields than the header")
        limits.check_row(cells, where)
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
        row = ManifestRow(folder, where, line, letter_id, member_id, asks, cells, paths)
        for column in PATH_COLUMNS:
            row.files(column)  # every path the manifest names: a regular file inside the outbox
        rows.append(row)
    return rows


def _records(reader: csv.DictReader[str], path: Path) -> Iterator[dict[Any, Any]]:
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
        # Line breaks are kept: the e-mail a row becomes refuses one in a header, naming the line.
        yield {key: read_cell(text, newlines=True) if isinstance(text, str) else text for key, text in cells.items()}
