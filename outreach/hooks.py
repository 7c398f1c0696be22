"""Record hooks and interest: what a campaign makes of a recipient's record (outreach/records.py).

A campaign's `[[hooks]]` (campaign.toml) each name a kind of record item and what the item must be (`match`: its
`code`, `role`, or `words` in its title or detail), the letters it may speak in (`when`, the conditions rules use),
the asks that then come first, and the partial template that says it in one sentence. A letter uses the first hook,
in file order, that finds an item: at most one record sentence a letter, and every item it rests on is cited with
its source in the manifest's `hooks` column.

A campaign's `[[interest]]` rules weigh how much a member's record and seat touch the campaign, for
`outreach mps --sort interest` and the report: a rule on the record counts once per matching item (up to `most`), a
rule on the seat (`when`) once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from outreach.facts import matches
from outreach.members import OTHER_RANK_SENIORITY, RANK_SENIORITY
from outreach.records import RecordItem

MATCH_KEYS = ("code", "role", "words")
USES = ("senior", "latest")


@dataclass(frozen=True)
class RecordMatch:
    """What a record item must be for a hook or an interest rule: its kind, code, role, and words it contains."""

    kind: str
    code: frozenset[str] = frozenset()
    role: frozenset[str] = frozenset()
    words: tuple[str, ...] = ()  # any of these, case and accents aside, as whole words in the title or detail

    def holds(self, item: RecordItem) -> bool:
        """Return whether the item is of this kind and meets every condition given."""
        if item.kind != self.kind:
            return False
        if self.code and item.code not in self.code:
            return False
        if self.role and item.role not in self.role:
            return False
        return not self.words or _has_words(f"{item.title} {item.detail}", self.words)

    def found(self, record: Iterable[RecordItem]) -> list[RecordItem]:
        """Return the items of a record that match, oldest first."""
        return sorted((item for item in record if self.holds(item)), key=_start)


def _has_words(text: str, words: Sequence[str]) -> bool:
    """Return whether any of the words or phrases stands in the text as whole words, ignoring case."""
    return bool(words) and _words_pattern(tuple(words)).search(text) is not None


@cache
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Return one pattern finding any of `words` as whole words, ignoring case (compiled once per rule)."""
    return re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(word) for word in words)})(?!\w)", re.IGNORECASE)


def _start(item: RecordItem) -> date:
    return item.start_date or date.min


@dataclass(frozen=True)
class Hook:
    """One `[[hooks]]` table: which record items, in which letters, put which asks first, in which sentence."""

    id: str
    match: RecordMatch
    when: Mapping[str, Any]
    asks: tuple[str, ...]
    partial: str
    because: str
    line: int
    use: str = "senior"  # senior: every matching item of the most senior role; latest: the newest matching item


@dataclass(frozen=True)
class UsedHook:
    """The hook a letter uses and the record items it rests on."""

    hook: Hook
    items: tuple[RecordItem, ...]

    def cited(self) -> list[str]:
        """Return each fact the letter uses as the manifest's `hooks` column lists it: hook, item, dates, source."""
        return [_clean(f"{self.hook.id}: {_described(item)} [{item.cites()}]") for item in self.items]

    def reason(self, file_name: str) -> str:
        """Return why the letter speaks of the record, as `preview` shows it."""
        return f"hook '{self.hook.id}' ({file_name}:{self.hook.line}): {self.hook.because}"


def _described(item: RecordItem) -> str:
    """Return an item as a fact: its title, where, and its dates."""
    where = f" ({item.organisation})" if item.organisation and item.organisation != item.title else ""
    if item.end_date is not None and item.start_date is not None:
        return f"{item.title}{where}, {item.start_date.isoformat()} to {item.end_date.isoformat()}"
    reference = f" {item.reference}" if item.reference else ""
    dated = f", {item.start_date.isoformat()}" if item.start_date else ""
    return f"{item.title}{where}{reference}{dated}"


def _short(item: RecordItem) -> str:
    """Return an item as a reason names it: "Minister for Health (2018)", "Minister for Care (2018-2020)", a question
    "Radiotherapy (2025-03-12)"."""
    if item.start_date is None:
        return item.title
    if item.end_date is None:
        return f"{item.title} ({item.start_date.isoformat()})"
    first, last = item.start_date.year, item.end_date.year
    return f"{item.title} ({first})" if first == last else f"{item.title} ({first}-{last})"


def _clean(text: str) -> str:
    """Return text safe in a `;`-separated manifest cell."""
    return " ".join(text.replace(";", ",").split())


def _seniority(item: RecordItem) -> int:
    return RANK_SENIORITY.get(item.role, OTHER_RANK_SENIORITY)


def choose_hook(hooks: Sequence[Hook], facts: Mapping[str, Any], record: Sequence[RecordItem]) -> UsedHook | None:
    """Return the first hook whose conditions hold and whose match finds items in the record, or None."""
    for hook in hooks:
        if not matches(hook.when, facts):
            continue
        found = hook.match.found(record)
        if not found:
            continue
        if hook.use == "latest":
            return UsedHook(hook, (found[-1],))
        senior = min(_seniority(item) for item in found)
        return UsedHook(hook, tuple(item for item in found if _seniority(item) == senior))
    return None


# ---------------------------------------------------------------- interest: who to write to first


