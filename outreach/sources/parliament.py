"""Clients for Parliament's Members API and Committees API, with the typed records a refresh needs.

Shapes are the official OpenAPI specs (../shared/fixtures/members-api/, ../shared/fixtures/committees-api/) and
the genuine responses recorded beside them. Field names are mapped once, in each record's `from_api`.
Quirks handled here, each from the specs or the recorded bodies:

- `/api/Members/Search` caps `take` at 20 and pages on `skip`; the last page's `page.next` link points at itself
  (members-search-snommoc-edited.json), so links are never followed: paging stops when `skip >= totalResults`
  or a page comes back empty, whichever is first.
- `/api/Posts/GovernmentPosts` and `/api/Posts/OppositionPosts` return a bare JSON array of `{value, links}`;
  a holder whose `endDate` is null holds the post now.
- `nameAddressAs` is null for most MPs; a contact record may have no entries at all.
- `House` is an integer enum in the Members API (1 Commons, 2 Lords) and a string in the Committees API.
- The Committees API pages `/api/Committees/{id}/Members` with `Skip`/`Take` until `items` is empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from outreach.errors import SourceError
from outreach.records import RecordItem
from outreach.sources.http import JsonClient, Progress, fetch_all

PAGE_SIZE = 20  # the Members API's largest `take`
HISTORY_BATCH = 20  # member ids per /api/Members/History request, keeping the URL short
COMMONS = 1  # Members API `House` enum
LORDS = 2
KINDS = ("government", "opposition")

POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", re.IGNORECASE)
EMAIL = re.compile(r"[^@\s/]+@[^@\s/]+\.[^@\s/]+")


def clean(text: object) -> str:
    """Return text with surrounding space removed and inner runs of space collapsed ("" for None)."""
    return " ".join(str(text).split()) if text is not None else ""


def is_email(text: str) -> bool:
    """Return whether text is one e-mail address (MNIS fields also hold "No email found", URLs, phone numbers)."""
    return EMAIL.fullmatch(text) is not None


def office_lines(office: Mapping[str, Any]) -> list[str]:
    """Return an office's postal address lines with the postcode last, or [] when it is no postal address.

    Many Members API "Constituency office" records hold only a label ("Constituency office",
    "WhatsApp number") with a phone or e-mail; without a postcode they are not an address to post to.
    """
    lines = [clean(office.get(f"line{i}")) for i in range(1, 6)]
    lines = [line for line in lines if line]
    postcode = clean(office.get("postcode"))
    if postcode and POSTCODE.match(postcode):
        return lines + [postcode.upper()] if lines else []
    if len(lines) >= 2 and POSTCODE.match(lines[-1]):
        return lines  # postcode typed into the last address line
    return []


def _day(value: object) -> date | None:
    """Return the date of an API date-time ("2024-07-04T00:00:00"), or None."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _need(record: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """Return record[key], checked for type; a SourceError naming `where` when it is missing or wrong."""
    if not isinstance(record, dict):
        raise SourceError(f"{where}: expected a JSON object, got {type(record).__name__}")
    value = record.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SourceError(f"{where}: '{key}' should be {names}, got {json_type(value)}")
    return value


def json_type(value: object) -> str:
    """Return a JSON value's type as JSON names it."""
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


@dataclass(frozen=True)
class ApiMember:
    """A current member as `/api/Members/Search` gives them."""

    member_id: int
    name: str  # nameDisplayAs
    full_title: str  # nameFullTitle
    list_as: str  # nameListAs
    address_as: str | None  # nameAddressAs: null for most members
    gender: str
    party: str
    party_abbreviation: str
    house: int
    constituency: str  # latestHouseMembership.membershipFrom
    constituency_id: int | None  # latestHouseMembership.membershipFromId: MNIS constituency id
    membership_start: date | None

    @classmethod
    def from_api(cls, value: Any, where: str) -> ApiMember:
        """Return the member in a Members API `Member` object; `where` names it in errors."""
        member_id = _need(value, "id", int, where)
        where = f"{where} (member {member_id})"
        membership = value.get("latestHouseMembership") or {}
        party = value.get("latestParty") or {}
        name = clean(value.get("nameDisplayAs"))
        if not name:
            raise SourceError(f"{where}: no nameDisplayAs")
        from_id = membership.get("membershipFromId")
        return cls(
            member_id=member_id,
            name=name,
            full_title=clean(value.get("nameFullTitle")) or name,
            list_as=clean(value.get("nameListAs")),
            address_as=clean(value.get("nameAddressAs")) or None,
            gender=clean(value.get("gender")),
            party=clean(party.get("name")),
            party_abbreviation=clean(party.get("abbreviation")),
            house=LORDS if membership.get("house") == LORDS else COMMONS,
            constituency=clean(membership.get("membershipFrom")),
            constituency_id=from_id if isinstance(from_id, int) else None,
            membership_start=_day(membership.get("membershipStartDate")),
        )


