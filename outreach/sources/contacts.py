"""The per-member caches: each member's Members API contact record, and their record (experience, focus,
registered interests), kept so a refresh need not fetch them all again.

One JSON file per member under `$OUTREACH_HOME/cache/contacts/` (and `cache/records/`): an incremental refresh
(the default) refetches an entry only when the member is new, their name or party changed, or the cached copy is
over 7 days old (a contact record) or 30 days old (a record: careers, focus and interests change rarely).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from outreach.files import write_bytes_atomically
from outreach.sources.http import Progress, fetch_all

CONTACT_MAX_AGE = timedelta(days=7)
CONTACTS_CACHE = ("cache", "contacts")
RECORD_MAX_AGE = timedelta(days=30)
RECORDS_CACHE = ("cache", "records")


class Person(Protocol):
    """Who a cached entry belongs to, as a refresh found them (an ApiMember, or a peer holding a post)."""

    @property
    def member_id(self) -> int: ...  # noqa: D102 - a protocol's field

    @property
    def name(self) -> str: ...  # noqa: D102

    @property
    def party(self) -> str: ...  # noqa: D102


@dataclass(frozen=True)
class CachedContact:
    """A member's contact record as fetched, with who they were then and when it was fetched."""

    member_id: int
    name: str
    party: str
    fetched: datetime
    entries: list[Any]


class ContactCache:
    """One JSON file per member under $OUTREACH_HOME/cache/contacts/ (or another folder of the home)."""

    def __init__(self, home: Path, parts: tuple[str, ...] = CONTACTS_CACHE) -> None:
        self.folder = home.joinpath(*parts)

    def path(self, member_id: int) -> Path:
        """Return the file of a member's cached contact record."""
        return self.folder / f"{member_id}.json"

    def read(self, member_id: int) -> CachedContact | None:
        """Return the cached record, or None when there is none or it cannot be read (it is then refetched)."""
        try:
            data = json.loads(self.path(member_id).read_text(encoding="utf-8"))
            return CachedContact(
                member_id=int(data["member_id"]),
                name=str(data["name"]),
                party=str(data["party"]),
                fetched=datetime.fromisoformat(data["fetched"]),
                entries=list(data["entries"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, record: CachedContact) -> None:
        """Store a record, whole or not at all, so a reader never sees half a file."""
        payload = {
            "member_id": record.member_id,
            "name": record.name,
            "party": record.party,
            "fetched": record.fetched.isoformat(),
            "entries": record.entries,
        }
        text = json.dumps(payload, ensure_ascii=False)
        write_bytes_atomically(self.path(record.member_id), text.encode("utf-8"))


def refetch_reason(
    member: Person,
    cached: CachedContact | None,
    *,
    known: bool,
    full: bool,
    now: datetime,
    max_age: timedelta = CONTACT_MAX_AGE,
) -> str | None:
    """Return why a member's cached entry must be fetched again ("full", "new", "renamed", ...), or None."""
    if full:
        return "full"
    if cached is None or not known:
        return "new"
    if cached.name != member.name:
        return "renamed"
    if cached.party != member.party:
        return "party"
    if now - cached.fetched > max_age:
        return "old"
    return None


def cached_per_member(
    cache: ContactCache,
    people: Sequence[Person],
    known: Collection[int],
    fetch: Callable[[int], list[Any]],
    *,
    full: bool,
    moment: datetime,
    workers: int,
    progress: Progress | None,
    stage: str,
    max_age: timedelta,
) -> tuple[dict[int, CachedContact], int]:
    """Return each person's cached entry, fetched (and cached) where it is missing or stale, and how many were."""
    cached = {p.member_id: cache.read(p.member_id) for p in people}
    stale = [
        p
        for p in people
        if refetch_reason(p, cached[p.member_id], known=p.member_id in known, full=full, now=moment, max_age=max_age)
        is not None
    ]

    def fetch_one(person: Person) -> CachedContact:
        entry = CachedContact(person.member_id, person.name, person.party, moment, fetch(person.member_id))
        cache.write(entry)
        return entry

    found = {member_id: entry for member_id, entry in cached.items() if entry is not None}
    for entry in fetch_all(fetch_one, stale, workers=workers, progress=progress, stage=stage):
        found[entry.member_id] = entry
    return found, len(stale)
