"""Letter checks: what every letter must get right, run over all of a draft's letters before anything is written.

The built-in checks hold for any campaign: no post named twice, no figure from one nation in another nation's letter,
no linac count older than five years, no unsigned letter, and each office's salutation. A campaign adds its own in
campaign.toml (`[[checks]]`: letters matching `when`, the conditions rules use, must or must not match a regular
expression), so a second campaign's author gets the same protection with no code. `outreach draft` lists every
failure with its letter id, and `--strict` makes any failure an error; `outreach preview` shows them for its letters.

A flag that asks a person to look (`low_confidence_site`, `address_unconfirmed`, `no_email`, `office_changed`,
`stale_posts`, `centre_unconfirmed`) is not a failure: the letter may be right. An unsigned letter is always wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from outreach.address import office_salutation
from outreach.errors import DataError
from outreach.facts import Subject, letter_nation, matches
from outreach.letters import Letter
from outreach.sites import LINAC_FIGURE_MAX_AGE_YEARS, Site
from outreach.targeting import LocalPicture, Target, post_title

if TYPE_CHECKING:
    from outreach.campaign import Campaign, CampaignCheck
    from outreach.merge import Merged


@dataclass(frozen=True)
class Failure:
    """One letter failing one check, with what is wrong in it."""

    check: str
    letter_id: str
    detail: str


@dataclass(frozen=True)
class LetterCheck:
    """A check: its id, what it asks of every letter, and a function yielding what is wrong with one letter."""

    id: str
    meaning: str
    run: Callable[[Merged, Campaign], Iterable[str]]


@dataclass(frozen=True)
class Results:
    """Every check run over a set of letters, and each failure."""

    letters: int
    checks: tuple[LetterCheck, ...]
    failures: tuple[Failure, ...]

    def failing(self, check_id: str) -> list[Failure]:
        """Return the failures of one check."""
        return [failure for failure in self.failures if failure.check == check_id]

    def of(self, letter_id: str) -> list[Failure]:
        """Return the failures of one letter."""
        return [failure for failure in self.failures if failure.letter_id == letter_id]

    @property
    def failed(self) -> list[LetterCheck]:
        """Return the checks that at least one letter fails, in the order they run."""
        ids = {failure.check for failure in self.failures}
        return [check for check in self.checks if check.id in ids]

    def listed(self) -> list[Failure]:
        """Return the failures to list: each one, but a single line for a check every letter fails in the same way."""
        listed: list[Failure] = []
        for check in self.failed:
            failures = self.failing(check.id)
            if self.letters > 1 and len(failures) == self.letters and len({f.detail for f in failures}) == 1:
                listed.append(Failure(check.id, f"all {self.letters} letters", failures[0].detail))
            else:
                listed.extend(failures)
        return listed

    def verdict(self) -> str:
        """Return one line saying how many letters fail which checks."""
        failed = self.failed
        letters = len({failure.letter_id for failure in self.failures})
        return (
            f"{letters:,} of {self.letters:,} letters fail {len(failed)} check{'' if len(failed) == 1 else 's'} "
            f"({', '.join(check.id for check in failed)})"
        )

    def letters_failing(self, check_id: str) -> int:
        """Return how many letters fail a check."""
        return len({failure.letter_id for failure in self.failing(check_id)})


def body_text(letter: Letter) -> str:
    """Return a letter's body as printed, from after the salutation to before the closing, one paragraph a line."""
    return "\n".join("".join(run.text for run in block.runs) for block in letter.blocks)


def _sentences(text: str) -> Iterator[str]:
    """Return the sentences (and clauses after a semicolon) of a body."""
    for line in text.splitlines():
        yield from re.split(r"(?<=[.;])\s+", line)


def _posts_named_twice(item: Merged, campaign: Campaign) -> Iterator[str]:
    """Yield each post title printed more than once in the body, or more than once in the address block."""
    titles = sorted({post_title(post) for post in item.target.posts}, key=len, reverse=True)
    places = (("the body", body_text(item.letter)), ("the address block", "\n".join(item.letter.recipient_lines)))
    # A department whose name holds a post's title ("the Office of the Secretary of State for Wales") names the
    # department, not the post.
    departments = sorted(
        {
            post.department_name
            for post in item.target.posts
            if post.department_name and any(title in post.department_name for title in titles)
        },
        key=len,
    )
    for place, text in places:
        for name in reversed(departments):
            text = text.replace(name, "\x01")
        # Longest first, each blanked once counted, so a title inside a longer one is not counted again; a possessive
        # ("the Attorney General's Office") names a department, not the post.
        for title in titles:
            pattern = re.compile(rf"(?<!\w){re.escape(title)}(?!\w|['’]s\b)")
            count = len(pattern.findall(text))
            if count > 1:
                yield f"'{title}' is named {count} times in {place}"
            text = pattern.sub("\x00", text)


def nation_of(target: Target) -> str:
    """Return the nation a letter is about: the seat's, a territorial office's, or "UK"."""
    return letter_nation(Subject(target.kind, target.member, posts=target.posts))


def _figures_of_other_nations(item: Merged, campaign: Campaign) -> Iterator[str]:
    """Yield each figure about another nation: a nation's letter takes its own and UK figures; a UK letter takes any
    figure whose words name its nation."""
    nation = nation_of(item.target)
    for figure in item.figures:
        if figure.nation in ("UK", nation):
            continue
        if nation == "UK" and not figure.names_its_nation:
            yield f"figure '{figure.id}' is about {figure.nation}, and its words do not say so"
        elif nation != "UK":
            yield f"figure '{figure.id}' is about {figure.nation}, in a letter about {nation}"


