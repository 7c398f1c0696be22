"""The facts a campaign's rules and template choices may test, each registered here with the code that computes it.

A rule in campaign.toml says `when = { nation = ["Wales"], site_types = ["radiotherapy_centre"] }`; each key is a
fact below. `campaign.py` checks a rule's keys and value types against this registry when it reads the file, and
`targeting.py` computes the facts of each letter from it, so a new fact is one entry here and nowhere else. Nothing
here knows a particular campaign: a campaign's own places (a proposed reactor, say) are sites in the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from outreach.members import Member, Post

if TYPE_CHECKING:
    from outreach.targeting import LocalPicture


@dataclass(frozen=True)
class Subject:
    """What a letter is about, as far as the facts go: its kind, the member, their posts and their seat's sites."""

    kind: str  # seat | minister | shadow_minister
    member: Member | None
    posts: Sequence[Post] = ()
    local: LocalPicture | None = None
    answers_for: Sequence[str] = ()  # departments (IfG codes) a Lords whip or spokesperson answers for


@dataclass(frozen=True)
class Fact:
    """One fact a rule may test: its value type in campaign.toml (list or bool) and how a letter's value is found."""

    name: str
    kind: type
    meaning: str
    compute: Callable[[Subject], Any]


def _seat_only(compute: Callable[[Member, LocalPicture], Any], empty: Any) -> Callable[[Subject], Any]:
    """Return a fact that describes the seat of a seat letter, and is `empty` for a letter about an office."""

    def fact(subject: Subject) -> Any:
        if subject.kind != "seat" or subject.member is None or subject.local is None:
            return empty
        return compute(subject.member, subject.local)

    return fact


def _posts_only(compute: Callable[[Sequence[Post]], Any], empty: Any) -> Callable[[Subject], Any]:
    """Return a fact about a post holder's offices, `empty` for a seat letter (departmental business is not local)."""

    def fact(subject: Subject) -> Any:
        return compute(subject.posts) if subject.kind != "seat" and subject.posts else empty

    return fact


def _site_types(member: Member, local: LocalPicture) -> list[str]:
    """Return the types of MPCE site in the seat, with "imaging" when one of them offers it."""
    types = {site.site_type for site in local.sites}
    if any(site.has_imaging for site in local.sites):
        types.add("imaging")
    return sorted(types)


# The territorial offices (IfG department codes): a letter to their ministers is about that nation.
TERRITORIAL_OFFICES = {"Scot": "Scotland", "Wal": "Wales", "NIO": "Northern Ireland"}


def letter_nation(subject: Subject) -> str:
    """Return the nation a letter is about: the seat's; a territorial office's nation; "UK" for any other post."""
    if subject.kind == "seat":
        return subject.member.nation if subject.member is not None else ""
    senior = subject.posts[0].department if subject.posts else ""
    return TERRITORIAL_OFFICES.get(senior, "UK")


def _member_value(compute: Callable[[Member], Any], empty: Any) -> Callable[[Subject], Any]:
    """Return a fact about the member, whatever the letter's kind; `empty` for a peer with no Commons record."""
    return lambda subject: compute(subject.member) if subject.member is not None else empty


FACTS: dict[str, Fact] = {
    fact.name: fact
    for fact in (
        Fact("kind", list, "the letter's kind: seat, minister or shadow_minister", lambda s: s.kind),
        Fact("template", list, "the template chosen (rules only: set once the template is chosen)", lambda s: None),
        Fact(
            "department",
            list,
            "the departments of the recipient's posts, and those they answer for as a spokesperson",
            lambda s: sorted({p.department for p in s.posts} | set(s.answers_for)) if s.kind != "seat" else [],
        ),
        Fact(
            "answers_for",
            list,
            "the departments a Lords whip or spokesperson answers for (known once a refresh brings them)",
            lambda s: sorted(s.answers_for) if s.kind != "seat" else [],
        ),
        Fact(
            "rank",
            list,
            "the ranks of the recipient's posts (PM, SoS, MoS, PUSS …)",
            _posts_only(lambda posts: sorted({post.rank for post in posts}), []),
        ),
        Fact(
            "cabinet",
            bool,
            "the recipient attends Cabinet",
            _posts_only(lambda posts: any(post.cabinet for post in posts), False),
        ),
        Fact(
            "house",
            list,
            "the House of the recipient's senior post (a seat letter: Commons)",
            lambda s: [s.posts[0].house] if s.kind != "seat" and s.posts else ["Commons"],
        ),
        Fact("nation", list, "the nation of the seat", _seat_only(lambda m, _: m.nation, "")),
        Fact(
            "letter_nation",
            list,
            "the nation a letter is about: the seat's, a territorial office's (Scot, Wal, NIO), else UK",
            letter_nation,
        ),
        Fact(
            "region", list, "the English region of the seat (a nation elsewhere)", _seat_only(lambda m, _: m.region, "")
        ),
        Fact("party", list, "the member's party", _member_value(lambda m: m.party, "")),
        Fact("party_not", list, "the member's party is none of these", _member_value(lambda m: m.party, "")),
        Fact("constituency_code", list, "the seat's ONS code", _seat_only(lambda m, _: m.constituency_code, "")),
        Fact("site_types", list, "the types of MPCE site in the seat (and imaging)", _seat_only(_site_types, [])),
        Fact(
            "proposed",
            list,
            "the types of proposed facility in the seat (e.g. proposed_isotope_reactor)",
            _seat_only(lambda _, local: sorted({site.site_type for site in local.proposed}), []),
        ),
        Fact(
            "committee",
            list,
            "the select committees the member sits on",
            _member_value(lambda m: list(m.committees), []),
        ),
        Fact(
            "is_new",
            bool,
            "the member was never an MP before this Parliament",
            _member_value(lambda m: m.is_new, False),
        ),
        Fact(
            "by_election",
            bool,
            "the member won a by-election in this Parliament",
            _seat_only(lambda m, _: m.by_election_date is not None, False),
        ),
        Fact("local_site", bool, "the seat has an MPCE site", _seat_only(lambda _, local: bool(local.sites), False)),
        Fact(
            "linacs",
            bool,
            "a radiotherapy centre in the seat has a stated linac count",
            _seat_only(lambda _, local: any(site.linacs for site in local.radiotherapy), False),
        ),
        Fact(
            "replacement_2025",
            bool,
            "a site in the seat is in the 2025 linac replacement programme",
            _seat_only(lambda _, local: any(site.replacement_2025 for site in local.sites), False),
        ),
    )
}

CONDITIONS: dict[str, type] = {name: fact.kind for name, fact in FACTS.items()}
"""The conditions a rule or a template choice may use, with the type each takes in campaign.toml."""


def facts_of(subject: Subject) -> dict[str, Any]:
    """Return every registered fact's value for one letter (`template` is filled in once it is chosen)."""
    return {name: fact.compute(subject) for name, fact in FACTS.items() if name not in ("template", "party_not")}


def matches(when: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Return whether every condition in `when` holds for `facts` (a list condition holds if any value is shared)."""
    for key, wanted in when.items():
        have = facts.get(key)
        if key == "party_not":
            if facts.get("party") in wanted:
                return False
        elif isinstance(wanted, bool):
            if bool(have) is not wanted:
                return False
        elif isinstance(have, (list, tuple, set, frozenset)):
            if wanted.isdisjoint(have):
                return False
        elif have not in wanted:
            return False
    return True
