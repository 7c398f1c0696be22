"""The rows of a snapshot's files, typed, and the one writer of those files.

The rows of members.csv, posts.csv and records.csv are `members.Member`, `members.Post` and `records.RecordItem`
themselves: their fields are the
columns (a date is written in ISO form, a list joined with " | "). Each row class here has one field per column,
in the column order `outreach/snapshot.py` reads (DEPARTMENT_COLUMNS, ...); a flag is a bool and is written
`true`/`false`, as the loader expects. `from_cells` reads a row of a file back, for the tables a refresh carries
over unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from outreach.csvfile import Writer
from outreach.members import LIST_SEPARATOR
from outreach.sites import CONSTITUENCY_SERVING_COLUMNS
from outreach.snapshot import (
    CONSTITUENCY_COLUMNS,
    DEPARTMENT_COLUMNS,
    GAP_COLUMNS,
    SITE_COLUMNS,
)

Cells = Mapping[str, str | None]


def cell(value: object) -> str:
    """Return one value as its CSV cell: "" for None, true/false for a flag, a date in ISO form, a list joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return LIST_SEPARATOR.join(value)
    return str(value)


def _text(cells: Cells, column: str) -> str:
    return cells.get(column) or ""


def _typed(cells: Cells, columns: Sequence[str], flags: Sequence[str] = ()) -> dict[str, Any]:
    """Return a file's cells as a row class's arguments: flags as bools, the rest as text ("" when missing)."""
    return {column: cells.get(column) == "true" if column in flags else _text(cells, column) for column in columns}


@dataclass(frozen=True)
class DepartmentRow:
    """One row of departments.csv."""

    COLUMNS = DEPARTMENT_COLUMNS

    department: str
    name: str
    address_lines: str
    postcode: str
    email: str
    confirmed: bool
    as_of: str
    source_url: str

    @classmethod
    def from_cells(cls, cells: Cells) -> DepartmentRow:
        """Return the row as read from departments.csv."""
        return cls(**_typed(cells, cls.COLUMNS, flags=("confirmed",)))


SITE_FLAGS = ("has_imaging", "neuroscience_centre", "replacement_2025")


@dataclass(frozen=True)
class SiteRow:
    """One row of sites.csv."""

    COLUMNS = SITE_COLUMNS

    site_id: str
    site_type: str
    name: str
    organisation: str
    org_code: str
    nation: str
    postcode: str
    lat: str
    lon: str
    constituency_code: str
    confidence: str
    role: str
    has_imaging: bool
    neuroscience_centre: bool
    linacs: str
    linacs_scope: str
    linacs_as_of: str
    linacs_year: str
    linacs_source_url: str
    linacs_source_title: str
    replacement_2025: bool
    notes: str

    @classmethod
    def from_cells(cls, cells: Cells) -> SiteRow:
        """Return the row as read from sites.csv."""
        return cls(**_typed(cells, cls.COLUMNS, flags=SITE_FLAGS))


@dataclass(frozen=True)
class ConstituencyRow:
    """One row of constituencies.csv."""

    COLUMNS = CONSTITUENCY_COLUMNS + CONSTITUENCY_SERVING_COLUMNS

    constituency_code: str
    name: str
    nation: str
    region: str
    lat: str
    lon: str
    hex_q: str
    hex_r: str
    constituency_id: str
    # Where the seat's people live and the cancer network that serves it (optional: empty when unknown).
    point_lat: str = ""
    point_lon: str = ""
    point_method: str = ""
    network: str = ""
    network_centres: str = ""
    network_confidence: str = ""

    @classmethod
    def from_cells(cls, cells: Cells) -> ConstituencyRow:
        """Return the row as read from constituencies.csv."""
        return cls(**_typed(cells, cls.COLUMNS))


@dataclass(frozen=True)
class Gap:
    """One row of known_gaps.csv: something a letter writer must know the data lacks."""

    COLUMNS = GAP_COLUMNS

    kind: str
    name: str
    detail: str

    @classmethod
    def from_cells(cls, cells: Cells) -> Gap:
        """Return the row as read from known_gaps.csv."""
        return cls(_text(cells, "kind"), _text(cells, "name"), _text(cells, "detail"))


def write_rows(path: Path, rows: Iterable[object], columns: Sequence[str]) -> int:
    """Write one snapshot CSV file (header first) and return how many rows it has.

    The one writer of the format `snapshot.load` reads: the embedded builder and `outreach refresh` both use it.
    """
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        # The one CSV writer: a snapshot never holds a control character, nor a cell a spreadsheet would run.
        writer = Writer(handle)
        writer.writerow(columns)
        for row in rows:
            # A row is a typed row, or a mapping of column to value (known_changes.csv: outreach/changes.py).
            values = row if isinstance(row, Mapping) else vars(row)
            writer.writerow([cell(values.get(column)) for column in columns])
            count += 1
    return count


def _check_columns() -> None:
    """Fail at import if a row class's fields drift from its file's columns."""
    for kind in (DepartmentRow, SiteRow, ConstituencyRow, Gap):
        assert tuple(f.name for f in fields(kind)) == kind.COLUMNS, kind.__name__


_check_columns()
