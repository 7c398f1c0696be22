"""Build a snapshot's rows from what the sources brought: one pure function, `build`, for every source.

The embedded snapshot (outreach/sources/embedded.py, from the shared files) and a live refresh
(outreach/sources/live.py, from the Members and Committees APIs) each turn what they read into a `Fetched`;
`build(previous, fetched, today)` makes the typed rows of every file and the known gaps from it. What it carries
over from the snapshot in use (`previous`), and why:
- for a member already known: `is_new`, `first_name`/`surname` while `nameListAs` is unchanged, and the
  by-election date of their seat — the API says when a membership began, not whether the member sat before;
- for a post already known (same member, kind and title): its IfG department code, rank and Cabinet flag;
- its known gaps, but those the sources settle (`Fetched.settled`);
- its members' records (records.csv) of every kind the sources did not bring (`Fetched.record_kinds`): a refresh
  that fetches no former posts keeps the embedded ones.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from outreach import snapshot as snapshots
from outreach.members import Member, Post
from outreach.records import RecordItem
from outreach.sources.parliament import PostHolding
from outreach.sources.rows import ConstituencyRow, DepartmentRow, Gap, SiteRow

DEFAULT_PARLIAMENTARY_ADDRESS = ("House of Commons", "London", "SW1A 0AA")
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
class Fetched:
    """What the sources brought, before it is made into a snapshot's rows."""

    # Each sitting member's row as far as the source knows it: `build` fills the constituency's name, id, nation
    # and region from `constituencies`, and keeps what `previous` knew where the source is silent.
    members: Sequence[Member]
    # A post as the snapshot writes it, or a holding whose department, rank and Cabinet flag are still to resolve.
    posts: Sequence[Post | PostHolding]
    departments: Sequence[DepartmentRow]
    constituencies: Sequence[ConstituencyRow]
    sites: Sequence[SiteRow]
    gaps: Sequence[Gap]  # found while reading the sources
    without_contact: frozenset[int] = frozenset()  # members the source has no contact record for
    carried_gaps: Sequence[Gap] = ()  # the snapshot in use's known gaps
    settled: frozenset[str] = frozenset()  # kinds of carried gap the sources settle
    title_source: str = ""  # names the full-title field in a gap ("DfE full_title ")
    email_sources: str = "the Members API contact record"  # where an e-mail address was looked for
    # Members' records (outreach/records.py) of the kinds in `record_kinds`: these replace the snapshot in use's
    # items of those kinds; its items of other kinds are carried over.
    records: Sequence[RecordItem] = ()
    record_kinds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Built:
    """A snapshot's rows, file by file, and its known gaps, sorted as they are written."""

    members: list[Member]
    posts: list[Post]
    departments: list[DepartmentRow]
    constituencies: list[ConstituencyRow]
    sites: list[SiteRow]
    gaps: list[Gap]
    vacant_seats: tuple[str, ...]
    records: list[RecordItem] = field(default_factory=list)


