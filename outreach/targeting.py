"""Targeting: who gets a letter, which template, which asks and sites — each choice with the reason for it.

A *target* is one letter to one person: a seat letter to an MP (`4366-seat`), or one letter to a post holder
naming all their posts (`4366-minister`, `4366-shadow_minister`), addressed at the department of their senior post.
The campaign's rules choose the asks; nothing here knows IPEM.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from outreach import address as forms
from outreach.campaign import Ask, Campaign, Rule
from outreach.changes import KnownChange
from outreach.errors import DataError, TargetError
from outreach.facts import Subject, facts_of, matches
from outreach.hooks import Interest, UsedHook, choose_hook, interest
from outreach.letters import join_and
from outreach.members import Department, Member, Post
from outreach.records import RecordItem
from outreach.sites import (
    CentreChoice,
    Constituency,
    Nearest,
    Site,
    local_sites,
    nearest,
    proposed_sites,
    serving_centre,
)
from outreach.snapshot import Snapshot

COMMONS_ADDRESS = ("House of Commons", "London", "SW1A 0AA")
LORDS_ADDRESS = ("House of Lords", "London", "SW1A 0PW")
STALE_POSTS_DAYS = 60
KIND_OF_POST = {"government": "minister", "opposition": "shadow_minister"}


@dataclass(frozen=True)
class ChosenAsk:
    """An ask chosen for a letter, with the score and the rules that chose it."""

    ask: Ask
    score: float
    reasons: tuple[str, ...]


ACUTE_TYPES = ("acute_stroke_unit", "acute_hospital")  # a major acute hospital, with or without 24-hour stroke care


@dataclass(frozen=True)
class LocalPicture:
    """The MPCE sites a seat letter can name: those in the seat, ranked, and the nearest radiotherapy centre."""

    sites: tuple[Site, ...]
    nearest_centre: Nearest | None
    proposed: tuple[Site, ...] = ()  # proposed facilities in the seat (a campaign's own places, e.g. a reactor)
    # For a seat with no site of its own: the nearest acute hospital or stroke unit, unless it is the nearest centre's.
    nearest_hospital: Nearest | None = None
    centre_choice: CentreChoice | None = None  # how nearest_centre was chosen, and from where it is measured
    network: str = ""  # the cancer network that serves the seat (data/README.md), and the centres it names
    network_centres: tuple[Site, ...] = ()

    @property
    def centre_unconfirmed(self) -> bool:
        """Return whether the letter names a nearest centre that a person should check (flag `centre_unconfirmed`)."""
        return self.centre_choice is not None and not self.centre_choice.confirmed

    @property
    def radiotherapy(self) -> tuple[Site, ...]:
        """Return the radiotherapy centres in the seat."""
        return tuple(site for site in self.sites if site.site_type == "radiotherapy_centre")

    @property
    def low_confidence(self) -> bool:
        """Return whether a site the letter names was placed in the seat with less than high confidence."""
        return any(site.low_confidence for site in self.sites[:2])


@dataclass(frozen=True)
class Target:
    """One letter to be written: recipient, template, asks, local picture, address and flags."""

    letter_id: str
    kind: str
    member_id: int
    name: str
    member: Member | None
    posts: tuple[Post, ...]
    department: Department | None
    constituency: Constituency | None
    local: LocalPicture | None
    template: str
    template_reason: str
    asks: tuple[ChosenAsk, ...]
    address: forms.Address
    address_lines: tuple[str, ...]
    email: str | None
    flags: tuple[str, ...]
    facts: Mapping[str, Any] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()  # the campaign rules that matched, in file order
    home: LocalPicture | None = None  # a post holder's own seat: the local hook of a letter about their office
    changes: tuple[KnownChange, ...] = ()  # changes of office reported after the posts' date
    hook: UsedHook | None = None  # the recipient's record the letter speaks of (at most one sentence), and why
    answering: tuple[str, ...] = ()  # the departments a Lords whip or spokesperson answers for, by name

    @property
    def sort_key(self) -> tuple[int, str, str, int]:
        """Return the manifest order: seat letters by constituency, then post letters by department, then name."""
        if self.kind == "seat":
            return (0, (self.constituency.name if self.constituency else "").casefold(), "", self.member_id)
        department = self.department.name if self.department else (self.posts[0].department if self.posts else "")
        return (1, department.casefold(), self.name.casefold(), self.member_id)


def person_of_member(member: Member) -> forms.Person:
    """Return the forms-of-address view of a sitting MP."""
    return forms.Person(
        member_id=member.member_id,
        display_name=member.name,
        full_title=member.full_title,
        list_as=member.list_as,
        address_as=member.address_as,
        gender=member.gender,
        house="Commons",
        first_name=member.first_name,
        surname=member.surname,
        is_speaker=member.party == "Speaker",
    )


def person_of_post_holder(post: Post, member: Member | None) -> forms.Person:
    """Return the forms-of-address view of a post holder, from the Commons record when they sit there."""
    if member is not None:
        return person_of_member(member)
    return forms.Person(member_id=post.member_id, display_name=post.name, full_title=post.name, house=post.house)


def _shown(value: Any) -> str:
    """Return a condition's value as campaign.toml writes it."""
    if isinstance(value, frozenset):
        return "[" + ", ".join(sorted(value)) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def choose_template(campaign: Campaign, facts: Mapping[str, Any]) -> tuple[str, str]:
    """Return the template for a letter and why (the first matching choice in campaign.toml)."""
    for choice in campaign.templates:
        if matches(choice.when, facts):
            conditions = ", ".join(f"{key}={_shown(value)}" for key, value in choice.when.items()) or "default"
            return choice.name, f"{campaign.file.name}:{choice.line}: {conditions}"
    raise DataError(f"{campaign.file}: no template choice matches a {facts.get('kind')} letter (add a default)")


