"""Refresh: build a new snapshot from Parliament's live APIs (and postcodes.io), atomically, and say what changed.

A refresh fetches every current Commons member, their contact record, the government and opposition posts, the
members of the select committees the campaign's rules weigh (Health and Social Care, 81; Science, Innovation and
Technology, 135) and, with `verify_sites`, every site postcode. Only when all of that has arrived is anything
written: a temporary folder `.refresh-…` under `$OUTREACH_HOME/snapshots/` (skipped by `snapshot.newest`), loaded
back to prove it is a valid snapshot, then renamed to its time stamp. A failure at any point removes the temporary
folder and leaves the snapshot in use as it was.

What a refresh carries over from the snapshot in use, and why:
- `departments.csv`, `constituencies.csv`, `sites.csv` (no live source for them here; sites are corrected by
  postcodes.io with `verify_sites`), the date of the general election;
- for a member already known: `is_new`, `first_name`/`surname` while `nameListAs` is unchanged, and the
  by-election date of their seat — the API says when a membership began, not whether the member sat before;
- for a post already known (same member, kind and title): its IfG department code, rank and Cabinet flag.
For a member not known before, `is_new` comes from `/api/Members/History` (new = no Commons membership before the
current Parliament's first day: a by-election winner who sat before is not new), and a membership that began after
the general election is a by-election win.

Contact records are cached per member under `$OUTREACH_HOME/cache/contacts/`: an incremental refresh (the default)
refetches one only when the member is new, their name or party changed, or the cached copy is over 7 days old.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from outreach import snapshot as snapshots
from outreach.errors import DataError, OutreachError, SourceError
from outreach.members import LIST_SEPARATOR, Member, Post
from outreach.parliament import (
    ApiMember,
    CommitteeMember,
    CommitteesApi,
    Contact,
    MembersApi,
    MembershipHistory,
    PostHolding,
)
from outreach.postcodes import PostcodeResult, PostcodesApi, postcode_key
from outreach.sites import Constituency
from outreach.web import JsonClient, Politeness, Progress, fetch_all

COMMITTEES = (81, 135)  # Committees API ids: Health and Social Care; Science, Innovation and Technology
CONTACT_MAX_AGE = timedelta(days=7)
CONTACTS_CACHE = ("cache", "contacts")
DEFAULT_PARLIAMENTARY_ADDRESS = ("House of Commons", "London", "SW1A 0AA")
GENERAL_ELECTION_FALLBACK = "2024-07-04"  # used only when the snapshot in use does not record it
SITE_CHECK_COLUMNS = ("site_id", "name", "postcode", "constituency_code_before", "constituency_code_after", "outcome")
SITE_CHECKS_FILE = "site_checks.csv"
# Known gaps a refresh settles (it brings nameAddressAs, committees, current and opposition posts) or recomputes.
SETTLED_GAPS = {
    "address_as_missing",
    "committees_missing",
    "ministers_stale",
    "opposition_posts_missing",
    "member_without_email",
    "full_title_fixed",
}
# Members API department names that differ from the names in departments.csv, to IfG department codes.
DEPARTMENT_ALIASES = {
    "wales office": "Wal",
    "scotland office": "Scot",
    "northern ireland office": "NIO",
    "prime minister's office": "PM",
    "prime minister's office, 10 downing street": "PM",
    "treasury": "HMT",
    "hm treasury": "HMT",
    "office of the leader of the house of commons": "Leader Commons",
    "leader of the house of commons": "Leader Commons",
    "office of the leader of the house of lords": "Leader Lords",
    "leader of the house of lords": "Leader Lords",
    "government whips office": "Whip Commons",
    "whips": "Whip Commons",
    "house of lords whips office": "Whip Lords",
    "attorney general's office": "AGO",
    "office of the advocate general for scotland": "OAG",
}


@dataclass(frozen=True)
class Origins:
    """Where the live sources are: origins, to which the clients append their paths."""

    members_api: str
    committees_api: str
    postcodes: str


@dataclass(frozen=True)
class SiteCheck:
    """A site whose constituency postcodes.io disagrees with, or whose postcode it does not know."""

    site_id: str
    name: str
    postcode: str
    before: str
    after: str | None  # the corrected ONS code; None when postcodes.io does not know the postcode
    outcome: str  # "corrected" | "postcode_unknown"


@dataclass
class Diff:
    """What changed between the snapshot in use and the refreshed one; each list holds JSON-ready rows."""

    seats_changed: list[dict[str, Any]] = field(default_factory=list)
    new_members: list[dict[str, Any]] = field(default_factory=list)
    departed_members: list[dict[str, Any]] = field(default_factory=list)
    party_changes: list[dict[str, Any]] = field(default_factory=list)
    name_changes: list[dict[str, Any]] = field(default_factory=list)
    posts_appointed: list[dict[str, Any]] = field(default_factory=list)
    posts_ended: list[dict[str, Any]] = field(default_factory=list)
    posts_retitled: list[dict[str, Any]] = field(default_factory=list)
    contact_changes: list[dict[str, Any]] = field(default_factory=list)
    site_corrections: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        """Return every list by name."""
        return dict(vars(self))

    @property
    def total(self) -> int:
        """Return how many changes there are in all."""
        return sum(len(rows) for rows in vars(self).values())


@dataclass(frozen=True)
class RefreshResult:
    """A finished refresh: the new snapshot, the one it replaced, what changed, and what it cost."""

    snapshot: snapshots.Snapshot
    previous: snapshots.Snapshot
    diff: Diff
    requests: dict[str, int]
    contacts_fetched: int
    contacts_cached: int
    vacant_seats: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """Return the refresh as `outreach refresh --json` prints it."""
        return {
            "snapshot": _describe_json(self.snapshot),
            "previous": _describe_json(self.previous),
            "requests": self.requests,
            "contacts_fetched": self.contacts_fetched,
            "contacts_cached": self.contacts_cached,
            "vacant_seats": list(self.vacant_seats),
            "changes": self.diff.as_json(),
        }


def _describe_json(snapshot: snapshots.Snapshot) -> dict[str, Any]:
    return {
        "path": str(snapshot.path),
        "kind": snapshot.kind,
        "built": snapshot.built.isoformat(),
        "posts_as_of": snapshot.posts_as_of.isoformat() if snapshot.posts_as_of else None,
        "sources": snapshot.sources,
        "members": len(snapshot.members),
        "posts": len(snapshot.posts),
    }


# ---------------------------------------------------------------- names, ranks, departments


def fold(text: str) -> str:
    """Return text folded for matching: case, accents and runs of space ignored."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().split())