def fold(text: str) -> str:
    """Return text folded for matching: case, accents and runs of space ignored."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().split())


def sort_key(text: str) -> tuple[str, str]:
    """Return a key sorting names ignoring case and accents, then exactly (never depending on a locale)."""
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


def day_text(value: date | None) -> str:
    """Return a date as ISO text, "" for None."""
    return value.isoformat() if value else ""


def member_row(source: Member, old: Member | None, seat: ConstituencyRow, fetched: Fetched, gaps: list[Gap]) -> Member:
    """Return the members.csv row of one member, keeping what the snapshot in use knew where the source is silent."""
    if old is not None and old.list_as == source.list_as and old.surname:
        first_name, surname = old.first_name, old.surname
    else:
        first_name, surname = source.first_name, source.surname
    by_election = source.by_election_date
    if by_election is None and old is not None and old.constituency_code == seat.constituency_code:
        by_election = old.by_election_date
    email, parliamentary, office = source.email, list(source.parliamentary_address), source.constituency_office
    if source.member_id in fetched.without_contact:
        gaps.append(
            Gap(
                "contact_record_empty",
                source.name,
                "the Members API has no contact entries for this member"
                + ("; the previous snapshot's e-mail and offices are kept" if old else ""),
            )
        )
        if old is not None:
            email, parliamentary, office = old.email, list(old.parliamentary_address), old.constituency_office
    full_title = source.full_title
    if not full_title.endswith(" MP"):
        # MNIS omits "MP" for a few members (Makerfield, 2026); everyone listed here sits in the Commons.
        detail = f"{fetched.title_source}'{full_title}' lacks 'MP'; ' MP' appended"
        gaps.append(Gap("full_title_fixed", source.name, detail))
        full_title += " MP"
    parliamentary = parliamentary or list(DEFAULT_PARLIAMENTARY_ADDRESS)
    if parliamentary[-1] == "SW1A 0AA" and "London" not in parliamentary:
        parliamentary.insert(-1, "London")  # some records omit the post town
    if not email:
        detail = f"no e-mail address in {fetched.email_sources}"
        gaps.append(Gap("member_without_email", f"{source.name} ({seat.name})", detail))
    return replace(
        source,
        full_title=full_title,
        list_as=source.list_as or (old.list_as if old else f"{surname}, {first_name}"),
        first_name=first_name,
        surname=surname,
        constituency=seat.name,
        constituency_id=int(seat.constituency_id) if seat.constituency_id else None,
        nation=seat.nation,
        region=seat.region,
        is_new=old.is_new if old is not None else source.is_new,
        by_election_date=by_election,
        member_since=source.member_since or (old.member_since if old else None),
        email=email,
        email_source=source.email_source if email else "",
        parliamentary_address=tuple(parliamentary),
        constituency_office=office,
    )


def post_rows(posts: Iterable[Post | PostHolding], previous: snapshots.Snapshot, gaps: list[Gap]) -> list[Post]:
    """Return the posts.csv rows of the current post holders, reusing what the snapshot in use knew of a post."""
    known = {(post.member_id, post.kind, post.post): post for post in previous.posts}
    by_department: dict[tuple[int, str, str], list[Post]] = {}
    for post in previous.posts:
        by_department.setdefault((post.member_id, post.kind, post.department), []).append(post)
    departments = DepartmentNames(previous)
    given = [post for post in posts if isinstance(post, Post)]
    # The API lists a holder once per department of a post; the snapshot has one row per member, side and title.
    resolved = {
        (post.member_id, post.kind, post.post): _holding_row(post, known, by_department, departments, gaps)
        for post in posts
        if isinstance(post, PostHolding)
    }
    return sorted(
        [*given, *resolved.values()],
        key=lambda r: (r.kind, sort_key(r.department), sort_key(r.name), r.post, day_text(r.start_date)),
    )


def _holding_row(
    holding: PostHolding,
    known: dict[tuple[int, str, str], Post],
    by_department: dict[tuple[int, str, str], list[Post]],
    departments: DepartmentNames,
    gaps: list[Gap],
) -> Post:
    """Return the posts.csv row of one post holding, resolved against what the snapshot in use knew."""
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
            detail = f"department '{holding.departments[0]}' has no code in departments.csv"
            gaps.append(Gap("post_department_unknown", f"{holding.name}: {holding.post}", detail))
    return Post(
        member_id=holding.member_id,
        name=holding.name,
        house=holding.house,
        post=holding.post,
        department=code,
        department_name=name,
        rank=rank,
        kind=holding.kind,
        cabinet=cabinet,
        start_date=holding.start_date,
        is_acting=old.is_acting if old else False,
        is_on_leave=old.is_on_leave if old else False,
    )


def record_rows(previous: snapshots.Snapshot, fetched: Fetched, members: Iterable[int]) -> list[RecordItem]:
    """Return the records.csv rows: the kinds the sources brought, and the snapshot in use's other kinds, for the
    current members and post holders only (a record is about someone a letter may go to)."""
    kept = [item for item in previous.records if item.kind not in fetched.record_kinds]
    current = set(members)
    unique = {
        (item.member_id, item.kind, item.title, item.reference, day_text(item.start_date)): item
        for item in (*kept, *fetched.records)
        if item.member_id in current
    }
    return sorted(unique.values(), key=lambda item: item.sort_key)


def build(previous: snapshots.Snapshot, fetched: Fetched, today: date) -> Built:
    """Return the rows of every snapshot file and the known gaps, from `fetched` and the snapshot in use."""
    gaps: list[Gap] = list(fetched.gaps)
    seats = {row.constituency_code: row for row in fetched.constituencies}
    known = {member.member_id: member for member in previous.members}
    members = sorted(
        (member_row(m, known.get(m.member_id), seats[m.constituency_code], fetched, gaps) for m in fetched.members),
        key=lambda row: sort_key(row.constituency),
    )
    held = {row.constituency_code for row in members}
    vacant = tuple(sorted(code for code in seats if code not in held))
    for code in vacant:
        detail = f"no current member for {code} in the Members API on {today.isoformat()}; no seat letter"
        gaps.append(Gap("seat_vacant", seats[code].name, detail))
    posts = post_rows(fetched.posts, previous, gaps)
    kept = [gap for gap in fetched.carried_gaps if gap.kind not in fetched.settled]
    unique = {(gap.kind, gap.name, gap.detail): gap for gap in kept + gaps}
    return Built(
        members=members,
        posts=posts,
        departments=sorted(fetched.departments, key=lambda row: sort_key(row.department)),
        constituencies=sorted(fetched.constituencies, key=lambda row: row.constituency_code),
        sites=sorted(fetched.sites, key=lambda row: row.site_id),
        gaps=sorted(unique.values(), key=lambda g: (g.kind, sort_key(g.name), g.detail)),
        vacant_seats=vacant,
        records=record_rows(previous, fetched, [*(m.member_id for m in members), *(p.member_id for p in posts)]),
    )