@dataclass(frozen=True)
class InterestRule:
    """One `[[interest]]` table: a weight for record items that match (each, up to `most`), or for a seat (`when`)."""

    id: str
    match: RecordMatch | None
    when: Mapping[str, Any]
    weight: float
    most: int
    because: str
    line: int


@dataclass(frozen=True)
class Interest:
    """How much a member's record and seat touch a campaign: the score and each reason with its items."""

    score: float
    reasons: tuple[str, ...]
    items: tuple[RecordItem, ...]

    def as_json(self) -> dict[str, object]:
        """Return the `interest` score and `reasons` that `outreach mps --sort interest --json` adds."""
        return {"interest": self.score, "reasons": list(self.reasons)}


def interest(rules: Sequence[InterestRule], facts: Mapping[str, Any], record: Sequence[RecordItem]) -> Interest:
    """Return a member's interest: every rule whose conditions hold adds its weight, once per matching item (up to
    its `most`) for a rule on the record, once for a rule on the seat alone."""
    score = 0.0
    reasons: list[str] = []
    used: list[RecordItem] = []
    for rule in rules:
        if not matches(rule.when, facts):
            continue
        if rule.match is None:
            score += rule.weight
            reasons.append(f"{rule.because} (+{rule.weight:g})")
            continue
        found = rule.match.found(record)[-rule.most :]
        if found:
            score += rule.weight * len(found)
            used.extend(found)
            titles = ", ".join(dict.fromkeys(_short(item) for item in found))
            reasons.append(f"{rule.because}: {titles} (+{rule.weight * len(found):g})")
    return Interest(round(score, 3), tuple(reasons), tuple(dict.fromkeys(used)))


# ---------------------------------------------------------------- what a template may say of a hook


SECRETARY_OF_STATE = "Secretary of State "
GENERIC_TITLES = ("Minister of State", "Parliamentary Under-Secretary of State", "Parliamentary Secretary")


def _title(item: RecordItem) -> str:
    """Return a post's title as a sentence names it: one that does not say its brief names its department
    ("Minister of State at the Department of Health")."""
    if item.title in GENERIC_TITLES and item.organisation:
        organisation = item.organisation
        return f"{item.title} at {organisation if organisation.startswith(('HM ', 'the ')) else 'the ' + organisation}"
    return item.title


def _then(phrase: str, title: str) -> str:
    """Return `phrase` followed by a later post: "Secretary of State for Health, then for Health and Social Care"
    names the office once and its briefs in turn."""
    same_office = title.startswith(SECRETARY_OF_STATE) and phrase.startswith(SECRETARY_OF_STATE)
    return f"{phrase}, then {title.removeprefix(SECRETARY_OF_STATE) if same_office else title}"


def _years(items: Sequence[RecordItem]) -> str:
    """Return when the items were held: "in 2018", "from 2012 to 2018"."""
    first = min(item.start_date for item in items if item.start_date is not None).year
    ends = [item.end_date or item.start_date for item in items]
    last = max(day for day in ends if day is not None).year
    return f"in {first}" if first == last else f"from {first} to {last}"


CONTINUOUS = 31  # days between one post and the next that still read as one spell in office (a retitling, a reshuffle)


def _held(items: Sequence[RecordItem]) -> str:
    """Return the posts held and when, true to the dates: one spell as "Secretary of State for Health, then for Health
    and Social Care, from 2012 to 2018"; spells apart as "Minister for Care and Mental Health from 2020 to 2021, then
    Minister for Social Care from 2022 to 2024"."""
    dated = sorted((item for item in items if item.start_date is not None), key=_start)
    by_title: dict[str, list[RecordItem]] = {}
    for item in dated:
        by_title.setdefault(_title(item), []).append(item)
    titles = list(by_title)
    if not titles:  # no dates to say: the posts alone
        return ", then ".join(dict.fromkeys(_title(item) for item in items))
    one_spell = all(
        (_start(later) - (earlier.end_date or _start(earlier))).days <= CONTINUOUS
        for earlier, later in zip(dated, dated[1:], strict=False)
    )
    if len(titles) == 1 or one_spell:
        phrase = titles[0]
        for title in titles[1:]:
            phrase = _then(phrase, title)
        return f"{phrase}{',' if len(titles) > 1 else ''} {_years(dated)}"
    phrase = f"{titles[0]} {_years(by_title[titles[0]])}"
    for title in titles[1:]:
        phrase = _then(phrase, f"{title} {_years(by_title[title])}")
    return phrase


def template_value(used: UsedHook | None) -> dict[str, Any] | None:
    """Return what a hook's partial may say: its id and kind, the items, the posts as named, the years, the latest."""
    if used is None:
        return None
    items = [
        {
            "title": item.title,
            "organisation": item.organisation,
            "role": item.role,
            "code": item.code,
            "start_date": item.start_date,
            "end_date": item.end_date,
            "detail": item.detail,
            "reference": item.reference,
        }
        for item in used.items
    ]
    dated = [item for item in used.items if item.start_date is not None]
    return {
        "id": used.hook.id,
        "kind": used.hook.match.kind,
        "partial": used.hook.partial,
        "items": items,
        "latest": items[-1],
        "years": _years(dated) if dated else "",
        "held": _held(used.items),  # the posts and when: "Minister for Care and Mental Health from 2018 to 2020"
        "role": used.items[-1].role,
    }