def _sort_key(text: str) -> tuple[str, str]:
    """Sort names ignoring case and accents, then exactly (as scripts/build_data.py does)."""
    return (fold(text), text)


_HONORIFICS = {"mr", "mrs", "ms", "miss", "dr", "sir", "dame", "lord", "lady", "professor", "prof", "rt", "hon", "rev"}


def names_from_list_as(list_as: str) -> tuple[str, str]:
    """Return (first name, surname) from nameListAs ("Abbott, Ms Diane" → ("Diane", "Abbott"))."""
    surname, _, given = list_as.partition(",")
    words = [word for word in given.split() if word.strip(".").casefold() not in _HONORIFICS]
    return " ".join(words), surname.strip()


def rank_of(post: str, kind: str) -> str:
    """Return a post's IfG-style rank (PM, DPM, SoS, MoS, PUSS, Parl. lead., Parl.) from its title.

    Used only for posts the snapshot in use does not know; an opposition post ranks as the office it shadows
    ("Shadow Secretary of State" as SoS; the Leader of the Opposition first, as PM).
    """
    title = re.sub(r"^Shadow\s+", "", post.strip())
    if kind == "opposition" and title.startswith("Leader of the Opposition"):
        return "PM"
    if title.startswith("Prime Minister"):
        return "PM"
    if title.startswith("Deputy Prime Minister"):
        return "DPM"
    senior = ("Secretary of State", "Chancellor of the", "Attorney General", "Lord Privy Seal", "Lord President")
    if title.startswith(senior) or title == "Lord Chancellor":
        return "SoS"
    if title in ("Home Secretary", "Foreign Secretary", "Justice Secretary"):  # the short forms shadows are given
        return "SoS"
    if "Chief Whip" in title or title.startswith(("Leader of the House", "Opposition Chief Whip")):
        return "Parl. lead."
    if "Whip" in title or "in Waiting" in title or "HM Household" in title or title.startswith("Deputy Leader"):
        return "Parl."
    junior = ("Parliamentary Under", "Parliamentary Secretary", "Economic Secretary", "Exchequer Secretary")
    if title.startswith(junior):
        return "PUSS"
    if title.startswith(("Minister", "Chief Secretary", "Financial Secretary", "Paymaster", "Solicitor General")):
        return "MoS"
    if title.startswith("Advocate General"):
        return "MoS"
    return ""