def matched_rules(campaign: Campaign, facts: Mapping[str, Any]) -> list[Rule]:
    """Return the campaign's rules whose conditions hold for `facts`, in file order."""
    return [rule for rule in campaign.rules if matches(rule.when, facts)]


def choose_asks(
    campaign: Campaign, facts: Mapping[str, Any], rules: Sequence[Rule] | None = None, hook: UsedHook | None = None
) -> tuple[ChosenAsk, ...]:
    """Return the campaign's min–max asks that best fit `facts`, most relevant first, each with its reasons.

    Every matching rule adds its weight to each of its asks, a little less for each later place in its list, so an
    ask that several rules name rises; `exclude` takes an ask out whatever else chose it. The asks of the record
    hook the letter uses come first, in the hook's order: the letter has just said why they matter to this reader.
    """
    scores: dict[str, float] = {}
    reasons: dict[str, list[str]] = {}
    excluded: set[str] = set()
    matched = matched_rules(campaign, facts) if rules is None else rules
    for rule in matched:
        excluded.update(rule.exclude)
        for place, ask_id in enumerate(rule.asks):
            scores[ask_id] = scores.get(ask_id, 0.0) + rule.weight * (1.0 - 0.05 * place)
            reasons.setdefault(ask_id, []).append(
                f"rule '{rule.id}' ({campaign.file.name}:{rule.line}): {rule.because}"
            )
    first = [ask_id for ask_id in (hook.hook.asks if hook else ()) if ask_id not in excluded]
    for ask_id in first:
        scores.setdefault(ask_id, 0.0)
        reasons.setdefault(ask_id, []).insert(0, hook.reason(campaign.file.name) if hook else "")
    order = list(campaign.asks)
    ranked = sorted(
        (ask_id for ask_id in scores if ask_id not in excluded),
        key=lambda ask_id: (
            ask_id not in first,
            first.index(ask_id) if ask_id in first else 0,
            -scores[ask_id],
            order.index(ask_id),
        ),
    )
    chosen = ranked[: campaign.max_asks]
    return tuple(ChosenAsk(campaign.asks[a], round(scores[a], 3), tuple(reasons[a])) for a in chosen)


