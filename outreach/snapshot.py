"""The snapshot: every MP, post, department, NHS site and constituency outreach writes about, typed.

A snapshot is a folder of CSV files plus `snapshot.json`. The embedded one ships in `data/` (built by
`scripts/build_data.py` with outreach/sources/embedded.py; see `data/README.md`); `outreach refresh` writes newer
ones under `$OUTREACH_HOME/snapshots/<YYYY-MM-DDTHHMMSS>/` with the same files, and `newest` picks the
latest. Loading uses the standard library only and is fast enough to run on every command.

Files (CSV, UTF-8, header first; lists joined with " | "; true/false; empty = unknown):
  members.csv, posts.csv, departments.csv, sites.csv, constituencies.csv  — see data/README.md.
  records.csv  — each member's record (former posts, committees, …), one sourced item a row (outreach/records.py);
                 optional: a snapshot written before records existed has none.

`snapshot.json` keys:
  kind         "embedded" (shipped in data/) or "refreshed" (written by a live refresh)
  built        ISO date of the newest source in the snapshot (not the day it was built)
  sources      {source name: ISO data date}, e.g. members (DfE lookup), contacts (Members API),
               by_elections, general_election, posts, departments, sites
  posts_as_of  ISO date the government posts are known to be current on (may be null)
  counts       {file stem: rows}, informative only
  schema       format version (1)
A refreshed snapshot also records `refreshed_at`, `origins` (the sources' origins), `committees` ({name: members}),
`committee_ids` (the Committees API ids followed), `record_terms` ({"questions": [...], "interests": [...]}: the
campaign terms its written questions were searched for and its registered interests kept by), `questions_since`,
`vacant_seats` (ONS codes with no MP) and `previous` (the snapshot it was refreshed from); with
`--verify-sites` it holds `site_checks.csv` too: each site whose constituency postcodes.io disagreed with
(outreach/sources/refresh.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from outreach.csvfile import read_rows
from outreach.errors import DataError
from outreach.members import Department, Member, Post
from outreach.records import RECORD_COLUMNS, RECORDS_FILE, RecordItem
from outreach.resources import embedded_snapshot_dir
from outreach.sites import Constituency, Site

KINDS = ("embedded", "refreshed")
META_FILE = "snapshot.json"
SNAPSHOTS_FOLDER = "snapshots"

MEMBER_COLUMNS = (
    "member_id",
    "name",
    "full_title",
    "list_as",
    "address_as",
    "first_name",
    "surname",
    "gender",
    "party",
    "party_abbreviation",
    "constituency",
    "constituency_code",
    "constituency_id",
    "nation",
    "region",
    "is_new",
    "by_election_date",
    "member_since",
    "email",
    "email_source",
    "parliamentary_address",
    "constituency_office",
    "committees",
    "source_date",
)
POST_COLUMNS = (
    "member_id",
    "name",
    "house",
    "post",
    "department",
    "department_name",
    "rank",
    "kind",
    "cabinet",
    "start_date",
    "is_acting",
    "is_on_leave",
)
DEPARTMENT_COLUMNS = ("department", "name", "address_lines", "postcode", "email", "confirmed", "as_of", "source_url")
SITE_COLUMNS = (
    "site_id",
    "site_type",
    "name",
    "organisation",
    "org_code",
    "nation",
    "postcode",
    "lat",
    "lon",
    "constituency_code",
    "confidence",
    "role",
    "has_imaging",
    "neuroscience_centre",
    "linacs",
    "linacs_scope",
    "linacs_as_of",
    "linacs_year",
    "linacs_source_url",
    "linacs_source_title",
    "replacement_2025",
    "notes",
)
CONSTITUENCY_COLUMNS = (
    "constituency_code",
    "name",
    "nation",
    "region",
    "lat",
    "lon",
    "hex_q",
    "hex_r",
    "constituency_id",
)

GAP_COLUMNS = ("kind", "name", "detail")

Record = TypeVar("Record")
Key = TypeVar("Key")


def _grouped(items: Iterable[Record], key: Callable[[Record], Key]) -> dict[Key, tuple[Record, ...]]:
    """Return the items grouped by `key`, each group in the items' order."""
    grouped: dict[Key, list[Record]] = {}
    for item in items:
        grouped.setdefault(key(item), []).append(item)
    return {value: tuple(group) for value, group in grouped.items()}