class DepartmentNames:
    """Maps the Members API's department names to the IfG codes departments.csv and the campaign rules use."""

    def __init__(self, previous: snapshots.Snapshot) -> None:
        self.codes: dict[str, str] = dict(DEPARTMENT_ALIASES)
        for department in previous.departments.values():
            self.codes[fold(department.name)] = department.department
        for post in previous.posts:
            if post.department_name and post.department:
                self.codes.setdefault(fold(post.department_name), post.department)
        self.names = {code: department.name for code, department in previous.departments.items()}

    def code(self, names: Sequence[str]) -> tuple[str, str]:
        """Return (IfG code, name) of the first department the snapshot knows; ("", API name) when none."""
        for name in names:
            code = self.codes.get(fold(name))
            if code:
                return code, self.names.get(code, name)
        return "", names[0] if names else ""


# ---------------------------------------------------------------- contact cache


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
        """Store a record; written to a temporary file and renamed, so a reader never sees half a file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(record.member_id)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        payload = {
            "member_id": record.member_id,
            "name": record.name,
            "party": record.party,
            "fetched": record.fetched.isoformat(),
            "entries": record.entries,
        }
        temporary.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, target)


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


# ---------------------------------------------------------------- building the snapshot


def _general_election(previous: snapshots.Snapshot) -> date:
    value = previous.sources.get("general_election") or GENERAL_ELECTION_FALLBACK
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DataError(f"{snapshots.META_FILE}: sources.general_election '{value}' is not a date") from None


def _seats(members: Sequence[ApiMember], previous: snapshots.Snapshot) -> dict[int, Constituency]:
    """Return each member's seat (ONS constituency) through the MNIS constituency id; one member a seat."""
    by_mnis = {c.constituency_id: c for c in previous.constituencies.values() if c.constituency_id is not None}
    seats: dict[int, Constituency] = {}
    holder: dict[str, ApiMember] = {}
    for member in members:
        seat = by_mnis.get(member.constituency_id) if member.constituency_id is not None else None
        if seat is None:
            raise SourceError(
                f"Members API member {member.member_id} ({member.name}): constituency id {member.constituency_id} "
                f"'{member.constituency}' is not in constituencies.csv"
            )
        if seat.code in holder:
            other = holder[seat.code]
            raise SourceError(
                f"Members API: two current members for {seat.name}: {other.member_id} ({other.name}) "
                f"and {member.member_id} ({member.name})"
            )
        holder[seat.code] = member
        seats[member.member_id] = seat
    return seats


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _day_text(value: date | None) -> str:
    return value.isoformat() if value else ""


