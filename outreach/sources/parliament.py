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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from outreach.errors import SourceError
from outreach.records import RecordItem
from outreach.sources.fields import Json, clean, json_type
from outreach.sources.http import JsonClient, Progress, fetch_all

PAGE_SIZE = 20  # the Members API's largest `take`
HISTORY_BATCH = 20  # member ids per /api/Members/History request, keeping the URL short
COMMONS = 1  # Members API `House` enum
LORDS = 2
KINDS = ("government", "opposition")

POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", re.IGNORECASE)
EMAIL = re.compile(r"[^@\s/]+@[^@\s/]+\.[^@\s/]+")


__all__ = ["clean", "json_type"]  # re-exported for sources/records.py, which reads its bodies with the helpers below


def _day(value: object) -> date | None:
    """Return the date of an API date-time ("2024-07-04T00:00:00"), or None (sources/records.py; see fields.Json)."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _need(record: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """Return record[key], checked for type; a SourceError naming `where` when it is missing or wrong.

    Kept for sources/records.py until it reads through fields.Json, the typed accessors every other client uses.
    """
    if not isinstance(record, dict):
        raise SourceError(f"{where}: expected a JSON object, got {json_type(record)}")
    value = record.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SourceError(f"{where}: '{key}' should be {names}, got {json_type(value)}")
    return value


def is_email(text: str) -> bool:
    """Return whether text is one e-mail address (MNIS fields also hold "No email found", URLs, phone numbers)."""
    return EMAIL.fullmatch(text) is not None


def office_lines(office: Json) -> list[str]:
    """Return an office's postal address lines with the postcode last, or [] when it is no postal address.

    Many Members API "Constituency office" records hold only a label ("Constituency office",
    "WhatsApp number") with a phone or e-mail; without a postcode they are not an address to post to.
    """
    lines = [office.text(f"line{i}") for i in range(1, 6)]
    lines = [line for line in lines if line]
    postcode = office.text("postcode")
    if postcode and POSTCODE.match(postcode):
        return lines + [postcode.upper()] if lines else []
    if len(lines) >= 2 and POSTCODE.match(lines[-1]):
        return lines  # postcode typed into the last address line
    return []


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
    def from_api(cls, value: Json) -> ApiMember:
        """Return the member in a Members API `Member` object."""
        membership = value.obj("latestHouseMembership")
        party = value.obj("latestParty")
        name = value.text("nameDisplayAs", required=True)
        return cls(
            member_id=value.integer("id"),
            name=name,
            full_title=value.text("nameFullTitle") or name,
            list_as=value.text("nameListAs"),
            address_as=value.text("nameAddressAs") or None,
            gender=value.text("gender"),
            party=party.text("name"),
            party_abbreviation=party.text("abbreviation"),
            house=LORDS if membership.optional_integer("house") == LORDS else COMMONS,
            constituency=membership.text("membershipFrom"),
            constituency_id=membership.optional_integer("membershipFromId"),
            membership_start=membership.day("membershipStartDate"),
        )


@dataclass(frozen=True)
class Contact:
    """A member's contact record (`/api/Members/{id}/Contact`): e-mail and postal offices."""

    email: str | None
    parliamentary_address: tuple[str, ...]
    constituency_office: tuple[str, ...]

    @classmethod
    def from_api(cls, entries: Sequence[Any], where: str = "contact record") -> Contact:
        """Return the contact details in the `value` list of a contact record (it may be empty).

        The e-mail is the parliamentary office's when it has one, else the first valid one of any entry;
        offices count only when they are postal addresses (see `office_lines`).
        """
        offices = [entry.as_object() for entry in Json(list(entries), where, "value").as_array()]
        parliamentary = [o for o in offices if o.text("type") == "Parliamentary office"]
        emails = [o.text("email") for o in parliamentary + offices]
        email = next((e for e in emails if is_email(e)), None)
        first_postal = {
            kind: next((lines for o in offices if o.text("type") == kind and (lines := office_lines(o))), [])
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
    def from_api(cls, item: Json, kind: str) -> list[PostHolding]:
        """Return the current holders of one post item (`{value, links}`); holders with an endDate are past."""
        value = item.obj("value", required=True)
        post_id = value.optional_integer("id") or 0
        post = value.text("name", required=True)
        departments = tuple(d.text("name") for d in value.objects("governmentDepartments"))
        holdings = []
        for holder in value.objects("postHolders"):
            if holder.has("endDate"):
                continue
            person = ApiMember.from_api(holder.obj("member", required=True).obj("value", required=True))
            holdings.append(
                cls(
                    post_id=post_id,
                    post=post,
                    kind=kind,
                    member_id=person.member_id,
                    name=person.name,
                    house="Lords" if person.house == LORDS else "Commons",
                    start_date=holder.day("startDate"),
                    departments=tuple(d for d in departments if d),
                )
            )
        return holdings


@dataclass(frozen=True)
class MembershipHistory:
    """When a member sat in the Commons (`/api/Members/History`, houseMembershipHistory)."""

    member_id: int
    commons_starts: tuple[date, ...]
    left: date | None = None  # when the latest Commons membership ended, if it has
    left_because: str = ""  # membershipEndReason ("Death", "Resignation"), as the API gives it

    @classmethod
    def from_api(cls, item: Json) -> MembershipHistory:
        """Return a member's Commons membership start dates (and when the latest ended) from a `{value, links}` item."""
        value = item.obj("value", required=True)
        commons = [m for m in value.objects("houseMembershipHistory") if m.optional_integer("house") == COMMONS]
        starts = [(day, m) for m in commons if (day := m.day("membershipStartDate")) is not None]
        latest = max(starts, key=lambda pair: pair[0])[1] if starts else None
        return cls(
            member_id=value.integer("id"),
            commons_starts=tuple(sorted(day for day, _ in starts)),
            left=latest.day("membershipEndDate") if latest is not None else None,
            left_because=latest.text("membershipEndReason") if latest is not None else "",
        )

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
    def from_api(cls, item: Json, committee_id: int) -> CommitteeMember | None:
        """Return the member in one item, or None for a lay member or one whose every role has ended."""
        item = item.as_object()
        if item.flag("isLayMember"):
            return None
        info = item.obj("memberInfo", required=True)
        roles = list(item.objects("roles"))
        if roles and all(role.has("endDate") for role in roles):
            return None
        return cls(
            committee_id=committee_id,
            member_id=info.integer("mnisId"),
            name=info.text("displayAs") or item.text("name"),
            is_chair=info.flag("isChair"),
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
        page = self.client.get_json("/api/Members/Search", params).as_object()
        members = [ApiMember.from_api(item.obj("value", required=True)) for item in page.array("items", required=True)]
        return members, page.integer("totalResults")

    def current_commons(self, workers: int, progress: Progress | None = None) -> list[ApiMember]:
        """Return every current Commons member, in the API's order (as listed: a member listed twice is twice)."""
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
        return [member for page in pages for member in page]

    def contact(self, member_id: int) -> list[Any]:
        """Return the raw entries of a member's contact record, checked to map (cached as given; see Contact)."""
        record = self.client.get_json(f"/api/Members/{member_id}/Contact").as_object()
        entries = record.array("value")
        Contact.from_api([entry.value for entry in entries], record.where)  # refuse wrong types before caching
        return [entry.value for entry in entries]

    def posts(self, kind: str) -> list[PostHolding]:
        """Return the current holders of every government or opposition post."""
        path = "/api/Posts/GovernmentPosts" if kind == "government" else "/api/Posts/OppositionPosts"
        items = self.client.get_json(path).as_array()
        return [holding for item in items for holding in PostHolding.from_api(item, kind)]

    def histories(self, member_ids: Iterable[int], workers: int) -> dict[int, MembershipHistory]:
        """Return the Commons membership history of each member, by id."""
        ids = sorted(set(member_ids))
        batches = [ids[start : start + HISTORY_BATCH] for start in range(0, len(ids), HISTORY_BATCH)]

        def fetch(batch: list[int]) -> list[MembershipHistory]:
            items = self.client.get_json("/api/Members/History", {"ids": batch}).as_array()
            return [MembershipHistory.from_api(item) for item in items]

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
        return self.client.get_json(f"/api/Committees/{committee_id}").as_object().text("name", required=True)

    def members(self, committee_id: int) -> list[CommitteeMember]:
        """Return a committee's current members (lay members left out), paging until a page is empty."""
        found: list[CommitteeMember] = []
        skip = 0
        while True:
            params = {"MembershipStatus": "Current", "Skip": skip, "Take": PAGE_SIZE}
            page = self.client.get_json(f"/api/Committees/{committee_id}/Members", params).as_object()
            items = page.array("items", required=True)
            for item in items:
                member = CommitteeMember.from_api(item, committee_id)
                if member is not None:
                    found.append(member)
            skip += PAGE_SIZE
            total = page.optional_integer("totalResults")
            if not items or (total is not None and skip >= total):
                return found