_MISSING = "missing from the snapshot"


@dataclass(frozen=True)
class Snapshot:
    """One loaded snapshot: its provenance and every record in it."""

    path: Path
    kind: str
    built: date
    sources: dict[str, str]
    posts_as_of: date | None
    members: tuple[Member, ...]
    posts: tuple[Post, ...]
    departments: dict[str, Department]
    sites: tuple[Site, ...]
    constituencies: dict[str, Constituency]
    records: tuple[RecordItem, ...] = ()  # every member's record, in RecordItem.sort_key order
    # What a refresh searched for the records (snapshot.json `record_terms`: questions, interests) and the
    # Committees API ids it followed (`committee_ids`): empty for the embedded snapshot.
    record_terms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    committee_ids: tuple[int, ...] = ()

    @cached_property
    def _records_by_member(self) -> dict[int, tuple[RecordItem, ...]]:
        return _grouped(self.records, lambda item: item.member_id)

    @cached_property
    def _members_by_id(self) -> dict[int, Member]:
        return {member.member_id: member for member in self.members}

    @cached_property
    def _members_by_seat(self) -> dict[str, Member]:
        return {member.constituency_code: member for member in self.members}

    @cached_property
    def _posts_by_member(self) -> dict[int, tuple[Post, ...]]:
        return _grouped(sorted(self.posts, key=lambda post: post.sort_key), lambda post: post.member_id)

    @cached_property
    def _sites_by_seat(self) -> dict[str, tuple[Site, ...]]:
        return _grouped(self.sites, lambda site: site.constituency_code)

    @cached_property
    def _sites_by_type(self) -> dict[str, tuple[Site, ...]]:
        return _grouped(self.sites, lambda site: site.site_type)

    def sites_in(self, constituency_code: str) -> tuple[Site, ...]:
        """Return the sites placed in a constituency (ONS code), in snapshot order."""
        return self._sites_by_seat.get(constituency_code, ())

    def sites_of_type(self, site_type: str) -> tuple[Site, ...]:
        """Return the sites of one type, in snapshot order."""
        return self._sites_by_type.get(site_type, ())

    def member(self, member_id: int) -> Member | None:
        """Return the sitting MP with this Members API id, or None."""
        return self._members_by_id.get(member_id)

    def seat(self, constituency_code: str) -> Member | None:
        """Return the MP for a constituency (ONS code), or None."""
        return self._members_by_seat.get(constituency_code)

    def posts_of(self, member_id: int) -> tuple[Post, ...]:
        """Return the posts a member (of either House) holds, most senior first."""
        return self._posts_by_member.get(member_id, ())

    def record_of(self, member_id: int) -> tuple[RecordItem, ...]:
        """Return a member's record: every item, by kind, oldest first."""
        return self._records_by_member.get(member_id, ())

    def posts_age_days(self, today: date) -> int | None:
        """Return how many days old the posts are on `today`, or None when their date is unknown."""
        return None if self.posts_as_of is None else (today - self.posts_as_of).days

    def describe(self) -> str:
        """Return a one-line description: "embedded snapshot of 2026-08-13 (data/)"."""
        where = f"{self.path.name}/" if self.kind == "embedded" else str(self.path)
        return f"{self.kind} snapshot of {self.built.isoformat()} ({where})"


def _load_records(path: Path, columns: tuple[str, ...], factory: Callable[..., Record]) -> list[tuple[Record, str]]:
    """Return each row of a CSV file as a record, with its "file:line" label."""
    return [(factory(row, where=where), where) for row, where in read_rows(path, columns, missing=_MISSING)]


def _meta_date(meta: Mapping[str, object], key: str, where: str, *, required: bool) -> date | None:
    value = meta.get(key)
    if value is None or value == "":
        if required:
            raise DataError(f"{where}: missing '{key}'")
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DataError(f"{where}: {key} '{value}' is not a date (YYYY-MM-DD)") from None


def _read_meta(path: Path) -> dict[str, object]:
    meta_path = path / META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{meta_path}: missing; {path} is not a snapshot") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{META_FILE}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{META_FILE}:1: expected a JSON object")
    return meta