def member_row(
    member: ApiMember,
    seat: Constituency,
    old: Member | None,
    contact: Contact,
    contact_date: date,
    committees: Sequence[str],
    history: MembershipHistory | None,
    general_election: date,
    today: date,
    gaps: list[dict[str, str]],
) -> dict[str, str]:
    """Return the members.csv row of one refreshed member (columns: snapshot.MEMBER_COLUMNS)."""
    if old is not None and old.list_as == member.list_as and old.surname:
        first_name, surname = old.first_name, old.surname
    else:
        first_name, surname = names_from_list_as(member.list_as)
    if old is not None:
        is_new = old.is_new
    else:
        is_new = history is None or not history.sat_before(general_election)
    start = member.membership_start
    if start is not None and start > general_election:
        by_election: date | None = start
    elif old is not None and old.constituency_code == seat.code:
        by_election = old.by_election_date
    else:
        by_election = None
    full_title = member.full_title
    if not full_title.endswith(" MP"):
        # MNIS omits "MP" for a few members (Makerfield, 2026); everyone listed here sits in the Commons.
        gaps.append(
            {"kind": "full_title_fixed", "name": member.name, "detail": f"'{full_title}' lacks 'MP'; ' MP' appended"}
        )
        full_title += " MP"
    parliamentary = list(contact.parliamentary_address) or list(DEFAULT_PARLIAMENTARY_ADDRESS)
    if parliamentary[-1] == "SW1A 0AA" and "London" not in parliamentary:
        parliamentary.insert(-1, "London")  # some records omit the post town
    if not contact.email:
        gaps.append(
            {
                "kind": "member_without_email",
                "name": f"{member.name} ({seat.name})",
                "detail": "no e-mail address in the Members API contact record",
            }
        )
    return {
        "member_id": str(member.member_id),
        "name": member.name,
        "full_title": full_title,
        "list_as": member.list_as or (old.list_as if old else f"{surname}, {first_name}"),
        "address_as": member.address_as or "",
        "first_name": first_name,
        "surname": surname,
        "gender": member.gender if member.gender in ("M", "F") else "",
        "party": member.party,
        "party_abbreviation": member.party_abbreviation,
        "constituency": seat.name,
        "constituency_code": seat.code,
        "constituency_id": str(seat.constituency_id or ""),
        "nation": seat.nation,
        "region": seat.region,
        "is_new": _flag(is_new),
        "by_election_date": _day_text(by_election),
        "member_since": _day_text(start or (old.member_since if old else None)),
        "email": contact.email or "",
        "email_source": f"members-api-{contact_date.isoformat()}" if contact.email else "",
        "parliamentary_address": LIST_SEPARATOR.join(parliamentary),
        "constituency_office": LIST_SEPARATOR.join(contact.constituency_office),
        "committees": LIST_SEPARATOR.join(committees),
        "source_date": today.isoformat(),
    }


def post_rows(
    holdings: Iterable[PostHolding], previous: snapshots.Snapshot, gaps: list[dict[str, str]]
) -> list[dict[str, str]]:
    """Return the posts.csv rows of the current post holders, reusing what the snapshot in use knew of a post."""
    known = {(post.member_id, post.kind, post.post): post for post in previous.posts}
    by_department: dict[tuple[int, str, str], list[Post]] = {}
    for post in previous.posts:
        by_department.setdefault((post.member_id, post.kind, post.department), []).append(post)
    departments = DepartmentNames(previous)
    rows = []
    for holding in holdings:
        old = known.get((holding.member_id, holding.kind, holding.post))
        if old is not None:
            code, name, rank, cabinet = old.department, old.department_name, old.rank, old.cabinet
        else:
            code, name = departments.code(holding.departments)
            rank = rank_of(holding.post, holding.kind)
            # Secretaries of State sit in Cabinet; for an opposition post this marks the Shadow Cabinet.
            cabinet = rank in ("PM", "DPM", "SoS")
            same_job = by_department.get((holding.member_id, holding.kind, code), []) if code else []
            if len(same_job) == 1:
                # The same job under Parliament's title: keep the rank and Cabinet flag the snapshot knew.
                old = same_job[0]
                rank, cabinet = old.rank, old.cabinet
            if not code and holding.departments:
                gaps.append(
                    {
                        "kind": "post_department_unknown",
                        "name": f"{holding.name}: {holding.post}",
                        "detail": f"department '{holding.departments[0]}' has no code in departments.csv",
                    }
                )
        rows.append(
            {
                "member_id": str(holding.member_id),
                "name": holding.name,
                "house": holding.house,
                "post": holding.post,
                "department": code,
                "department_name": name,
                "rank": rank,
                "kind": holding.kind,
                "cabinet": _flag(cabinet),
                "start_date": _day_text(holding.start_date),
                "is_acting": _flag(old.is_acting if old else False),
                "is_on_leave": _flag(old.is_on_leave if old else False),
            }
        )
    unique = {(row["member_id"], row["kind"], row["post"]): row for row in rows}
    return sorted(
        unique.values(),
        key=lambda r: (r["kind"], _sort_key(r["department"]), _sort_key(r["name"]), r["post"], r["start_date"]),
    )


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def verified_sites(
    rows: list[dict[str, str]], answers: Mapping[str, PostcodeResult], known_codes: Iterable[str]
) -> tuple[list[dict[str, str]], list[SiteCheck]]:
    """Return the site rows with each constituency set from its postcode, and every disagreement found.

    A site postcodes.io confirms or corrects is placed with high confidence (a postcode lookup is the authority
    the medium/low joins were waiting for); a postcode it does not know keeps its row as it was.
    """
    codes = set(known_codes)
    checked: list[dict[str, str]] = []
    disagreements: list[SiteCheck] = []
    for row in rows:
        answer = answers.get(postcode_key(row["postcode"])) if row.get("postcode") else None
        if answer is None:
            checked.append(row)
            continue
        if answer.constituency_code is None or answer.constituency_code not in codes:
            disagreements.append(
                SiteCheck(
                    row["site_id"], row["name"], row["postcode"], row["constituency_code"], None, "postcode_unknown"
                )
            )
            checked.append(row)
            continue
        if answer.constituency_code != row["constituency_code"]:
            disagreements.append(
                SiteCheck(
                    row["site_id"],
                    row["name"],
                    row["postcode"],
                    row["constituency_code"],
                    answer.constituency_code,
                    "corrected",
                )
            )
        checked.append({**row, "constituency_code": answer.constituency_code, "confidence": "high"})
    return checked, disagreements