@dataclass(frozen=True)
class Contact:
    """A member's contact record (`/api/Members/{id}/Contact`): e-mail and postal offices."""

    email: str | None
    parliamentary_address: tuple[str, ...]
    constituency_office: tuple[str, ...]

    @classmethod
    def from_api(cls, entries: Sequence[Any]) -> Contact:
        """Return the contact details in the `value` list of a contact record (it may be empty).

        The e-mail is the parliamentary office's when it has one, else the first valid one of any entry;
        offices count only when they are postal addresses (see `office_lines`).
        """
        offices = [entry for entry in entries if isinstance(entry, dict)]
        parliamentary = [o for o in offices if o.get("type") == "Parliamentary office"]
        emails = [clean(o.get("email")) for o in parliamentary + offices]
        email = next((e for e in emails if is_email(e)), None)
        first_postal = {
            kind: next((lines for o in offices if o.get("type") == kind and (lines := office_lines(o))), [])
            for kind in ("Parliamentary office", "Constituency office")
        }
        return cls(
            email=email,
            parliamentary_address=tuple(first_postal["Parliamentary office"]),
            constituency_office=tuple(first_postal["Constituency office"]),
        )


@dataclass(frozen=True)
class PostHolding:
    """One current holder of a government or opposition post (`/api/Posts/...`)."""

    post_id: int
    post: str
    kind: str  # government | opposition
    member_id: int
    name: str
    house: str  # Commons | Lords
    start_date: date | None
    departments: tuple[str, ...]  # governmentDepartments[].name, as the API spells them

    @classmethod
    def from_api(cls, item: Any, kind: str, where: str) -> list[PostHolding]:
        """Return the current holders of one post item (`{value, links}`); holders with an endDate are past."""
        value = _need(item, "value", dict, where)
        post_id = value.get("id") if isinstance(value.get("id"), int) else 0
        post = clean(value.get("name"))
        where = f"{where} (post {post_id} '{post}')"
        if not post:
            raise SourceError(f"{where}: no post name")
        departments = tuple(
            clean(d.get("name")) for d in value.get("governmentDepartments") or [] if isinstance(d, dict)
        )
        holdings = []
        for holder in value.get("postHolders") or []:
            if not isinstance(holder, dict) or holder.get("endDate") is not None:
                continue
            member = _need(holder.get("member") or {}, "value", dict, f"{where}: holder")
            person = ApiMember.from_api(member, f"{where}: holder")
            holdings.append(
                cls(
                    post_id=post_id,
                    post=post,
                    kind=kind,
                    member_id=person.member_id,
                    name=person.name,
                    house="Lords" if person.house == LORDS else "Commons",
                    start_date=_day(holder.get("startDate")),
                    departments=tuple(d for d in departments if d),
                )
            )
        return holdings


@dataclass(frozen=True)
class MembershipHistory:
    """When a member sat in the Commons (`/api/Members/History`, houseMembershipHistory)."""

    member_id: int
    commons_starts: tuple[date, ...]

    @classmethod
    def from_api(cls, item: Any, where: str) -> MembershipHistory:
        """Return a member's Commons membership start dates from one `{value, links}` history item."""
        value = _need(item, "value", dict, where)
        member_id = _need(value, "id", int, where)
        starts = tuple(
            day
            for membership in value.get("houseMembershipHistory") or []
            if isinstance(membership, dict)
            and membership.get("house") == COMMONS
            and (day := _day(membership.get("membershipStartDate"))) is not None
        )
        return cls(member_id=member_id, commons_starts=tuple(sorted(starts)))

    def sat_before(self, day: date) -> bool:
        """Return whether any Commons membership began before `day` (the current Parliament's first day)."""
        return any(start < day for start in self.commons_starts)


@dataclass(frozen=True)
class CommitteeMember:
    """A current member of a select committee (Committees API `CommitteeMember`)."""

    committee_id: int
    member_id: int  # memberInfo.mnisId: the Members API id
    name: str
    is_chair: bool

    @classmethod
    def from_api(cls, item: Any, committee_id: int, where: str) -> CommitteeMember | None:
        """Return the member in one item, or None for a lay member or one whose every role has ended."""
        if not isinstance(item, dict) or item.get("isLayMember"):
            return None
        info = _need(item, "memberInfo", dict, where)
        roles = [role for role in item.get("roles") or [] if isinstance(role, dict)]
        if roles and all(role.get("endDate") is not None for role in roles):
            return None
        return cls(
            committee_id=committee_id,
            member_id=_need(info, "mnisId", int, where),
            name=clean(info.get("displayAs") or item.get("name")),
            is_chair=bool(info.get("isChair")),
        )

    def record(self, committee: str, today: date) -> RecordItem:
        """Return the seat on the committee as an item of the member's record, sourced to the Committees API today."""
        return RecordItem(
            member_id=self.member_id,
            kind="committee",
            title=committee,
            organisation=committee,
            code=str(self.committee_id),
            role="Chair" if self.is_chair else "Member",
            source="Committees API",
            reference=f"committee {self.committee_id}",
            source_date=today,
        )


