"""A refresh's record stage: each current MP's and post holder's experience, focus and registered interests (cached
30 days a member), the spokesperson posts of the Lords, and the written questions tabled on the campaign's terms,
made into items of members' records (outreach/records.py), each with its source.

What is kept, and why:
- experience and focus in full: they are what a member says of themselves, and the campaign's rules choose;
- a registered interest only where its text names one of the campaign's `interest_terms` (health, science,
  medical technology): the rest of a member's finances is none of a letter's business;
- a written question only when a current MP or post holder tabled it since the general election (the current
  Parliament first met on 9 July 2024, five days after it, so nothing earlier is of this Parliament);
- a spokesperson's departments only for a post holder or MP: which departments each Lords whip answers for.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from outreach import snapshot as snapshots
from outreach.records import RecordItem
from outreach.sources.build import DepartmentNames
from outreach.sources.contacts import RECORD_MAX_AGE, RECORDS_CACHE, CachedContact, ContactCache, cached_per_member
from outreach.sources.http import JsonClient, Progress
from outreach.sources.parliament import ApiMember, PostHolding
from outreach.sources.records import RECORD_PATHS, Interest, MemberRecord, QuestionsApi, RecordsApi, WrittenQuestion

# The kinds of record this stage brings: a refresh replaces the snapshot in use's items of these kinds.
LIVE_KINDS = frozenset({"experience", "focus", "interest", "question", "spokesperson"})
MEMBERS_API = "Members API"
QUESTIONS_API = "Written Questions API"


@dataclass(frozen=True)
class Peer:
    """A post holder outside the Commons list (a peer), as the per-member caches key them."""

    member_id: int
    name: str
    party: str = ""


def fetch_record(api: RecordsApi, member_id: int) -> list[Any]:
    """Return a member's record as the cache keeps it (one raw list per endpoint), checked before it is cached."""
    raw, _ = api.record(member_id)
    return [raw[kind] for kind in RECORD_PATHS]


def member_record(entry: CachedContact) -> MemberRecord:
    """Return the record in a cached entry."""
    where = f"{MEMBERS_API} member {entry.member_id}"
    return MemberRecord.from_api(dict(zip(RECORD_PATHS, entry.entries, strict=False)), where)


def record_items(
    member_id: int, record: MemberRecord, interest_terms: Sequence[str], fetched: date
) -> Iterable[RecordItem]:
    """Yield a member's experience, focus and (relevant) interests as record items sourced to the Members API."""
    for experience in record.experience:
        if experience.title or experience.organisation:
            yield RecordItem(
                member_id,
                "experience",
                experience.title or experience.organisation,
                organisation=experience.organisation if experience.title else "",
                role=experience.kind,
                detail=experience.years(),
                source=f"{MEMBERS_API} Experience",
                reference=f"experience {experience.experience_id}",
                source_date=fetched,
            )
    for focus in record.focus:
        for area in focus.focus:
            yield RecordItem(
                member_id,
                "focus",
                area,
                organisation=focus.category,
                source=f"{MEMBERS_API} Focus",
                source_date=fetched,
            )
    for interest in record.interests:
        term = interest.touches(interest_terms)
        if term is not None:
            yield _interest_item(member_id, interest, term, fetched)


def _interest_item(member_id: int, interest: Interest, term: str, fetched: date) -> RecordItem:
    """Return a registered interest as a record item, with the term that made it relevant."""
    return RecordItem(
        member_id,
        "interest",
        interest.category,
        code=term,
        start_date=interest.registered,
        detail=interest.text,
        source=f"{MEMBERS_API} Register of Members' Financial Interests",
        reference=f"interest {interest.interest_id}",
        source_date=fetched,
    )