# ---------------------------------------------------------------- the diff


def _who(member: Member) -> dict[str, Any]:
    return {"member_id": member.member_id, "name": member.name, "party": member.party}


def diff(before: snapshots.Snapshot, after: snapshots.Snapshot, site_checks: Sequence[SiteCheck] = ()) -> Diff:
    """Return what changed from `before` to `after`: seats, members, parties, posts, contact details, sites."""
    changes = Diff()
    old_members = {m.member_id: m for m in before.members}
    new_members = {m.member_id: m for m in after.members}
    for code in sorted(set(before.constituencies) | set(after.constituencies)):
        was, now = before.seat(code), after.seat(code)
        if (was.member_id if was else None) != (now.member_id if now else None):
            seat = after.constituencies.get(code) or before.constituencies[code]
            changes.seats_changed.append(
                {
                    "constituency_code": code,
                    "constituency": seat.name,
                    "before": _who(was) if was else None,
                    "after": _who(now) if now else None,
                }
            )
    changes.seats_changed.sort(key=lambda row: _sort_key(row["constituency"]))
    for member_id, member in new_members.items():
        old = old_members.get(member_id)
        if old is None:
            changes.new_members.append(
                {
                    **_who(member),
                    "constituency": member.constituency,
                    "is_new": member.is_new,
                    "by_election_date": _day_text(member.by_election_date) or None,
                }
            )
            continue
        if old.party != member.party:
            changes.party_changes.append(
                {**_who(member), "constituency": member.constituency, "before": old.party, "after": member.party}
            )
        for label, was_value, now_value in (
            ("name", old.name, member.name),
            ("address_as", old.address_as or "", member.address_as or ""),
        ):
            if was_value != now_value and (label == "name" or was_value):
                changes.name_changes.append(
                    {"member_id": member_id, "field": label, "before": was_value, "after": now_value}
                )
        for label, was_text, now_text in (
            ("email", old.email or "", member.email or ""),
            ("parliamentary_address", " | ".join(old.parliamentary_address), " | ".join(member.parliamentary_address)),
            ("constituency_office", " | ".join(old.constituency_office), " | ".join(member.constituency_office)),
        ):
            if was_text != now_text:
                changes.contact_changes.append(
                    {
                        "member_id": member_id,
                        "name": member.name,
                        "constituency": member.constituency,
                        "field": label,
                        "before": was_text or None,
                        "after": now_text or None,
                    }
                )
    for member_id, old in old_members.items():
        if member_id not in new_members:
            changes.departed_members.append({**_who(old), "constituency": old.constituency})
    for rows in (changes.new_members, changes.departed_members, changes.party_changes, changes.contact_changes):
        rows.sort(key=lambda row: (_sort_key(row["constituency"]), row.get("field", "")))

    def post_key(post: Post) -> tuple[int, str, str]:
        return (post.member_id, post.kind, post.post)

    old_posts = {post_key(p): p for p in before.posts}
    new_posts = {post_key(p): p for p in after.posts}
    # The embedded snapshot's titles are IfG's ("Minister for Care"), the Members API's are Parliament's
    # ("Minister of State (Department of Health and Social Care)"): a post whose title alone changed, same member,
    # side and department, is the same job retitled, not an appointment and a departure.
    unmatched_old: dict[tuple[int, str, str], list[Post]] = {}
    for key, post in old_posts.items():
        if key not in new_posts and post.department:
            unmatched_old.setdefault((post.member_id, post.kind, post.department), []).append(post)
    retitled: list[tuple[Post, Post]] = []
    for key, post in new_posts.items():
        candidates = unmatched_old.get((post.member_id, post.kind, post.department)) if post.department else None
        if key not in old_posts and candidates:
            retitled.append((candidates.pop(0), post))
    for old_post, new_post in retitled:
        del old_posts[post_key(old_post)]
        del new_posts[post_key(new_post)]

    def post_json(post: Post) -> dict[str, Any]:
        return {
            "member_id": post.member_id,
            "name": post.name,
            "kind": post.kind,
            "post": post.post,
            "department": post.department_name or post.department,
            "start_date": _day_text(post.start_date) or None,
        }

    changes.posts_appointed = [post_json(p) for key, p in new_posts.items() if key not in old_posts]
    changes.posts_ended = [post_json(p) for key, p in old_posts.items() if key not in new_posts]
    changes.posts_retitled = sorted(
        ({**post_json(new_post), "before": old_post.post} for old_post, new_post in retitled),
        key=lambda row: (row["kind"], _sort_key(row["department"]), _sort_key(row["name"]), row["post"]),
    )
    for rows in (changes.posts_appointed, changes.posts_ended):
        rows.sort(key=lambda row: (row["kind"], _sort_key(row["department"]), _sort_key(row["name"]), row["post"]))
    changes.site_corrections = [
        {
            "site_id": check.site_id,
            "name": check.name,
            "postcode": check.postcode,
            "before": check.before,
            "after": check.after,
            "outcome": check.outcome,
        }
        for check in site_checks
    ]
    return changes