class MembersApi:
    """The Members API endpoints a refresh uses."""

    def __init__(self, client: JsonClient) -> None:
        self.client = client

    def _search_page(self, skip: int) -> tuple[list[ApiMember], int]:
        params = {"House": COMMONS, "IsCurrentMember": "true", "skip": skip, "take": PAGE_SIZE}
        where = f"GET {self.client.origin}/api/Members/Search?skip={skip}&take={PAGE_SIZE}"
        page = self.client.get("/api/Members/Search", params)
        items = _need(page, "items", list, where)
        total = _need(page, "totalResults", int, where)
        members = [
            ApiMember.from_api(_need(item, "value", dict, f"{where}: item {n}"), f"{where}: item {n}")
            for n, item in enumerate(items)
        ]
        return members, total

    def current_commons(self, workers: int, progress: Progress | None = None) -> list[ApiMember]:
        """Return every current Commons member, in the API's order, each once."""
        first, total = self._search_page(0)
        pages = [first]
        if first:
            later = fetch_all(
                lambda skip: self._search_page(skip)[0],
                range(PAGE_SIZE, total, PAGE_SIZE),
                workers=workers,
                progress=progress,
                stage="members",
            )
            for page in later:
                if not page:  # fewer members than totalResults promised: an empty page ends the list
                    break
                pages.append(page)
        seen: dict[int, ApiMember] = {}
        for page in pages:
            for member in page:
                seen.setdefault(member.member_id, member)
        return list(seen.values())

    def contact(self, member_id: int) -> list[Any]:
        """Return the raw entries of a member's contact record (cached as given; map with Contact.from_api)."""
        where = f"GET {self.client.origin}/api/Members/{member_id}/Contact"
        record = self.client.get(f"/api/Members/{member_id}/Contact")
        if not isinstance(record, dict):
            raise SourceError(f"{where}: expected a JSON object, got {json_type(record)}")
        entries = record.get("value")
        if entries is None:
            return []
        if not isinstance(entries, list):
            raise SourceError(f"{where}: 'value' should be an array, got {json_type(entries)}")
        return entries

    def posts(self, kind: str) -> list[PostHolding]:
        """Return the current holders of every government or opposition post."""
        path = "/api/Posts/GovernmentPosts" if kind == "government" else "/api/Posts/OppositionPosts"
        where = f"GET {self.client.origin}{path}"
        items = self.client.get(path)
        if not isinstance(items, list):
            raise SourceError(f"{where}: expected a JSON array of posts, got {json_type(items)}")
        return [
            holding
            for n, item in enumerate(items)
            for holding in PostHolding.from_api(item, kind, f"{where}: item {n}")
        ]

    def histories(self, member_ids: Iterable[int], workers: int) -> dict[int, MembershipHistory]:
        """Return the Commons membership history of each member, by id."""
        ids = sorted(set(member_ids))
        batches = [ids[start : start + HISTORY_BATCH] for start in range(0, len(ids), HISTORY_BATCH)]

        def fetch(batch: list[int]) -> list[MembershipHistory]:
            where = f"GET {self.client.origin}/api/Members/History?ids={','.join(map(str, batch))}"
            items = self.client.get("/api/Members/History", {"ids": batch})
            if not isinstance(items, list):
                raise SourceError(f"{where}: expected a JSON array, got {json_type(items)}")
            return [MembershipHistory.from_api(item, f"{where}: item {n}") for n, item in enumerate(items)]

        found = {h.member_id: h for batch in fetch_all(fetch, batches, workers=workers, stage="history") for h in batch}
        missing = [member_id for member_id in ids if member_id not in found]
        if missing:
            raise SourceError(f"GET {self.client.origin}/api/Members/History: no history for member {missing[0]}")
        return found


class CommitteesApi:
    """The Committees API endpoints a refresh uses."""

    def __init__(self, client: JsonClient) -> None:
        self.client = client

    def name(self, committee_id: int) -> str:
        """Return a committee's name ("Health and Social Care Committee")."""
        where = f"GET {self.client.origin}/api/Committees/{committee_id}"
        found = self.client.get(f"/api/Committees/{committee_id}")
        name = clean(_need(found, "name", str, where))
        if not name:
            raise SourceError(f"{where}: empty committee name")
        return name

    def members(self, committee_id: int) -> list[CommitteeMember]:
        """Return a committee's current members (lay members left out), paging until a page is empty."""
        found: list[CommitteeMember] = []
        skip = 0
        while True:
            params = {"MembershipStatus": "Current", "Skip": skip, "Take": PAGE_SIZE}
            where = f"GET {self.client.origin}/api/Committees/{committee_id}/Members?Skip={skip}&Take={PAGE_SIZE}"
            page = self.client.get(f"/api/Committees/{committee_id}/Members", params)
            items = _need(page, "items", list, where)
            for n, item in enumerate(items):
                member = CommitteeMember.from_api(item, committee_id, f"{where}: item {n}")
                if member is not None:
                    found.append(member)
            skip += PAGE_SIZE
            total = page.get("totalResults")
            if not items or (isinstance(total, int) and skip >= total):
                return found