def local_picture(snapshot: Snapshot, constituency: Constituency) -> LocalPicture:
    """Return the sites in a seat, and the nearest radiotherapy centre when the seat has none."""
    in_seat = tuple(local_sites(snapshot.sites_in(constituency.code), constituency.code))
    has_centre = any(site.site_type == "radiotherapy_centre" for site in in_seat)
    choice = None if has_centre else serving_centre(snapshot.sites_of_type("radiotherapy_centre"), constituency)
    centre = choice.nearest if choice else None
    acute = [site for kind in ACUTE_TYPES for site in snapshot.sites_of_type(kind)]
    hospital = nearest(acute, constituency, ACUTE_TYPES) if acute and not in_seat else None
    if hospital and centre and hospital.site.postcode == centre.site.postcode:
        hospital = None  # the centre's own hospital: the letter has named it already
    proposed = tuple(proposed_sites(snapshot.sites_in(constituency.code), constituency.code))
    return LocalPicture(
        sites=in_seat,
        nearest_centre=centre,
        proposed=proposed,
        nearest_hospital=hospital,
        centre_choice=choice,
        network=constituency.network,
        network_centres=tuple(
            site
            for site in snapshot.sites_of_type("radiotherapy_centre")
            if site.site_id in constituency.network_centres
        ),
    )


def _seat_postal(
    campaign: Campaign, template: str, member: Member, overrides: Mapping[int, Any] | None
) -> tuple[tuple[str, ...], list[str]]:
    """Return where a seat letter goes and its flags: an address in the campaign's overrides; else the member's
    parliamentary office, or, for a template the campaign sends to the constituency (a member who does not take
    their seat), the constituency office; with none known there, the House, flagged address_unconfirmed."""
    row = (overrides or {}).get(member.member_id)
    if row is not None and row.address:
        return row.address, []
    choice = next((c for c in campaign.templates if c.name == template), None)
    if choice is not None and choice.address == "constituency":
        if member.constituency_office:
            return member.constituency_office, []
        return member.parliamentary_address or COMMONS_ADDRESS, ["address_unconfirmed"]
    return member.parliamentary_address or COMMONS_ADDRESS, []


def seat_target(
    snapshot: Snapshot, campaign: Campaign, member: Member, overrides: Mapping[int, Any] | None = None
) -> Target:
    """Return the seat letter for an MP."""
    constituency = snapshot.constituencies[member.constituency_code]
    local = local_picture(snapshot, constituency)
    facts = facts_of(Subject("seat", member, local=local))
    template, template_reason = choose_template(campaign, facts)
    facts["template"] = template
    rules = tuple(matched_rules(campaign, facts))
    hook = choose_hook(campaign.hooks, facts, snapshot.record_of(member.member_id))
    address = forms.address_mp(person_of_member(member), style=campaign.salutation_style, overrides=overrides)
    postal, flags = _seat_postal(campaign, template, member, overrides)
    if local.low_confidence:
        flags.append("low_confidence_site")
    if local.centre_unconfirmed:
        flags.append("centre_unconfirmed")
    if not member.email:
        flags.append("no_email")
    return Target(
        letter_id=f"{member.member_id}-seat",
        kind="seat",
        member_id=member.member_id,
        name=member.name,
        member=member,
        posts=snapshot.posts_of(member.member_id),
        department=None,
        constituency=constituency,
        local=local,
        template=template,
        template_reason=template_reason,
        asks=choose_asks(campaign, facts, rules, hook),
        rules=rules,
        address=address,
        address_lines=(address.name_line, *postal),
        email=member.email,
        flags=tuple(flags),
        facts=facts,
        hook=hook,
    )


