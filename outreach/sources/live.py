"""The live sources' records (Members API, Committees API, postcodes.io) as `build` takes them.

A refresh carries over what has no live source here: `departments.csv`, `constituencies.csv`, `sites.csv` (sites
are corrected by postcodes.io with `verify_sites`) and the general election's date. For a member not known before,
`is_new` comes from `/api/Members/History` (new = no Commons membership before the current Parliament's first day:
a by-election winner who sat before is not new), and a membership that began after the general election is a
by-election win.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

from outreach import snapshot as snapshots
from outreach.errors import DataError, SourceError
from outreach.members import Member
from outreach.records import RecordItem
from outreach.sources.build import Fetched, names_from_list_as
from outreach.sources.contacts import CachedContact
from outreach.sources.parliament import ApiMember, Contact, MembershipHistory, PostHolding
from outreach.sources.plausible import two_members
from outreach.sources.postcodes import PostcodeResult, postcode_key
from outreach.sources.rows import ConstituencyRow, DepartmentRow, Gap, SiteRow

GENERAL_ELECTION_FALLBACK = "2024-07-04"  # used only when the snapshot in use does not record it
# Known gaps a refresh settles (it brings nameAddressAs, committees, current and opposition posts) or recomputes.
SETTLED_GAPS = frozenset(
    {
        "address_as_missing",
        "committees_missing",
        "ministers_stale",
        "opposition_posts_missing",
        "member_without_email",
        "full_title_fixed",
    }
)


@dataclass(frozen=True)
class SiteCheck:
    """A site whose constituency postcodes.io disagrees with, or whose postcode it does not know."""

    site_id: str
    name: str
    postcode: str
    before: str
    after: str | None  # the corrected ONS code; None when postcodes.io does not know the postcode
    outcome: str  # "corrected" | "postcode_unknown"

    @property
    def constituency_code_before(self) -> str:
        """Return the ONS code the site had (a column of site_checks.csv)."""
        return self.before

    @property
    def constituency_code_after(self) -> str | None:
        """Return the ONS code postcodes.io gives (a column of site_checks.csv)."""
        return self.after

    def as_json(self) -> dict[str, Any]:
        """Return the check as `outreach refresh --json` prints it."""
        return asdict(self)

    def gap(self) -> Gap:
        """Return the known gap this check records."""
        detail = (
            f"postcodes.io: {self.before} → {self.after}"
            if self.after
            else f"postcodes.io does not know the postcode; kept in {self.before}"
        )
        return Gap(f"site_{self.outcome}", f"{self.name} ({self.postcode})", detail)


@dataclass(frozen=True)
class LiveRecords:
    """What a refresh fetched: current members, their contact records, committees, posts and checked sites."""

    members: Sequence[ApiMember]
    contacts: Mapping[int, CachedContact]
    committees: Mapping[int, Sequence[str]]  # committee names by member id
    histories: Mapping[int, MembershipHistory]  # for members the snapshot in use did not know
    holdings: Sequence[PostHolding]
    sites: Sequence[SiteRow]
    site_checks: Sequence[SiteCheck]
    # Items of members' records (outreach/records.py) and the kinds fetched: those kinds replace the snapshot in use's.
    records: Sequence[RecordItem] = ()
    record_kinds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Carried:
    """The snapshot in use's files a refresh has no live source for, as rows."""

    departments: Sequence[DepartmentRow]
    constituencies: Sequence[ConstituencyRow]
    gaps: Sequence[Gap]


def general_election(previous: snapshots.Snapshot) -> date:
    """Return the date of the general election the snapshot in use records (2024-07-04 if none)."""
    value = previous.sources.get("general_election") or GENERAL_ELECTION_FALLBACK
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DataError(f"{snapshots.META_FILE}: sources.general_election '{value}' is not a date") from None


