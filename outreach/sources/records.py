"""Clients for a member's record: what the Members API says of their careers, interests and spokesperson posts,
and the written questions they tabled on the campaign's terms (Written Questions API), as typed records.

Shapes are the official OpenAPI specs: ../shared/fixtures/members-api/openapi-members-v1-2026-04-30.json
(`BiographyExperienceListItem`, `MemberFocusListItem`, `RegisteredInterestCategoryListItem`, and
`GovernmentOppositionPostItem` for `/api/Posts/Spokespersons`) and
../shared/fixtures/written-questions-api/openapi-written-questions-v1.json (`QuestionsViewModelSearchResult`).
Field names are mapped once, in each record's `from_api`. Quirks, each from the specs:

- A member with no experience, focus or interests may answer 404, `{"value": null}` or `{"value": []}`: all mean
  none. Every text field is nullable; a text field that comes back as anything but text or null fails the refresh.
- Registered interests nest (`childInterests`: the payments under one employment); one whose `deletedWhen` is set
  has been removed from the register and is not kept.
- The Written Questions search pages on `skip`/`take` with `totalResults`; paging advances by the items a page
  holds, so a service that caps `take` below what was asked is still read to the end.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from outreach.errors import SourceError
from outreach.sources.http import JsonClient, Progress, fetch_all
from outreach.sources.parliament import PostHolding, _day, _need, clean, json_type

QUESTIONS_PAGE = 100  # questions asked per search page (the spec sets no maximum; paging copes with a lower cap)
QUESTION_TEXT_LIMIT = 600  # characters of a question's text kept: enough to quote its subject, not the essay


def _text(record: dict[str, Any], key: str, where: str) -> str:
    """Return a nullable text field, cleaned ("" for null); SourceError when it holds anything but text."""
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SourceError(f"{where}: '{key}' should be string or null, got {json_type(value)}")
    return clean(value)


def _number(record: dict[str, Any], key: str, where: str) -> int | None:
    """Return a nullable whole-number field; SourceError when it holds anything else."""
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise SourceError(f"{where}: '{key}' should be number or null, got {json_type(value)}")
    return value


def _items(record: dict[str, Any], key: str, where: str) -> list[Any]:
    """Return a nullable array field ([] for null); SourceError when it holds anything else."""
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SourceError(f"{where}: '{key}' should be array or null, got {json_type(value)}")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    """Return value when it is a JSON object; SourceError otherwise."""
    if not isinstance(value, dict):
        raise SourceError(f"{where}: expected a JSON object, got {json_type(value)}")
    return value


@dataclass(frozen=True)
class Experience:
    """A former career or role a member lists (`/api/Members/{id}/Experience`): a nurse, a physicist, a councillor."""

    experience_id: int | None
    kind: str  # `type`, as the API words it
    title: str
    organisation: str
    start_year: int | None
    end_year: int | None

    @classmethod
    def from_api(cls, item: Any, where: str) -> Experience:
        """Return the experience in one `BiographyExperience` object."""
        value = _object(item, where)
        return cls(
            experience_id=_number(value, "id", where),
            kind=_text(value, "type", where),
            title=_text(value, "title", where),
            organisation=_text(value, "organisation", where),
            start_year=_number(value, "startYear", where),
            end_year=_number(value, "endYear", where),
        )

    def years(self) -> str:
        """Return the years it spans: "2005–2015", "2019–" while it goes on, "" when the API gives none."""
        if self.start_year is None:
            return str(self.end_year) if self.end_year is not None else ""
        return f"{self.start_year}–{self.end_year if self.end_year is not None else ''}"


@dataclass(frozen=True)
class Focus:
    """A member's stated areas of focus under one heading (`/api/Members/{id}/Focus`)."""

    category: str
    focus: tuple[str, ...]

    @classmethod
    def from_api(cls, item: Any, where: str) -> Focus:
        """Return the areas in one `MemberFocus` object."""
        value = _object(item, where)
        areas = _items(value, "focus", where)
        for number, area in enumerate(areas):
            if not isinstance(area, str):
                raise SourceError(f"{where}: focus item {number} should be string, got {json_type(area)}")
        return cls(category=_text(value, "category", where), focus=tuple(clean(a) for a in areas if clean(a)))


