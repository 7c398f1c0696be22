"""CSV files: the one reader outreach uses, naming file and line in every error, and the one writer.

Every cell read is cleaned of control characters and terminal escapes, and every cell written is cleaned and made
safe to open in a spreadsheet (see `outreach.safetext`); the reader undoes the writer's apostrophe, so outreach reads
its own files (manifest.csv, a snapshot) back exactly.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from outreach import limits
from outreach.errors import DataError
from outreach.safetext import clean, from_spreadsheet, spreadsheet_cell

Row = dict[str, str | None]


def read_rows(
    path: Path, columns: Sequence[str] = (), *, missing: str = "no such file", label: str | None = None
) -> list[tuple[Row, str]]:
    """Return each data row of a CSV file with its "file:line" label (`label`, default the file's name), after
    checking the header has `columns`.

    A row with fewer cells than the header maps the missing columns to None, so reading one names it; a row with
    more cells, a file that is not CSV or not UTF-8, or a missing file is a DataError naming the file (and line).
    """
    try:
        limits.check_file(path, limits.CSV_BYTES, "the CSV file", label)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return _rows(csv.reader(handle), label or path.name, columns)
    except FileNotFoundError:
        raise DataError(f"{path}: {missing}") from None
    except csv.Error as exc:
        raise DataError(f"{label or path.name}: not a readable CSV file ({exc})") from None
    except UnicodeDecodeError:
        raise DataError(f"{label or path.name}: not UTF-8 text") from None


def _rows(reader: Any, name: str, columns: Sequence[str]) -> list[tuple[Row, str]]:
    """Return the rows of an open reader, labelled `name:line`."""
    header: list[str] = next(reader, [])
    for column in columns:
        if column not in header:
            raise DataError(f"{name}:1: missing column '{column}'")
    width = len(header)
    rows: list[tuple[Row, str]] = []
    for cells in reader:
        if not cells:
            continue
        where = f"{name}:{reader.line_num}"
        if len(cells) > width:
            raise DataError(f"{where}: {len(cells)} cells, but the header has {width} columns")
        row: Row = dict(zip(header, map(read_cell, cells), strict=False))
        limits.check_row(row, where)
        for column in header[len(cells) :]:
            row[column] = None
        rows.append((row, where))
    return rows


def read_cell(value: str, *, newlines: bool = False) -> str:
    """Return a cell as read: the writer's apostrophe removed, control characters and escapes gone, and one line
    unless `newlines` (a reader that refuses line breaks itself, as a mail header must, keeps them to refuse)."""
    return clean(from_spreadsheet(value), newlines=newlines)


class Writer:
    """A CSV writer for files people open: each cell cleaned of control characters and spreadsheet-safe."""

    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")

    def writerow(self, cells: Iterable[object]) -> None:
        """Write one row; None is an empty cell, anything else its text."""
        self._writer.writerow(
            [spreadsheet_cell(clean("" if cell is None else str(cell), newlines=True)) for cell in cells]
        )