def _list(meta: Mapping[str, object], key: str) -> list[object]:
    """Return a list in snapshot.json ([] when it is missing); DataError when it is something else."""
    value = meta.get(key, [])
    if not isinstance(value, list):
        raise DataError(f"{META_FILE}: {key} must be a list")
    return value


def _record_terms(meta: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    """Return snapshot.json's `record_terms`: {"questions": terms, "interests": terms} ({} when missing)."""
    value = meta.get("record_terms") or {}
    if not isinstance(value, dict):
        raise DataError(f"{META_FILE}: record_terms must be an object of lists of terms")
    return {str(kind): tuple(str(term) for term in _list(value, kind)) for kind in value}


def _unique(records: list[tuple[Record, str]], key: Callable[[Record], object], what: str) -> None:
    first_seen: dict[object, str] = {}
    for record, where in records:
        value = key(record)
        if value in first_seen:
            raise DataError(f"{where}: {what} {value} repeats ({first_seen[value]})")
        first_seen[value] = where


def load(path: Path) -> Snapshot:
    """Return the snapshot in folder `path`; a missing or malformed file raises DataError naming file:line."""
    meta = _read_meta(path)
    kind = meta.get("kind")
    if kind not in KINDS:
        raise DataError(f"{META_FILE}: kind '{kind}' is not one of {', '.join(KINDS)}")
    built = _meta_date(meta, "built", META_FILE, required=True)
    assert built is not None
    posts_as_of = _meta_date(meta, "posts_as_of", META_FILE, required=False)
    raw_sources = meta.get("sources") or {}
    if not isinstance(raw_sources, dict):
        raise DataError(f"{META_FILE}: sources must be an object of source name to date")
    sources = {str(name): str(value) for name, value in raw_sources.items()}

    constituencies = _load_records(path / "constituencies.csv", CONSTITUENCY_COLUMNS, Constituency.from_row)
    _unique(constituencies, lambda c: c.code, "constituency_code")
    by_code = {c.code: c for c, _ in constituencies}

    members = _load_records(path / "members.csv", MEMBER_COLUMNS, Member.from_row)
    _unique(members, lambda m: m.member_id, "member_id")
    _unique(members, lambda m: m.constituency_code, "constituency_code")
    for member, where in members:
        if member.constituency_code not in by_code:
            raise DataError(f"{where}: constituency_code '{member.constituency_code}' is not in constituencies.csv")

    posts = _load_records(path / "posts.csv", POST_COLUMNS, Post.from_row)
    departments = _load_records(path / "departments.csv", DEPARTMENT_COLUMNS, Department.from_row)
    _unique(departments, lambda d: d.department, "department")
    sites = _load_records(path / "sites.csv", SITE_COLUMNS, Site.from_row)
    _unique(sites, lambda s: s.site_id, "site_id")
    records_path = path / RECORDS_FILE
    records = _load_records(records_path, RECORD_COLUMNS, RecordItem.from_row) if records_path.exists() else []

    return Snapshot(
        path=path,
        kind=str(kind),
        built=built,
        sources=sources,
        posts_as_of=posts_as_of,
        members=tuple(m for m, _ in members),
        posts=tuple(p for p, _ in posts),
        departments={d.department: d for d, _ in departments},
        sites=tuple(s for s, _ in sites),
        constituencies=by_code,
        records=tuple(sorted((item for item, _ in records), key=lambda item: item.sort_key)),
        record_terms=_record_terms(meta),
        committee_ids=tuple(value for value in _list(meta, "committee_ids") if isinstance(value, int)),
    )


def newest(home: Path | None) -> Snapshot:
    """Return the newest refreshed snapshot under `home`/snapshots, else the embedded one.

    Refreshed snapshots are folders named by their time (2026-11-28T101500), so the lexically last
    folder holding a snapshot.json is the newest; folders starting with "." (a refresh in progress)
    are skipped.
    """
    if home is not None:
        folder = home / SNAPSHOTS_FOLDER
        if folder.is_dir():
            candidates = sorted(
                (
                    entry
                    for entry in folder.iterdir()
                    if entry.is_dir() and not entry.name.startswith(".") and (entry / META_FILE).is_file()
                ),
                key=lambda entry: entry.name,
            )
            if candidates:
                return load(candidates[-1])
    return load(embedded_snapshot_dir())
