"""What changed between two snapshots: seats, members, parties, names, posts, contact details and sites, as typed rows.

Each row's `as_json()` is what `outreach refresh --json` prints under "changes"; the CLI prints the same rows as tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from dataclasses import field as list_field
from typing import Any

from outreach import snapshot as snapshots
from outreach.members import Member, Post
from outreach.sources.build import day_text, sort_key
from outreach.sources.live import SiteCheck


class _JsonRow:
    """A diff row that prints as its fields, in order."""

    def as_json(self) -> dict[str, Any]:
        """Return the row as `--json` prints it."""
        return asdict(self)  # type: ignore[call-overload, no-any-return]


@dataclass(frozen=True)
class Who(_JsonRow):
    """A member as a change names them."""

    member_id: int
    name: str
    party: str

    @classmethod
    def of(cls, member: Member) -> Who:
        """Return who `member` is."""
        return cls(member.member_id, member.name, member.party)


@dataclass(frozen=True)
class SeatChange(_JsonRow):
    """A seat that changed hands; None on a side where it was vacant."""

    constituency_code: str
    constituency: str
    before: Who | None
    after: Who | None


@dataclass(frozen=True)
class NewMember(_JsonRow):
    """A member the newer snapshot has and the older did not."""

    member_id: int
    name: str
    party: str
    constituency: str
    is_new: bool
    by_election_date: str | None


@dataclass(frozen=True)
class DepartedMember(_JsonRow):
    """A member the older snapshot had and the newer does not."""

    member_id: int
    name: str
    party: str
    constituency: str


@dataclass(frozen=True)
class PartyChange(_JsonRow):
    """A member whose party changed."""

    member_id: int
    name: str
    party: str
    constituency: str
    before: str
    after: str


@dataclass(frozen=True)
class NameChange(_JsonRow):
    """A member's display name, or form of address, changed."""

    member_id: int
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class ContactChange(_JsonRow):
    """A member's e-mail address, parliamentary address or constituency office changed."""

    member_id: int
    name: str
    constituency: str
    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class PostChange(_JsonRow):
    """A post appointed or ended."""

    member_id: int
    name: str
    kind: str
    post: str
    department: str
    start_date: str | None

    @classmethod
    def of(cls, post: Post) -> PostChange:
        """Return the change row of `post`."""
        department = post.department_name or post.department
        return cls(post.member_id, post.name, post.kind, post.post, department, day_text(post.start_date) or None)


@dataclass(frozen=True)
class PostRetitled(PostChange):
    """A post whose title alone changed (same member, side and department); `before` is its old title."""

    before: str = ""


@dataclass
class Diff:
    """What changed between the snapshot in use and the refreshed one, list by list."""

    seats_changed: list[SeatChange] = list_field(default_factory=list)
    new_members: list[NewMember] = list_field(default_factory=list)
    departed_members: list[DepartedMember] = list_field(default_factory=list)
    party_changes: list[PartyChange] = list_field(default_factory=list)
    name_changes: list[NameChange] = list_field(default_factory=list)
    posts_appointed: list[PostChange] = list_field(default_factory=list)
    posts_ended: list[PostChange] = list_field(default_factory=list)
    posts_retitled: list[PostRetitled] = list_field(default_factory=list)
    contact_changes: list[ContactChange] = list_field(default_factory=list)
    site_corrections: list[SiteCheck] = list_field(default_factory=list)

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        """Return every list by name, each row as `--json` prints it."""
        return {f.name: [row.as_json() for row in getattr(self, f.name)] for f in fields(self)}

    @property
    def total(self) -> int:
        """Return how many changes there are in all."""
        return sum(len(getattr(self, f.name)) for f in fields(self))