def post_target(
    snapshot: Snapshot,
    campaign: Campaign,
    kind: str,
    posts: Sequence[Post],
    today: date,
    overrides: Mapping[int, Any] | None = None,
) -> Target:
    """Return the one letter to a post holder, naming all their posts, sent to the department of the senior one."""
    every = sorted(posts, key=lambda post: (post.seniority, post.post))
    ordered = _joint_posts(every)
    senior = ordered[0]
    member = snapshot.member(senior.member_id)
    department = snapshot.departments.get(senior.department)
    # A joint post counts in each of its departments; a Lords whip's letter, in each department they answer for.
    answering = answers_for(snapshot, senior.member_id) if senior.house == "Lords" else ()
    facts = facts_of(Subject(kind, member, posts=every, answers_for=answering))
    template, template_reason = choose_template(campaign, facts)
    facts["template"] = template
    rules = tuple(matched_rules(campaign, facts))
    hook = choose_hook(campaign.hooks, facts, snapshot.record_of(senior.member_id))
    seat = snapshot.constituencies.get(member.constituency_code) if member else None
    person = person_of_post_holder(senior, member)
    titles = [post_title(post) for post in ordered]
    address = forms.address_minister(
        person,
        titles,
        senior.rank,
        opposition=(kind == "shadow_minister"),
        style=campaign.salutation_style,
        overrides=overrides,
    )
    home = local_picture(snapshot, seat) if seat is not None else None
    flags: list[str] = ["centre_unconfirmed"] if home is not None and home.centre_unconfirmed else []
    house_address = LORDS_ADDRESS if senior.house == "Lords" else COMMONS_ADDRESS
    if kind == "minister" and department is not None and department.confirmed:
        postal: tuple[str, ...] = (*department.address_lines, department.postcode)
    else:
        postal = house_address
        if kind == "minister":
            flags.append("address_unconfirmed")
    email = _post_email(kind, senior, department, member)
    if not email:
        flags.append("no_email")
    age = snapshot.posts_age_days(today)
    if age is not None and age > STALE_POSTS_DAYS:
        flags.append("stale_posts")
    return Target(
        letter_id=f"{senior.member_id}-{kind}",
        kind=kind,
        member_id=senior.member_id,
        name=member.name if member else senior.name,
        member=member,
        posts=tuple(ordered),
        department=department,
        constituency=seat,
        local=None,
        home=home,
        template=template,
        template_reason=template_reason,
        asks=choose_asks(campaign, facts, rules, hook),
        rules=rules,
        address=address,
        address_lines=(address.name_line, *titles, *_without_repeats(postal, titles)),
        email=email,
        flags=tuple(flags),
        facts=facts,
        hook=hook,
        answering=tuple(snapshot.departments[code].name for code in answering if code in snapshot.departments),
    )


def _post_email(kind: str, senior: Post, department: Department | None, member: Member | None) -> str | None:
    """Return where a post letter is e-mailed: a minister's department, else a Commons member's own address."""
    if kind == "minister" and department is not None and department.email:
        return department.email
    if senior.house == "Commons" and member is not None:
        return member.email
    return None


def _joint_posts(posts: Sequence[Post]) -> list[Post]:
    """Return the posts with a post held jointly in several departments named once, as GOV.UK names it: "Minister
    for Industry (jointly with the Department for Energy Security and Net Zero)", under its first department."""
    by_title: dict[str, list[Post]] = {}
    for post in posts:
        by_title.setdefault(post.post, []).append(post)
    joint = []
    for first, *others in by_title.values():
        also = [other.department_name or other.department for other in others if other.department != first.department]
        if also:
            first = replace(first, post=f"{first.post} (jointly with {join_and(with_article(name) for name in also)})")
        joint.append(first)
    return joint


def with_article(name: str) -> str:
    """Return a department's name as a sentence uses it: 'the Department for Education', but 'HM Treasury'."""
    return name if name.startswith(("HM ", "The ", "the ")) else f"the {name}"