@dataclass(frozen=True)
class Interest:
    """One entry in a member's register of interests (`/api/Members/{id}/RegisteredInterests`), with the entries
    nested under it joined to its text."""

    interest_id: int | None
    category: str
    text: str
    registered: date | None  # createdWhen

    @classmethod
    def from_category(cls, item: Any, where: str) -> list[Interest]:
        """Return the live interests in one `RegisteredInterestCategory` (deleted ones left out)."""
        category = _object(item, where)
        name = _text(category, "name", where)
        found = []
        for number, entry in enumerate(_items(category, "interests", where)):
            text = _interest_text(entry, f"{where}: interest {number}")
            if text is not None:
                value = _object(entry, where)
                found.append(cls(_number(value, "id", where), name, text, _day(value.get("createdWhen"))))
        return found

    def touches(self, terms: Iterable[str]) -> str | None:
        """Return the first term the interest's own text names, or None (a register category such as "Gifts,
        benefits and hospitality" says nothing of health)."""
        return first_term(self.text, terms)


def _interest_text(entry: Any, where: str, depth: int = 0) -> str | None:
    """Return an interest's text with its live child entries after it, or None when it has been deleted."""
    value = _object(entry, where)
    if value.get("deletedWhen") is not None:
        return None
    text = _text(value, "interest", where)
    if depth < 2:  # the register nests one level (payments under an employment); deeper is not a real shape
        children = [
            child
            for number, item in enumerate(_items(value, "childInterests", where))
            if (child := _interest_text(item, f"{where}: child {number}", depth + 1))
        ]
        if children:
            text = f"{text} — {'; '.join(children)}" if text else "; ".join(children)
    return text or None


def first_term(text: str, terms: Iterable[str]) -> str | None:
    """Return the first of `terms` that `text` names as whole words, or their plural, ignoring case ("hospital" in
    "two hospitals", not in "hospitality")."""
    folded = " ".join(text.split()).casefold()
    for term in terms:
        words = r"\s+".join(re.escape(word) for word in term.casefold().split())
        if words and re.search(rf"(?<!\w){words}(?:s|es)?(?!\w)", folded):
            return term
    return None


@dataclass(frozen=True)
class WrittenQuestion:
    """A written question tabled by a member, as the Written Questions API's search gives it."""

    question_id: int
    uin: str
    tabled: date
    member_id: int  # askingMemberId: the Members API id
    house: str  # Commons | Lords
    heading: str
    answering_body: str
    text: str  # questionText, its first QUESTION_TEXT_LIMIT characters
    terms: tuple[str, ...]  # the campaign's terms whose searches found it

    @classmethod
    def from_api(cls, item: Any, term: str, where: str) -> WrittenQuestion:
        """Return the question in one `{value, links}` search result, found by searching for `term`."""
        value = _need(item, "value", dict, where)
        question_id = _need(value, "id", int, where)
        where = f"{where} (question {question_id})"
        tabled = _day(_need(value, "dateTabled", str, where))
        if tabled is None:
            raise SourceError(f"{where}: 'dateTabled' {value['dateTabled']!r} is not a date")
        return cls(
            question_id=question_id,
            uin=_text(value, "uin", where),
            tabled=tabled,
            member_id=_need(value, "askingMemberId", int, where),
            house=_text(value, "house", where),
            heading=_text(value, "heading", where),
            answering_body=_text(value, "answeringBodyName", where),
            text=_text(value, "questionText", where)[:QUESTION_TEXT_LIMIT],
            terms=(term,),
        )