def diff(before: snapshots.Snapshot, after: snapshots.Snapshot, site_checks: Sequence[SiteCheck] = ()) -> Diff:
    """Return what changed from `before` to `after`: seats, members, parties, posts, contact details, sites."""
    changes = Diff(seats_changed=_seats_changed(before, after), site_corrections=list(site_checks))
    _member_changes(changes, before, after)
    _post_changes(changes, before, after)
    return changes


def _seats_changed(before: snapshots.Snapshot, after: snapshots.Snapshot) -> list[SeatChange]:
    """Return the seats whose member changed, by constituency name."""
    rows = []
    for code in sorted(set(before.constituencies) | set(after.constituencies)):
        was, now = before.seat(code), after.seat(code)
        if (was.member_id if was else None) != (now.member_id if now else None):
            seat = after.constituencies.get(code) or before.constituencies[code]
            rows.append(SeatChange(code, seat.name, Who.of(was) if was else None, Who.of(now) if now else None))
    return sorted(rows, key=lambda row: sort_key(row.constituency))


def _member_changes(changes: Diff, before: snapshots.Snapshot, after: snapshots.Snapshot) -> None:
    """Add the new and departed members, and changes of party, name and contact details, to `changes`."""
    old_members = {m.member_id: m for m in before.members}
    new_members = {m.member_id: m for m in after.members}
    for member_id, member in new_members.items():
        old = old_members.get(member_id)
        if old is None:
            by_election = day_text(member.by_election_date) or None
            who = Who.of(member)
            changes.new_members.append(
                NewMember(who.member_id, who.name, who.party, member.constituency, member.is_new, by_election)
            )
            continue
        if old.party != member.party:
            changes.party_changes.append(
                PartyChange(member_id, member.name, member.party, member.constituency, old.party, member.party)
            )
        for label, was_value, now_value in (
            ("name", old.name, member.name),
            ("address_as", old.address_as or "", member.address_as or ""),
        ):
            if was_value != now_value and (label == "name" or was_value):
                changes.name_changes.append(NameChange(member_id, label, was_value, now_value))
        for label, was_text, now_text in (
            ("email", old.email or "", member.email or ""),
            ("parliamentary_address", " | ".join(old.parliamentary_address), " | ".join(member.parliamentary_address)),
            ("constituency_office", " | ".join(old.constituency_office), " | ".join(member.constituency_office)),
        ):
            if was_text != now_text:
                changes.contact_changes.append(
                    ContactChange(
                        member_id, member.name, member.constituency, label, was_text or None, now_text or None
                    )
                )
    for member_id, old in old_members.items():
        if member_id not in new_members:
            changes.departed_members.append(DepartedMember(member_id, old.name, old.party, old.constituency))
    for rows in (changes.new_members, changes.departed_members, changes.party_changes, changes.contact_changes):
        rows.sort(key=lambda row: (sort_key(row.constituency), getattr(row, "field", "")))


def _post_key(post: Post) -> tuple[int, str, str]:
    return (post.member_id, post.kind, post.post)


def _by_post(row: PostChange) -> tuple[str, tuple[str, str], tuple[str, str], str]:
    return (row.kind, sort_key(row.department), sort_key(row.name), row.post)


def _post_changes(changes: Diff, before: snapshots.Snapshot, after: snapshots.Snapshot) -> None:
    """Add the posts appointed, ended and retitled to `changes`."""
    old_posts = {_post_key(p): p for p in before.posts}
    new_posts = {_post_key(p): p for p in after.posts}
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
        del old_posts[_post_key(old_post)]
        del new_posts[_post_key(new_post)]
    changes.posts_appointed = sorted(
        (PostChange.of(p) for key, p in new_posts.items() if key not in old_posts), key=_by_post
    )
    changes.posts_ended = sorted(
        (PostChange.of(p) for key, p in old_posts.items() if key not in new_posts), key=_by_post
    )
    changes.posts_retitled = sorted(
        (PostRetitled(**vars(PostChange.of(new_post)), before=old_post.post) for old_post, new_post in retitled),
        key=_by_post,
    )
