"""Members of Parliament, government posts and departments, as typed records read from snapshot rows.

Each record maps the snapshot's column names once, in `from_row`; a bad cell raises `DataError` naming
the file and line (`members.csv:41: member_id 'x' is not a whole number`). `RowCells` does the typed
reading for this module and for `outreach.sites`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from outreach.errors import DataError

if TYPE_CHECKING:
    from outreach.records import RecordItem

LIST_SEPARATOR = " | "

# Lower is more senior. IfG rank_equivalence values; "Parl. lead." (Chief Whip, Leaders of the Houses)
# and "Parl." (whips) rank after ministers. Cabinet membership breaks ties within a rank.
RANK_SENIORITY: dict[str, int] = {"PM": 0, "DPM": 1, "SoS": 2, "MoS": 3, "PUSS": 4}
OTHER_RANK_SENIORITY = 5


@dataclass(frozen=True)
class RowCells:
    """One CSV row read cell by cell with types; every error names `where` (file:line)."""

    row: Mapping[str, str | None]
    where: str

    def text(self, column: str) -> str:
        """Return the cell's text ("" when empty); a column absent from the row is an error."""
        value = self.row.get(column)
        if value is None:
            raise DataError(f"{self.where}: missing column '{column}'")
        return value.strip()

    def optional(self, column: str) -> str | None:
        """Return the cell's text, or None when it is empty."""
        return self.text(column) or None

    def integer(self, column: str) -> int:
        """Return the cell as a whole number; an empty or non-numeric cell is an error."""
        value = self.text(column)
        try:
            return int(value)
        except ValueError:
            raise DataError(f"{self.where}: {column} '{value}' is not a whole number") from None

    def optional_integer(self, column: str) -> int | None:
        """Return the cell as a whole number, or None when it is empty."""
        return self.integer(column) if self.text(column) else None

    def number(self, column: str) -> float | None:
        """Return the cell as a decimal number, or None when it is empty."""
        value = self.text(column)
        if not value:
            return None
        try:
            return float(value)
        except ValueError:
            raise DataError(f"{self.where}: {column} '{value}' is not a number") from None

    def flag(self, column: str) -> bool:
        """Return the cell as a boolean: "true" or "false" (an empty cell is false)."""
        value = self.text(column).lower()
        if value in ("true", "false", ""):
            return value == "true"
        raise DataError(f"{self.where}: {column} '{value}' is not true or false")

    def day(self, column: str) -> date | None:
        """Return the cell as an ISO date (YYYY-MM-DD), or None when it is empty."""
        value = self.text(column)
        if not value:
            return None
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise DataError(f"{self.where}: {column} '{value}' is not a date (YYYY-MM-DD)") from None

    def parts(self, column: str) -> tuple[str, ...]:
        """Return a list cell (items joined by " | ") as a tuple, empty items dropped."""
        return tuple(part.strip() for part in self.text(column).split(LIST_SEPARATOR) if part.strip())