def _sites_named(target: Target) -> Iterator[Site]:
    """Return every site a letter may name: those in the seat (or the post holder's own seat) and the nearest ones."""
    pictures: Sequence[LocalPicture | None] = (target.local, target.home)
    for picture in pictures:
        if picture is None:
            continue
        yield from picture.sites
        yield from picture.network_centres
        for near in (picture.nearest_centre, picture.nearest_hospital):
            if near is not None:
                yield near.site


def _stale_counts(item: Merged, campaign: Campaign) -> Iterator[str]:
    """Yield each linac count over five years older than the letter that the letter states."""
    letter = item.letter
    body = body_text(letter)
    seen: set[str] = set()
    years: set[int] = set()
    for site in _sites_named(item.target):
        if site.linacs is None or site.letter_name in seen or not site.linac_count_too_old(letter.date):
            continue
        seen.add(site.letter_name)
        count = re.compile(rf"(?<![\d,.]){site.linacs}\s+(?:linear accelerators?|linacs?)\b", re.IGNORECASE)
        if any(site.letter_name in sentence and count.search(sentence) for sentence in _sentences(body)):
            years.add(site.linacs_year or 0)
            yield f"{site.letter_name}: its {site.linacs_year} count of {site.linacs} linacs is stated"
    for year in sorted({int(found) for found in re.findall(r"\((\d{4}) figure\)", body)} - years):
        if letter.date.year - year > LINAC_FIGURE_MAX_AGE_YEARS:  # its month unknown: over five years by year alone
            yield f"a count of {year} is stated ('({year} figure)')"


def _unsigned(item: Merged, campaign: Campaign) -> Iterator[str]:
    """Yield why a letter is unsigned: no person with a role signs it (Sender.unsigned), or targeting flagged it."""
    why = item.letter.sender.unsigned()
    if why is not None:
        yield why
    elif "unsigned" in item.target.flags:
        yield "flagged unsigned"


def _office_salutations(target: Target) -> set[str]:
    """Return the salutations a government post holder's letter may open with: their senior office's, by
    `office_salutation` given all their posts with a most senior one first (any of them, where several share the
    senior rank)."""
    top = min(post.seniority for post in target.posts)
    senior = [post for post in target.posts if post.seniority == top]
    if any(post.cabinet for post in senior):
        senior = [post for post in senior if post.cabinet]
    titles = [post_title(post) for post in target.posts]
    return {
        f"Dear {office_salutation([post_title(post), *(t for t in titles if t != post_title(post))], post.rank)}"
        for post in senior
    }


def _salutation(item: Merged, campaign: Campaign) -> Iterator[str]:
    """Yield a salutation that is not the office's (a minister) or that is the display name (anyone else)."""
    target, salutation = item.target, item.letter.salutation
    if target.kind == "minister" and target.posts:
        expected = _office_salutations(target)
        if salutation not in expected:
            yield f"'{salutation}', but the senior office's is {' or '.join(sorted(expected))}"
    elif target.member is not None and campaign.salutation_style != "first_name":
        if salutation == f"Dear {target.member.name}":
            yield f"'{salutation}' is the display name: a formal salutation is honorific and surname"


BUILT_IN: tuple[LetterCheck, ...] = (
    LetterCheck("post-named-once", "no post is named twice in the body or in the address block", _posts_named_twice),
    LetterCheck(
        "figure-nation",
        "no figure from one nation in another nation's letter (a UK letter's figure names its nation)",
        _figures_of_other_nations,
    ),
    LetterCheck("stale-linac-count", "no linac count over five years older than the letter", _stale_counts),
    LetterCheck("unsigned", "a person signs the letter: [sender] signatory_name and signatory_role", _unsigned),
    LetterCheck(
        "salutation",
        "a minister is addressed by their senior office; no one by their display name",
        _salutation,
    ),
)


def letter_text(letter: Letter) -> str:
    """Return what a campaign check's pattern reads: the subject line, then the body."""
    return f"{letter.subject}\n{body_text(letter)}"


def _campaign_check(check: CampaignCheck, where: str) -> LetterCheck:
    """Return a campaign.toml [[checks]] entry as a check."""

    def run(item: Merged, campaign: Campaign) -> Iterator[str]:
        if not matches(check.when, item.target.facts):
            return
        text = letter_text(item.letter)
        found = check.must_not_match.search(text) if check.must_not_match else None
        if found:
            said = " ".join(found.group(0).split())
            yield f"says '{said if len(said) <= 60 else '…' + said[-59:]}'"
        if check.must_match and not check.must_match.search(text):
            yield f"nothing matches '{check.must_match.pattern}'"

    return LetterCheck(check.id, f"{check.message} ({where}:{check.line})", run)


def checks_of(campaign: Campaign) -> tuple[LetterCheck, ...]:
    """Return every check a campaign's letters must pass: the built-in ones, then the campaign's own."""
    built_in = {check.id for check in BUILT_IN}
    for check in campaign.checks:
        if check.id in built_in:
            raise DataError(f"{campaign.file}:{check.line}: check '{check.id}': that id is a built-in check's")
    return BUILT_IN + tuple(_campaign_check(check, campaign.file.name) for check in campaign.checks)


def run(merged: Sequence[Merged], campaign: Campaign) -> Results:
    """Return the results of every check over every letter."""
    checks = checks_of(campaign)
    failures = [
        Failure(check.id, item.target.letter_id, detail)
        for item in merged
        for check in checks
        for detail in check.run(item, campaign)
    ]
    return Results(letters=len(merged), checks=checks, failures=tuple(failures))