def _without_repeats(lines: Iterable[str], titles: Sequence[str]) -> tuple[str, ...]:
    """Return address lines, dropping a line that only repeats a post title already printed."""
    return tuple(line for line in lines if line and line not in titles)


def post_title(post: Post) -> str:
    """Return a post's title as printed: a bare generic title gains its department."""
    generic = post.post in {
        "Parliamentary Under-Secretary of State",
        "Parliamentary Secretary",
        "Minister of State",
        "Minister without Portfolio",
        "Lord in Waiting",
        "Baroness in Waiting",
    }
    if generic and post.department_name and not post.department.startswith(("Whip", "Leader")):
        return f"{post.post}, {post.department_name}"
    return post.post


def post_holders(
    snapshot: Snapshot, kinds: Iterable[str] = ("government", "opposition")
) -> dict[tuple[str, int], list[Post]]:
    """Return current posts grouped per (letter kind, member id)."""
    wanted = set(kinds)
    grouped: dict[tuple[str, int], list[Post]] = {}
    for post in snapshot.posts:
        if post.kind in wanted:
            grouped.setdefault((KIND_OF_POST[post.kind], post.member_id), []).append(post)
    return grouped


@dataclass(frozen=True)
class Selection:
    """Which letters to draft: the campaign audience by default, narrowed by the command's filters."""

    all: bool = False
    new: bool = False
    ministers: bool = False
    members: tuple[int, ...] = ()
    constituencies: tuple[str, ...] = ()
    nation: str | None = None
    party: str | None = None
    limit: int | None = None
    allow_stale_posts: bool = False  # draft post holders' letters from posts over STALE_POSTS_DAYS old (flagged)


@dataclass(frozen=True)
class Chosen:
    """The letters a selection gives, in manifest order, and what was left out and why (one line each, for people)."""

    targets: list[Target]
    notes: tuple[str, ...] = ()


def _stale_note(snapshot: Snapshot, today: date, withheld: int) -> str:
    """Return the line saying post holders' letters were left out because the snapshot's posts are stale."""
    age = snapshot.posts_age_days(today)
    return (
        f"Left out {withheld} post holders' letters: their posts are as at {snapshot.posts_as_of} ({age} days old, "
        f"over {STALE_POSTS_DAYS}); run 'outreach refresh' for current posts, or add --allow-stale-posts to draft "
        "them (flagged stale_posts)."
    )


def answers_for(snapshot: Snapshot, member_id: int) -> tuple[str, ...]:
    """Return the departments (IfG codes) a member answers for as a spokesperson, once a refresh has brought them."""
    items = snapshot.record_of(member_id)
    return tuple(dict.fromkeys(item.code for item in items if item.kind == "spokesperson" and item.code))


def _left_out_of_audience(snapshot: Snapshot, campaign: Campaign) -> set[int]:
    """Return the members a campaign's default audience leaves out: those whose every post is in one of its
    `except_departments` (e.g. whips, who manage business and are not lobbied on policy). A Lords whip stays in
    once the snapshot knows which departments they answer for: their letter can speak to those."""
    departments = set(campaign.audience.except_departments)
    held: dict[int, set[str]] = {}
    lords: set[int] = set()
    for post in snapshot.posts:
        held.setdefault(post.member_id, set()).add(post.department)
        if post.house == "Lords":
            lords.add(post.member_id)
    if not departments:
        return set()
    return {
        member_id
        for member_id, found in held.items()
        if found <= departments and not (member_id in lords and answers_for(snapshot, member_id))
    }