@dataclass(frozen=True)
class Member:
    """A sitting MP: who they are, their seat, and where to write to them."""

    member_id: int
    name: str
    full_title: str
    list_as: str
    address_as: str | None
    first_name: str
    surname: str
    gender: str
    party: str
    party_abbreviation: str
    constituency: str
    constituency_code: str
    constituency_id: int | None
    nation: str
    region: str
    is_new: bool
    by_election_date: date | None
    member_since: date | None
    email: str | None
    email_source: str
    parliamentary_address: tuple[str, ...]
    constituency_office: tuple[str, ...]
    committees: tuple[str, ...]
    source_date: date | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, str | None], *, where: str) -> Member:
        """Return the member in one members.csv row; `where` ("members.csv:12") names it in errors."""
        cells = RowCells(row, where)
        return cls(
            member_id=cells.integer("member_id"),
            name=cells.text("name"),
            full_title=cells.text("full_title"),
            list_as=cells.text("list_as"),
            address_as=cells.optional("address_as"),
            first_name=cells.text("first_name"),
            surname=cells.text("surname"),
            gender=cells.text("gender"),
            party=cells.text("party"),
            party_abbreviation=cells.text("party_abbreviation"),
            constituency=cells.text("constituency"),
            constituency_code=cells.text("constituency_code"),
            constituency_id=cells.optional_integer("constituency_id"),
            nation=cells.text("nation"),
            region=cells.text("region"),
            is_new=cells.flag("is_new"),
            by_election_date=cells.day("by_election_date"),
            member_since=cells.day("member_since"),
            email=cells.optional("email"),
            email_source=cells.text("email_source"),
            parliamentary_address=cells.parts("parliamentary_address"),
            constituency_office=cells.parts("constituency_office"),
            committees=cells.parts("committees"),
            source_date=cells.day("source_date"),
        )

    def as_json(self, posts: Iterable[Post], record: Iterable[RecordItem] = ()) -> dict[str, object]:
        """Return the `outreach mps --json` object (INTERFACE.md), with the member's current posts and record."""
        return {
            "member_id": self.member_id,
            "name": self.name,
            "full_title": self.full_title,
            "constituency": self.constituency,
            "constituency_code": self.constituency_code,
            "party": self.party,
            "email": self.email,
            "is_new": self.is_new,
            "by_election_date": self.by_election_date.isoformat() if self.by_election_date else None,
            "posts": [post.as_json() for post in posts],
            "committees": list(self.committees),
            "record": [item.as_json() for item in record],
        }


@dataclass(frozen=True)
class Post:
    """A government (or, from a live refresh, opposition) post held by a member of either House."""

    member_id: int
    name: str
    house: str
    post: str
    department: str
    department_name: str
    rank: str
    kind: str
    cabinet: bool
    start_date: date | None
    is_acting: bool = False
    is_on_leave: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, str | None], *, where: str) -> Post:
        """Return the post in one posts.csv row; `where` ("posts.csv:3") names it in errors."""
        cells = RowCells(row, where)
        return cls(
            member_id=cells.integer("member_id"),
            name=cells.text("name"),
            house=cells.text("house"),
            post=cells.text("post"),
            department=cells.text("department"),
            department_name=cells.text("department_name"),
            rank=cells.text("rank"),
            kind=cells.text("kind"),
            cabinet=cells.flag("cabinet"),
            start_date=cells.day("start_date"),
            is_acting=cells.flag("is_acting"),
            is_on_leave=cells.flag("is_on_leave"),
        )

    @property
    def seniority(self) -> int:
        """Return the rank's seniority, lower is more senior: PM 0, DPM 1, SoS 2, MoS 3, PUSS 4, others 5."""
        return RANK_SENIORITY.get(self.rank, OTHER_RANK_SENIORITY)

    @property
    def sort_key(self) -> tuple[int, int, str, str]:
        """Return a key that orders posts most senior first; Cabinet members first within a rank."""
        return (self.seniority, 0 if self.cabinet else 1, self.department, self.post)

    def as_json(self) -> dict[str, object]:
        """Return the post as `outreach mps --json` lists it: name, department, kind."""
        return {"name": self.post, "department": self.department_name or self.department, "kind": self.kind}


@dataclass(frozen=True)
class Department:
    """A government department (or devolved body) and the address ministers are written to there."""

    department: str
    name: str
    address_lines: tuple[str, ...]
    postcode: str
    email: str | None
    confirmed: bool
    as_of: str
    source_url: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, str | None], *, where: str) -> Department:
        """Return the department in one departments.csv row; `where` names it in errors."""
        cells = RowCells(row, where)
        return cls(
            department=cells.text("department"),
            name=cells.text("name"),
            address_lines=cells.parts("address_lines"),
            postcode=cells.text("postcode"),
            email=cells.optional("email"),
            confirmed=cells.flag("confirmed"),
            as_of=cells.text("as_of"),
            source_url=cells.text("source_url"),
        )
