"""A member's record in government and Parliament: typed items, each with its source, read from records.csv.

One row of a snapshot's `records.csv` is one `RecordItem`: a former government post, a select committee seat, a
former career, a stated interest, a registered interest or a written question. Every item names where it comes
from (`source`, the dataset or API; `reference`, the item's id there: an IfG appointment id, a question's UIN;
`source_date`, the dataset's date or the day a question was tabled), so a letter that uses it can cite it.

How a new kind of record plugs in:
1. add it to `KINDS` below with what it means;
2. a reader in `outreach/sources/` makes `RecordItem`s of that kind and hands them to `build` in
   `Fetched.records`, naming the kind in `Fetched.record_kinds` (build replaces those kinds and carries the
   snapshot in use's other kinds over); `rows.write_rows` writes them and `snapshot.load` reads them back;
3. a campaign's `[[hooks]]` and `[interest]` weights (campaign.toml) test it by kind and its text fields through
   `outreach/hooks.py`; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from outreach.errors import DataError
from outreach.members import RowCells

# kind → what an item of that kind is; the order is the order `as_json` and `outreach mps --json` list them in.
KINDS: dict[str, str] = {
    "former_post": "a government post held before, now ended (IfG Ministers Database)",
    "committee": "a select committee the member sits on now, as member or chair (Committees API)",
    "experience": "a former career or role outside Parliament (Members API Experience)",
    "focus": "a policy interest the member states (Members API Focus)",
    "interest": "a registered interest touching health, science or medical technology (Members API)",
    "question": "a written question the member tabled on one of the campaign's terms (Written Questions API)",
    "spokesperson": "a department a Lords whip or spokesperson answers for (Members API Spokespersons)",
}

RECORD_COLUMNS = (
    "member_id",
    "kind",
    "title",
    "organisation",
    "code",
    "role",
    "start_date",
    "end_date",
    "detail",
    "source",
    "reference",
    "source_date",
)
RECORDS_FILE = "records.csv"


@dataclass(frozen=True)
class RecordItem:
    """One item of a member's record, with its source."""

    member_id: int
    kind: str  # one of KINDS
    title: str  # the post, committee, career, focus, interest, or a question's subject
    organisation: str = ""  # the department, committee, employer or answering body, as its source names it
    code: str = ""  # a stable code rules test: an IfG department code (DHSC), a committee id
    role: str = ""  # a post's rank (SoS, MoS, PUSS …); "Chair" or "Member" of a committee
    start_date: date | None = None  # when it began; a question: the day it was tabled
    end_date: date | None = None  # when it ended (a former post); None while it goes on
    detail: str = ""  # free text its source gives: a question's wording, an interest's description
    source: str = ""  # the dataset or API: "Institute for Government Ministers Database"
    reference: str = ""  # the item's id there: an IfG appointment id, a question's UIN
    source_date: date | None = None  # the dataset's date, or the day a question was tabled

    @classmethod
    def from_row(cls, row: Mapping[str, str | None], *, where: str) -> RecordItem:
        """Return the item in one records.csv row; `where` ("records.csv:4") names it in errors."""
        cells = RowCells(row, where)
        kind = cells.text("kind")
        if kind not in KINDS:
            raise DataError(f"{where}: kind '{kind}' is not one of {', '.join(KINDS)}")
        item = cls(
            member_id=cells.integer("member_id"),
            kind=kind,
            title=cells.text("title"),
            organisation=cells.text("organisation"),
            code=cells.text("code"),
            role=cells.text("role"),
            start_date=cells.day("start_date"),
            end_date=cells.day("end_date"),
            detail=cells.text("detail"),
            source=cells.text("source"),
            reference=cells.text("reference"),
            source_date=cells.day("source_date"),
        )
        if not item.title or not item.source:
            raise DataError(f"{where}: a record needs a title and a source")
        return item

    @property
    def sort_key(self) -> tuple[int, int, str, str, str]:
        """Return the order records are written and listed in: member, kind, then oldest first."""
        return (self.member_id, list(KINDS).index(self.kind), _day(self.start_date), self.title, self.reference)

    def cites(self) -> str:
        """Return the item's source as a letter's manifest cites it: "IfG Ministers Database 2026-06-19, <id>"."""
        parts = [self.source, _day(self.source_date), self.reference]
        return ", ".join(part for part in parts if part)

    def as_json(self) -> dict[str, object]:
        """Return the item as `outreach mps --json` lists it under `record`, with its source."""
        return {
            "kind": self.kind,
            "title": self.title,
            "organisation": self.organisation,
            "code": self.code,
            "role": self.role,
            "start_date": _day(self.start_date) or None,
            "end_date": _day(self.end_date) or None,
            "detail": self.detail,
            "source": {"name": self.source, "reference": self.reference, "date": _day(self.source_date) or None},
        }


def _day(value: date | None) -> str:
    """Return a date as ISO text, "" for None."""
    return value.isoformat() if value else ""