def record_note(snapshot: Snapshot, campaign: Campaign) -> str | None:
    """Return the line saying which of the campaign's question terms and committees the snapshot lacks, or None."""
    terms = [term for term in campaign.question_terms if term not in snapshot.record_terms.get("questions", ())]
    committees = [str(number) for number in campaign.committees if number not in snapshot.committee_ids]
    lacking = []
    if terms:
        shown = ", ".join(f"'{term}'" for term in terms[:3]) + (f" and {len(terms) - 3} more" if len(terms) > 3 else "")
        lacking.append(f"written questions on {shown}")
    if committees:
        lacking.append(f"the members of committee{'s' if len(committees) > 1 else ''} {', '.join(committees)}")
    if not lacking:
        return None
    return (
        f"The snapshot holds no {' nor '.join(lacking)} (campaign {campaign.id}): letters cannot speak of them until "
        f"'outreach refresh --campaign {campaign.folder}' brings them."
    )


def _one_letter_each(targets: list[Target]) -> list[Target]:
    """Return the targets with a post holder's seat letter dropped: their post letter speaks of their seat."""
    holders = {target.member_id for target in targets if target.kind != "seat"}
    return [target for target in targets if target.kind != "seat" or target.member_id not in holders]


def select(
    snapshot: Snapshot,
    campaign: Campaign,
    selection: Selection,
    today: date,
    overrides: Mapping[int, Any] | None = None,
    changed: Mapping[int, Sequence[KnownChange]] | None = None,
) -> Chosen:
    """Return the targets a draft writes, in manifest order, with notes on what was left out.

    Post holders' letters need current posts: with posts over STALE_POSTS_DAYS old they are left out unless
    `allow_stale_posts` (then flagged). Outside --all a person gets one letter: a post holder's seat letter is
    dropped (the post letter names their seat's sites), unless their post letter was left out. A member with a
    change of office reported after the posts' date (`changed`) is flagged office_changed, and left out of the
    campaign's default audience.
    """
    changed = changed or {}
    notes: list[str] = [note] if (note := record_note(snapshot, campaign)) else []
    holders = post_holders(snapshot)
    seats, posts_wanted = _wanted(snapshot, campaign, selection, holders)
    wanted = _member_filter(selection)
    posts_wanted = {key for key in posts_wanted if wanted(snapshot.member(key[1]))}
    age = snapshot.posts_age_days(today)
    if age is not None and age > STALE_POSTS_DAYS and posts_wanted and not selection.allow_stale_posts:
        notes.append(_stale_note(snapshot, today, len(posts_wanted)))
        posts_wanted = set()
    unique_seats = {member.member_id: member for member in seats if wanted(member)}
    targets = [seat_target(snapshot, campaign, member, overrides) for member in unique_seats.values()]
    targets += [
        post_target(snapshot, campaign, kind, holders[(kind, member_id)], today, overrides)
        for kind, member_id in posts_wanted
    ]
    if not selection.all:
        targets = _one_letter_each(targets)
    targets = [_with_changes(target, changed.get(target.member_id, ())) for target in targets]
    moved = [target for target in targets if "office_changed" in target.flags]
    if _is_default_audience(selection) and moved:
        targets = [target for target in targets if "office_changed" not in target.flags]
        notes.append(_changed_note(snapshot, moved, changed))
    targets.sort(key=lambda target: target.sort_key)
    if selection.limit is not None:
        targets = targets[: selection.limit]
    return Chosen(targets, tuple(notes))


def _is_default_audience(selection: Selection) -> bool:
    """Return whether a selection is the campaign's default audience (no --all, no narrowing)."""
    return not (selection.all or selection.new or selection.ministers or selection.members or selection.constituencies)


