"""Changes of office known after the snapshot's posts were current: `known_changes.csv`.

A snapshot's posts are as at a date (`posts_as_of`). Reshuffles reported since then are listed, dated and sourced,
in `known_changes.csv` files: one in the snapshot (built from public reports), and the user's own corrections in the
campaign folder and in OUTREACH_HOME, all with the same columns. A letter to a member with a change dated after the
posts' date could treat a former office holder as current, or a new one as a back-bencher: targeting flags it
`office_changed` and leaves it out of the campaign's default audience.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from outreach import settings
from outreach.csvfile import read_rows
from outreach.errors import DataError
from outreach.resources import embedded_snapshot_dir

FILE = "known_changes.csv"
COLUMNS = ("date", "member_mnis_id", "name", "change", "post", "status", "source")


@dataclass(frozen=True)
class KnownChange:
    """One reported change of office: who, what, when, how sure, and where it was reported."""

    on: date
    member_id: int
    name: str
    change: str
    post: str
    status: str
    source: str
    where: str  # file:line, for messages

    def describe(self) -> str:
        """Return the change as one line for people: '2026-07-20 Keir Starmer: left office (Prime Minister)'."""
        post = f" ({self.post})" if self.post and self.post not in self.change else ""
        return f"{self.on.isoformat()} {self.name}: {self.change}{post}"


def read(path: Path) -> list[KnownChange]:
    """Return the changes listed in one known_changes.csv; raises DataError naming the file and line."""
    found = []
    for row, where in read_rows(path, COLUMNS, label=str(path)):
        cells = {key: (value or "").strip() for key, value in row.items() if key}
        if not any(cells.values()):
            continue
        try:
            on = date.fromisoformat(cells["date"])
        except ValueError:
            raise DataError(f"{where}: date {cells['date']!r} is not YYYY-MM-DD") from None
        if not re.fullmatch(r"[1-9][0-9]{0,8}", cells["member_mnis_id"]):
            raise DataError(f"{where}: member_mnis_id {cells['member_mnis_id']!r} is not a member id")
        if not cells["change"]:
            raise DataError(f"{where}: 'change' is empty: say what changed")
        if not cells["source"]:
            raise DataError(f"{where}: 'source' is empty: every change of office needs its source")
        found.append(
            KnownChange(
                on=on,
                member_id=int(cells["member_mnis_id"]),
                name=cells["name"],
                change=cells["change"],
                post=cells["post"],
                status=cells["status"],
                source=cells["source"],
                where=where,
            )
        )
    return found


def load(folders: Iterable[Path]) -> list[KnownChange]:
    """Return the changes of every known_changes.csv in `folders` (those that have one), in date order."""
    found: list[KnownChange] = []
    for folder in folders:
        path = folder / FILE
        if path.is_file():
            found += read(path)
    return sorted(found, key=lambda change: (change.on, change.member_id))


def since(changes: Iterable[KnownChange], posts_as_of: date | None) -> dict[int, list[KnownChange]]:
    """Return the changes dated after the posts' date (all of them if it is unknown), by member id."""
    by_member: dict[int, list[KnownChange]] = {}
    for change in changes:
        if posts_as_of is None or change.on > posts_as_of:
            by_member.setdefault(change.member_id, []).append(change)
    return by_member


def reported(posts_as_of: date | None, campaign_folder: Path) -> dict[int, list[KnownChange]]:
    """Return the changes of office reported since the posts' date, by member id: the embedded list, the campaign's
    (in `campaign_folder`) and the user's own (in OUTREACH_HOME)."""
    return since(load([embedded_snapshot_dir(), campaign_folder, settings.home()]), posts_as_of)


def describe_all(changes: Mapping[int, list[KnownChange]]) -> list[str]:
    """Return one line per change, in date order."""
    return [change.describe() for change in sorted((c for cs in changes.values() for c in cs), key=lambda c: c.on)]


def embedded_rows(path: Path, posts_as_of: date) -> list[dict[str, object]]:
    """Return the rows of the embedded snapshot's known_changes.csv: the changes in `path` dated after the posts'
    date, in date order, with cells cleaned of surrounding space (the shared list's own columns)."""
    return [
        {
            "date": change.on.isoformat(),
            "member_mnis_id": change.member_id,
            "name": change.name,
            "change": change.change,
            "post": change.post,
            "status": change.status,
            "source": change.source,
        }
        for change in sorted(read(path), key=lambda c: (c.on, c.member_id, c.change))
        if change.on > posts_as_of
    ]