def seats(members: Sequence[ApiMember], previous: snapshots.Snapshot) -> dict[int, str]:
    """Return each member's seat (ONS code) through the MNIS constituency id; one member a seat."""
    by_mnis = {c.constituency_id: c for c in previous.constituencies.values() if c.constituency_id is not None}
    found: dict[int, str] = {}
    holder: dict[str, ApiMember] = {}
    for member in members:
        seat = by_mnis.get(member.constituency_id) if member.constituency_id is not None else None
        if seat is None:
            raise SourceError(
                f"Members API member {member.member_id} ({member.name}): constituency id {member.constituency_id} "
                f"'{member.constituency}' is not in constituencies.csv"
            )
        if seat.code in holder:
            raise two_members(seat.name, holder[seat.code], member)
        holder[seat.code] = member
        found[member.member_id] = seat.code
    return found


def member_row(
    member: ApiMember,
    seat_code: str,
    record: CachedContact,
    committees: Sequence[str],
    history: MembershipHistory | None,
    election: date,
    today: date,
) -> Member:
    """Return a member's row as the Members API states them, with their contact record and committees."""
    first_name, surname = names_from_list_as(member.list_as)
    contact = Contact.from_api(record.entries, f"contact record of member {member.member_id}")
    start = member.membership_start
    return Member(
        member_id=member.member_id,
        name=member.name,
        full_title=member.full_title,
        list_as=member.list_as,
        address_as=member.address_as,
        first_name=first_name,
        surname=surname,
        gender=member.gender if member.gender in ("M", "F") else "",
        party=member.party,
        party_abbreviation=member.party_abbreviation,
        constituency="",
        constituency_code=seat_code,
        constituency_id=None,
        nation="",
        region="",
        # History is fetched for members the snapshot in use does not know; without it, a member counts as new.
        is_new=history is None or not history.sat_before(election),
        by_election_date=start if start is not None and start > election else None,
        member_since=start,
        email=contact.email,
        email_source=f"members-api-{record.fetched.date().isoformat()}",
        parliamentary_address=contact.parliamentary_address,
        constituency_office=contact.constituency_office,
        committees=tuple(committees),
        source_date=today,
    )


def fetched(
    previous: snapshots.Snapshot, records: LiveRecords, carried: Carried, today: date, *, verify_sites: bool
) -> Fetched:
    """Return what a refresh fetched, and what it carries over, as `build` takes it."""
    election = general_election(previous)
    seat_of = seats(records.members, previous)
    members = [
        member_row(
            member,
            seat_of[member.member_id],
            records.contacts[member.member_id],
            records.committees.get(member.member_id, ()),
            records.histories.get(member.member_id),
            election,
            today,
        )
        for member in records.members
    ]
    return Fetched(
        members=members,
        posts=records.holdings,
        departments=carried.departments,
        constituencies=carried.constituencies,
        sites=records.sites,
        gaps=[check.gap() for check in records.site_checks],
        without_contact=frozenset(m for m, record in records.contacts.items() if not record.entries),
        carried_gaps=carried.gaps,
        settled=SETTLED_GAPS | ({"site_constituency_unchecked"} if verify_sites else set()),
        records=records.records,
        record_kinds=records.record_kinds,
    )


def verified_sites(
    rows: Iterable[SiteRow], answers: Mapping[str, PostcodeResult], known_codes: Iterable[str]
) -> tuple[list[SiteRow], list[SiteCheck]]:
    """Return the site rows with each constituency set from its postcode, and every disagreement found.

    A site postcodes.io confirms or corrects is placed with high confidence (a postcode lookup is the authority
    the medium/low joins were waiting for); a postcode it does not know keeps its row as it was.
    """
    codes = set(known_codes)
    checked: list[SiteRow] = []
    disagreements: list[SiteCheck] = []
    for row in rows:
        answer = answers.get(postcode_key(row.postcode)) if row.postcode else None
        if answer is None:
            checked.append(row)
            continue
        if answer.constituency_code is None or answer.constituency_code not in codes:
            disagreements.append(
                SiteCheck(row.site_id, row.name, row.postcode, row.constituency_code, None, "postcode_unknown")
            )
            checked.append(row)
            continue
        if answer.constituency_code != row.constituency_code:
            disagreements.append(
                SiteCheck(
                    row.site_id, row.name, row.postcode, row.constituency_code, answer.constituency_code, "corrected"
                )
            )
        checked.append(replace(row, constituency_code=answer.constituency_code, confidence="high"))
    return checked, disagreements