def _wanted(
    snapshot: Snapshot, campaign: Campaign, selection: Selection, holders: Mapping[tuple[str, int], list[Post]]
) -> tuple[list[Member], set[tuple[str, int]]]:
    """Return the members whose seat letters, and the (kind, member id) of the post letters, a selection names."""
    seats: list[Member] = []
    posts_wanted: set[tuple[str, int]] = set()
    ids, codes = set(selection.members), set(selection.constituencies)
    if selection.all:
        # Every seat and every post holder; named members or seats narrow it to all of their letters.
        named = bool(ids or codes)
        seats = [m for m in snapshot.members if not named or m.member_id in ids or m.constituency_code in codes]
        return seats, {key for key in holders if not named or key[1] in ids}
    if not _is_default_audience(selection):
        seats = [
            m
            for m in snapshot.members
            if (selection.new and m.is_new) or m.member_id in ids or m.constituency_code in codes
        ]
        posts_wanted = {key for key in holders if selection.ministers or key[1] in ids}
        return seats, posts_wanted
    groups = set(campaign.audience.seats)
    left_out = _left_out_of_audience(snapshot, campaign)
    seats = [
        member
        for member in snapshot.members
        if member.member_id not in left_out
        and (
            "all" in groups
            or ("new" in groups and member.is_new)
            or ("by_election" in groups and member.by_election_date is not None)
        )
    ]
    post_kinds = {KIND_OF_POST[group] for group in campaign.audience.posts}
    return seats, {key for key in holders if key[0] in post_kinds and key[1] not in left_out}


def _changed_note(snapshot: Snapshot, moved: Sequence[Target], changed: Mapping[int, Sequence[KnownChange]]) -> str:
    """Return the line naming the letters left out because their members' office changed after the posts' date."""
    reported = "; ".join(
        change.describe() for member_id in sorted({t.member_id for t in moved}) for change in changed[member_id]
    )
    letters = f"{len(moved)} letter{'' if len(moved) == 1 else 's'}"
    return (
        f"Left out {letters} to members whose office changed after the posts' date ({snapshot.posts_as_of}): "
        f"{reported}. Name them with --member to draft them (flagged office_changed)."
    )


def _with_changes(target: Target, changes: Sequence[KnownChange]) -> Target:
    """Return the target flagged office_changed when its member's office changed after the posts' date."""
    if not changes:
        return target
    return replace(target, flags=(*target.flags, "office_changed"), changes=tuple(changes))


@dataclass(frozen=True)
class Ranked:
    """A member ranked by how much their record and seat touch a campaign."""

    member: Member
    interest: Interest
    changes: tuple[KnownChange, ...] = ()  # changes of office reported since the posts' date: a person should look

    @property
    def why(self) -> str:
        """Return the reasons as one line for people, a reported change of office first."""
        changed = [f"office changed: {change.describe()}" for change in self.changes]
        return "; ".join([*changed, *self.interest.reasons])

    def as_json(self, posts: Iterable[Post], record: Iterable[RecordItem]) -> dict[str, object]:
        """Return the member as `outreach mps --json` prints them, with their `interest` score and `reasons`, and
        `office_changed`: each change of office reported since the posts' date."""
        changed = [change.describe() for change in self.changes]
        return {**self.member.as_json(posts, record), **self.interest.as_json(), "office_changed": changed}


def by_interest(
    snapshot: Snapshot,
    campaign: Campaign,
    members: Iterable[Member],
    changed: Mapping[int, Sequence[KnownChange]] | None = None,
) -> list[Ranked]:
    """Return the members ranked by the campaign's [[interest]] rules, highest first, then by name, each with the
    changes of office reported for them since the posts' date (`changed`, by member id)."""
    ranked = []
    for member in members:
        local = local_picture(snapshot, snapshot.constituencies[member.constituency_code])
        facts = facts_of(Subject("seat", member, local=local))
        found = interest(campaign.interest, facts, snapshot.record_of(member.member_id))
        ranked.append(Ranked(member, found, tuple((changed or {}).get(member.member_id, ()))))
    return sorted(ranked, key=lambda item: (-item.interest.score, fold(item.member.name)))


def members_matching(snapshot: Snapshot, selection: Selection) -> list[Member]:
    """Return the current MPs that `outreach mps` lists: new ones, post holders, a party, a nation, as selected."""
    wanted = _member_filter(selection)
    return [
        member
        for member in snapshot.members
        if (not selection.new or member.is_new)
        and (not selection.ministers or snapshot.posts_of(member.member_id))
        and wanted(member)
    ]