# ---------------------------------------------------------------- the refresh


def _folder_name(now: datetime, folder: Path) -> str:
    """Return a new snapshot folder's name: its UTC time, 2026-11-28T101500 (suffixed if that one exists)."""
    name = now.astimezone(UTC).strftime("%Y-%m-%dT%H%M%S")
    candidate, number = name, 1
    while (folder / candidate).exists():
        number += 1
        candidate = f"{name}-{number}"
    return candidate


def _committee_names(
    committees: CommitteesApi, ids: Sequence[int]
) -> tuple[dict[int, list[str]], dict[str, int], dict[int, list[CommitteeMember]]]:
    """Return each member's committee names (in `ids` order), the committees' sizes, and the raw memberships."""
    by_member: dict[int, list[str]] = {}
    sizes: dict[str, int] = {}
    raw: dict[int, list[CommitteeMember]] = {}
    fetched = fetch_all(lambda committee: (committees.name(committee), committees.members(committee)), ids, workers=4)
    for committee_id, (name, members) in zip(ids, fetched, strict=True):
        raw[committee_id] = members
        sizes[name] = len(members)
        for member in members:
            names = by_member.setdefault(member.member_id, [])
            if name not in names:
                names.append(name)
    return by_member, sizes, raw


def refresh(
    home: Path,
    previous: snapshots.Snapshot,
    origins: Origins,
    *,
    full: bool = False,
    verify_sites: bool = False,
    politeness: Politeness | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RefreshResult:
    """Return a refresh of `previous` from the live sources, written as the newest snapshot under `home`.

    Raises SourceError (exit 3) when a source fails or answers badly; nothing is then written and `previous`
    stays the snapshot in use.
    """
    settings = politeness or Politeness()
    moment = now or datetime.now(UTC)
    today = moment.date()
    workers = settings.concurrency
    general_election = _general_election(previous)
    cache = ContactCache(home)
    gaps: list[dict[str, str]] = []

    members_client = JsonClient(origins.members_api, settings, transport=transport, sleep=sleep)
    committees_client = JsonClient(origins.committees_api, settings, transport=transport, sleep=sleep)
    postcodes_client = JsonClient(origins.postcodes, settings, transport=transport, sleep=sleep)
    with members_client, committees_client, postcodes_client:
        members_api = MembersApi(members_client)
        # The member list, both post lists and the committees do not depend on each other: fetch them side by side.
        tasks: list[Callable[[], Any]] = [
            lambda: members_api.current_commons(workers, progress),
            lambda: members_api.posts("government"),
            lambda: members_api.posts("opposition"),
            lambda: _committee_names(CommitteesApi(committees_client), COMMITTEES),
        ]
        listed, government, opposition, committees = fetch_all(lambda task: task(), tasks, workers=len(tasks))
        current: list[ApiMember] = [m for m in listed if m.house == 1]
        if not current:
            raise SourceError(f"GET {origins.members_api}/api/Members/Search: no current Commons members")
        seats = _seats(current, previous)
        holdings: list[PostHolding] = government + opposition
        committee_names, committee_sizes, _ = committees

        known = {m.member_id: m for m in previous.members}
        newcomers = [m.member_id for m in current if m.member_id not in known]
        histories = members_api.histories(newcomers, workers) if newcomers else {}

        cached = {m.member_id: cache.read(m.member_id) for m in current}
        stale = [
            m
            for m in current
            if refetch_reason(m, cached[m.member_id], known=m.member_id in known, full=full, now=moment) is not None
        ]

        def fetch_contact(member: ApiMember) -> CachedContact:
            record = CachedContact(
                member_id=member.member_id,
                name=member.name,
                party=member.party,
                fetched=moment,
                entries=members_api.contact(member.member_id),
            )
            cache.write(record)
            return record

        for fetched in fetch_all(fetch_contact, stale, workers=workers, progress=progress, stage="contacts"):
            cached[fetched.member_id] = fetched

        site_rows = _read_csv(previous.path / "sites.csv")
        site_checks: list[SiteCheck] = []
        if verify_sites:
            answers = PostcodesApi(postcodes_client).lookup(
                (row["postcode"] for row in site_rows if row.get("postcode")), workers=workers, progress=progress
            )
            site_rows, site_checks = verified_sites(site_rows, answers, previous.constituencies)
        requests = {
            "members_api": members_client.requests,
            "committees_api": committees_client.requests,
            "postcodes": postcodes_client.requests,
        }

    rows = []
    for member in current:
        record = cached[member.member_id]
        assert record is not None  # every member without a usable cached copy was fetched above
        contact = Contact.from_api(record.entries)
        old = known.get(member.member_id)
        if not record.entries:
            gaps.append(
                {
                    "kind": "contact_record_empty",
                    "name": member.name,
                    "detail": "the Members API has no contact entries for this member"
                    + ("; the previous snapshot's e-mail and offices are kept" if old else ""),
                }
            )
            if old is not None:
                contact = Contact(old.email, old.parliamentary_address, old.constituency_office)
        rows.append(
            member_row(
                member,
                seats[member.member_id],
                old,
                contact,
                record.fetched.date(),
                committee_names.get(member.member_id, []),
                histories.get(member.member_id),
                general_election,
                today,
                gaps,
            )
        )
    rows.sort(key=lambda row: _sort_key(row["constituency"]))
    held = {row["constituency_code"] for row in rows}
    vacant = tuple(sorted(code for code in previous.constituencies if code not in held))
    for code in vacant:
        gaps.append(
            {
                "kind": "seat_vacant",
                "name": previous.constituencies[code].name,
                "detail": f"no current member for {code} in the Members API on {today.isoformat()}; no seat letter",
            }
        )
    posts = post_rows(holdings, previous, gaps)
    for check in site_checks:
        gaps.append(
            {
                "kind": f"site_{check.outcome}",
                "name": f"{check.name} ({check.postcode})",
                "detail": f"postcodes.io: {check.before} → {check.after}"
                if check.after
                else f"postcodes.io does not know the postcode; kept in {check.before}",
            }
        )

    settled = SETTLED_GAPS | ({"site_constituency_unchecked"} if verify_sites else set())
    kept_gaps = [row for row in _read_csv(previous.path / "known_gaps.csv") if row.get("kind") not in settled]
    all_gaps = sorted(
        {(g["kind"], g["name"], g["detail"]): g for g in kept_gaps + gaps}.values(),
        key=lambda g: (g["kind"], _sort_key(g["name"]), g["detail"]),
    )

    by_elections = [row["by_election_date"] for row in rows if row["by_election_date"]]
    contact_dates = [record.fetched.date() for record in cached.values() if record is not None]
    sources = {
        **previous.sources,
        "members": today.isoformat(),
        "contacts": min(contact_dates).isoformat() if contact_dates else today.isoformat(),
        "posts": today.isoformat(),
        "committees": today.isoformat(),
        "general_election": general_election.isoformat(),
    }
    if by_elections:
        sources["by_elections"] = max(by_elections)
    if verify_sites:
        sources["postcodes"] = today.isoformat()
    sources.pop("built", None)

    folder = home / snapshots.SNAPSHOTS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = _folder_name(moment, folder)
    staging = folder / f".refresh-{name}-{os.getpid()}"
    try:
        staging.mkdir()
        counts = {
            "members": snapshots.write_rows(staging / "members.csv", snapshots.MEMBER_COLUMNS, rows),
            "posts": snapshots.write_rows(staging / "posts.csv", snapshots.POST_COLUMNS, posts),
            "sites": snapshots.write_rows(staging / "sites.csv", snapshots.SITE_COLUMNS, site_rows),
            "known_gaps": snapshots.write_rows(staging / "known_gaps.csv", snapshots.GAP_COLUMNS, all_gaps),
            "departments": len(previous.departments),
            "constituencies": len(previous.constituencies),
        }
        for carried in ("departments.csv", "constituencies.csv"):
            shutil.copyfile(previous.path / carried, staging / carried)
        if verify_sites:
            counts["site_checks"] = snapshots.write_rows(
                staging / SITE_CHECKS_FILE,
                SITE_CHECK_COLUMNS,
                (
                    {
                        "site_id": c.site_id,
                        "name": c.name,
                        "postcode": c.postcode,
                        "constituency_code_before": c.before,
                        "constituency_code_after": c.after or "",
                        "outcome": c.outcome,
                    }
                    for c in site_checks
                ),
            )
        meta = {
            "kind": "refreshed",
            "built": today.isoformat(),
            "sources": sources,
            "posts_as_of": today.isoformat(),
            "counts": counts,
            "schema": 1,
            "refreshed_at": moment.astimezone(UTC).isoformat(timespec="seconds"),
            "origins": {
                "members_api": origins.members_api,
                "committees_api": origins.committees_api,
                **({"postcodes": origins.postcodes} if verify_sites else {}),
            },
            "committees": committee_sizes,
            "vacant_seats": list(vacant),
            "previous": str(previous.path),
        }
        (staging / snapshots.META_FILE).write_text(
            json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        snapshots.load(staging)  # a snapshot the loader rejects must never become the one in use
        final = folder / name
        os.rename(staging, final)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutreachError(f"{staging}: cannot write the new snapshot: {exc.strerror}") from None
        raise
    fresh = snapshots.load(final)
    return RefreshResult(
        snapshot=fresh,
        previous=previous,
        diff=diff(previous, fresh, site_checks),
        requests=requests,
        contacts_fetched=len(stale),
        contacts_cached=len(current) - len(stale),
        vacant_seats=vacant,
    )