@dataclass(frozen=True)
class MemberRecord:
    """What the Members API lists of one member: experience, focus and (every) registered interest."""

    experience: tuple[Experience, ...]
    focus: tuple[Focus, ...]
    interests: tuple[Interest, ...]

    @classmethod
    def from_api(cls, raw: dict[str, list[Any]], where: str) -> MemberRecord:
        """Return the record in the raw `value` lists by kind (as fetched and cached); SourceError when malformed."""
        return cls(
            experience=tuple(
                Experience.from_api(item, f"{where}/Experience: item {n}")
                for n, item in enumerate(raw.get("experience", []))
            ),
            focus=tuple(
                Focus.from_api(item, f"{where}/Focus: item {n}") for n, item in enumerate(raw.get("focus", []))
            ),
            interests=tuple(
                interest
                for n, item in enumerate(raw.get("interests", []))
                for interest in Interest.from_category(item, f"{where}/RegisteredInterests: category {n}")
            ),
        )


RECORD_PATHS = {"experience": "Experience", "focus": "Focus", "interests": "RegisteredInterests"}


class RecordsApi:
    """The Members API endpoints of a member's record, and its spokespersons' posts."""

    def __init__(self, client: JsonClient) -> None:
        self.client = client

    def _values(self, member_id: int, path: str) -> list[Any]:
        """Return the `value` list of one of a member's record endpoints ([] for a 404 or a null value)."""
        where = f"GET {self.client.origin}/api/Members/{member_id}/{path}"
        body = self.client.get_found(f"/api/Members/{member_id}/{path}")
        if body is None:
            return []
        return _items(_object(body, where), "value", where)

    def record(self, member_id: int) -> tuple[dict[str, list[Any]], MemberRecord]:
        """Return a member's raw record lists by kind (to cache) and the record they make, checked."""
        raw = {kind: self._values(member_id, path) for kind, path in RECORD_PATHS.items()}
        return raw, MemberRecord.from_api(raw, f"GET {self.client.origin}/api/Members/{member_id}")

    def spokespersons(self) -> list[PostHolding]:
        """Return the current holders of every spokesperson post, with the departments each answers for."""
        items = self.client.get_json("/api/Posts/Spokespersons").as_array()
        return [holding for item in items for holding in PostHolding.from_api(item, "spokesperson")]


class QuestionsApi:
    """The Written Questions API's search, one search per campaign term."""

    def __init__(self, client: JsonClient) -> None:
        self.client = client

    def _page(self, term: str, since: date, skip: int) -> tuple[list[WrittenQuestion], int]:
        """Return one page of a term's search and the total the service reports."""
        params = {"searchTerm": term, "tabledWhenFrom": since.isoformat(), "skip": skip, "take": QUESTIONS_PAGE}
        where = f"GET {self.client.origin}/api/writtenquestions/questions?searchTerm={term}&skip={skip}"
        page = self.client.get("/api/writtenquestions/questions", params)
        results = _need(page, "results", (list, type(None)), where) or []
        total = _need(page, "totalResults", int, where)
        return [WrittenQuestion.from_api(item, term, f"{where}: item {n}") for n, item in enumerate(results)], total

    def questions(
        self,
        terms: Sequence[str],
        since: date,
        askers: Collection[int],
        workers: int,
        progress: Progress | None = None,
    ) -> list[WrittenQuestion]:
        """Return the questions `askers` tabled since `since` on any term, each once with every term that found it,
        newest first."""
        firsts = fetch_all(lambda term: self._page(term, since, 0), terms, workers=workers)
        # The first page of each term says how many there are and how many a page holds (the service may cap
        # `take` below what was asked): the rest of every term's pages are then fetched side by side.
        rest = [
            (term, skip)
            for term, (page, total) in zip(terms, firsts, strict=True)
            if page
            for skip in range(len(page), total, len(page))
        ]
        later = fetch_all(
            lambda job: self._page(*job)[0],
            [(t, since, s) for t, s in rest],
            workers=workers,
            progress=progress,
            stage="questions",
        )
        merged: dict[int, WrittenQuestion] = {}
        for question in [q for page, _ in firsts for q in page] + [q for page in later for q in page]:
            if question.member_id not in askers:
                continue
            seen = merged.get(question.question_id)
            if seen is None:
                merged[question.question_id] = question
            elif question.terms[0] not in seen.terms:
                merged[question.question_id] = replace(seen, terms=(*seen.terms, question.terms[0]))
        return sorted(merged.values(), key=lambda q: (q.tabled, q.uin), reverse=True)
