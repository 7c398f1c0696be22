"""The contact cache: each member's Members API contact record, kept so a refresh need not fetch all 650 again.

One JSON file per member under `$OUTREACH_HOME/cache/contacts/`: an incremental refresh (the default) refetches
a record only when the member is new, their name or party changed, or the cached copy is over 7 days old.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from outreach.files import write_bytes_atomically
from outreach.sources.parliament import ApiMember

CONTACT_MAX_AGE = timedelta(days=7)
CONTACTS_CACHE = ("cache", "contacts")


@dataclass(frozen=True)
class CachedContact:
    """A member's contact record as fetched, with who they were then and when it was fetched."""

    member_id: int
    name: str
    party: str
    fetched: datetime
    entries: list[Any]


class ContactCache:
    """One JSON file per member under $OUTREACH_HOME/cache/contacts/."""

    def __init__(self, home: Path) -> None:
        self.folder = home.joinpath(*CONTACTS_CACHE)

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
    member: ApiMember, cached: CachedContact | None, *, known: bool, full: bool, now: datetime
) -> str | None:
    """Return why a member's contact record must be fetched again ("full", "new", "renamed", ...), or None."""
    if full:
        return "full"
    if cached is None or not known:
        return "new"
    if cached.name != member.name:
        return "renamed"
    if cached.party != member.party:
        return "party"
    if now - cached.fetched > CONTACT_MAX_AGE:
        return "old"
    return None