def question_items(questions: Iterable[WrittenQuestion]) -> Iterable[RecordItem]:
    """Yield each written question as an item of its asker's record, cited by UIN and the day it was tabled."""
    for question in questions:
        yield RecordItem(
            question.member_id,
            "question",
            question.heading or question.text[:80],
            organisation=question.answering_body,
            code="; ".join(question.terms),
            role=question.house,
            start_date=question.tabled,
            detail=question.text,
            source=QUESTIONS_API,
            reference=question.uin,
            source_date=question.tabled,
        )


def spokesperson_items(
    holdings: Iterable[PostHolding], wanted: Collection[int], departments: DepartmentNames, fetched: date
) -> Iterable[RecordItem]:
    """Yield, for each post holder or MP in `wanted`, every department their spokesperson posts answer for."""
    for holding in holdings:
        if holding.member_id not in wanted:
            continue
        for name in holding.departments:
            code, known_name = departments.code([name])
            yield RecordItem(
                holding.member_id,
                "spokesperson",
                holding.post,
                organisation=known_name or name,
                code=code,
                role="Spokesperson",
                start_date=holding.start_date,
                source=f"{MEMBERS_API} Spokespersons",
                reference=f"post {holding.post_id}: {code or name}",
                source_date=fetched,
            )


def peers(holdings: Iterable[PostHolding], commons: Mapping[int, object]) -> list[Peer]:
    """Return the post holders who are not in the Commons list (peers), each once."""
    found: dict[int, Peer] = {}
    for holding in holdings:
        if holding.member_id not in commons:
            found.setdefault(holding.member_id, Peer(holding.member_id, holding.name))
    return list(found.values())


@dataclass(frozen=True)
class RecordTerms:
    """The campaign's terms a refresh searches and keeps by: `[refresh] question_terms` and `interest_terms`."""

    questions: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()

    def as_json(self) -> dict[str, list[str]]:
        """Return the terms as snapshot.json records them (`record_terms`)."""
        return {"questions": list(self.questions), "interests": list(self.interests)}


@dataclass(frozen=True)
class RecordStage:
    """What the record stage brought: the items, and how many members' records were fetched or cached."""

    items: list[RecordItem]
    fetched: int
    cached: int
    questions: int


@dataclass(frozen=True)
class RecordSources:
    """The clients the record stage uses, and what the refresh already knows."""

    members: JsonClient
    questions: JsonClient
    previous: snapshots.Snapshot
    home: Path


def fetch_records(
    sources: RecordSources,
    current: Sequence[ApiMember],
    holdings: Sequence[PostHolding],
    spokespersons: Sequence[PostHolding],
    terms: RecordTerms,
    *,
    since: date,
    full: bool,
    moment: datetime,
    progress: Progress | None,
) -> RecordStage:
    """Return the items of every current MP's and post holder's record: their experience, focus and relevant
    interests (cached RECORD_MAX_AGE a member), the departments spokespersons answer for, and their questions."""
    api = RecordsApi(sources.members)
    workers = sources.members.politeness.concurrency
    commons = {member.member_id: member for member in current}
    people: list[Any] = [*current, *peers(holdings, commons)]
    previous = sources.previous
    known = {m.member_id for m in previous.members} | {p.member_id for p in previous.posts}
    entries, fetched_count = cached_per_member(
        ContactCache(sources.home, RECORDS_CACHE),
        people,
        known,
        lambda member_id: fetch_record(api, member_id),
        full=full,
        moment=moment,
        workers=workers,
        progress=progress,
        stage="records",
        max_age=RECORD_MAX_AGE,
    )
    wanted = {person.member_id for person in people}
    questions = QuestionsApi(sources.questions).questions(terms.questions, since, wanted, workers, progress)
    items = [
        item
        for member_id, entry in entries.items()
        for item in record_items(member_id, member_record(entry), terms.interests, entry.fetched.date())
    ]
    items += question_items(questions)
    items += spokesperson_items(spokespersons, wanted, DepartmentNames(previous), moment.date())
    return RecordStage(items, fetched_count, len(people) - fetched_count, len(questions))