def _member_filter(selection: Selection) -> Callable[[Member | None], bool]:
    """Return the test --nation and --party apply, before any letter is built; a peer has no seat or party here."""
    nation = selection.nation.casefold() if selection.nation else None
    party = selection.party.casefold() if selection.party else None

    def wanted(member: Member | None) -> bool:
        if nation is None and party is None:
            return True
        if member is None:
            return False
        if nation is not None and member.nation.casefold() != nation:
            return False
        return party is None or party in (member.party.casefold(), member.party_abbreviation.casefold())

    return wanted


def fold(text: str) -> str:
    """Return text folded for matching names: case, accents, punctuation and spacing ignored."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^\w\s]", " ", plain).split())


def _suggest(text: str, names: Iterable[str], what: str) -> TargetError:
    """Return the error for a name that matched nothing, with the closest names as suggestions."""
    by_fold: dict[str, str] = {}
    for name in names:
        by_fold.setdefault(fold(name), name)
    close = difflib.get_close_matches(fold(text), list(by_fold), n=3, cutoff=0.6)
    hint = " — did you mean " + " or ".join(f"'{by_fold[c]}'" for c in close) + "?" if close else ""
    return TargetError(f"no {what} matches '{text}'{hint}")


def _post_names(snapshot: Snapshot) -> dict[str, int]:
    """Return post holders' names (folded) to member ids, for those not in the Commons list."""
    return {fold(post.name): post.member_id for post in snapshot.posts}


def resolve_members(snapshot: Snapshot, texts: Iterable[str]) -> tuple[int, ...]:
    """Return the member ids named by ids or names; raises TargetError with suggestions for a near miss."""
    ids: list[int] = []
    names = {fold(member.name): member.member_id for member in snapshot.members}
    holders = _post_names(snapshot)
    known_ids = {member.member_id for member in snapshot.members} | set(holders.values())
    for text in texts:
        key = fold(text)
        if text.strip().isdigit():
            if int(text) not in known_ids:
                raise TargetError(f"no member has id {text.strip()}")
            ids.append(int(text))
        elif key in names:
            ids.append(names[key])
        elif key in holders:
            ids.append(holders[key])
        else:
            partial = sorted({mid for name, mid in {**holders, **names}.items() if key and key in name})
            if len(partial) == 1:
                ids.append(partial[0])
            else:
                raise _suggest(text, [m.name for m in snapshot.members] + [p.name for p in snapshot.posts], "member")
    return tuple(dict.fromkeys(ids))


def resolve_constituencies(snapshot: Snapshot, texts: Iterable[str]) -> tuple[str, ...]:
    """Return the ONS codes of constituencies named by code or name; raises TargetError with suggestions."""
    codes: list[str] = []
    by_name = {fold(seat.name): seat.code for seat in snapshot.constituencies.values()}
    for text in texts:
        if text.strip().upper() in snapshot.constituencies:
            codes.append(text.strip().upper())
        elif fold(text) in by_name:
            codes.append(by_name[fold(text)])
        else:
            raise _suggest(text, [seat.name for seat in snapshot.constituencies.values()], "constituency")
    return tuple(dict.fromkeys(codes))


def resolve_target(snapshot: Snapshot, text: str) -> Selection:
    """Return the selection for a preview target: a member id, a member's name, or a constituency."""
    key = fold(text)
    if (
        any(fold(seat.name) == key for seat in snapshot.constituencies.values())
        or text.strip().upper() in snapshot.constituencies
    ):
        return Selection(constituencies=resolve_constituencies(snapshot, [text]))
    try:
        return Selection(members=resolve_members(snapshot, [text]))
    except TargetError:
        names = (
            [m.name for m in snapshot.members]
            + [p.name for p in snapshot.posts]
            + [seat.name for seat in snapshot.constituencies.values()]
        )
        raise _suggest(text, names, "member or constituency") from None
