"""A campaign read from its folder: `campaign.toml` (sender, asks, audience, rules) and its templates.

Everything that makes a campaign IPEM's lives in the folder, so a second campaign is a new folder, not new code.
Errors name the file and, where it can be found, the line of the offending table.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from outreach import limits
from outreach.errors import DataError
from outreach.facts import CONDITIONS, matches
from outreach.hooks import MATCH_KEYS, USES, Hook, InterestRule, RecordMatch
from outreach.records import KINDS as RECORD_KINDS

KINDS = ("seat", "minister", "shadow_minister")
NATIONS = ("England", "Scotland", "Wales", "Northern Ireland", "UK")
FIGURE_KEYS = ("text", "nation", "source", "date")
CHECK_KEYS = ("id", "when", "must_match", "must_not_match", "message")
HOOK_KEYS = ("id", "record", "match", "when", "asks", "partial", "because", "use")
INTEREST_KEYS = ("id", "record", "match", "when", "weight", "most", "because")


def reference_line(letter_id: str) -> str:
    """Return the reference a letter carries for replies to quote: 'Our ref: 4366-seat'."""
    return f"Our ref: {letter_id}"


SENDER_KEYS = (
    "organisation",
    "address_lines",
    "email",
    "reply_email",
    "phone",
    "website",
    "signatory_name",
    "signatory_role",
    "footer",
)


@dataclass(frozen=True)
class Sender:
    """Who a campaign's letters come from: letterhead, reply details and signatory."""

    organisation: str
    address_lines: tuple[str, ...]
    email: str = ""
    phone: str = ""
    website: str = ""
    signatory_name: str = ""
    signatory_role: str = ""
    footer: str = ""
    reply_email: str = ""  # where replies go, printed under the signature; empty: the sending address
    where: str = field(default="", compare=False)  # "campaign.toml:14", the [sender] table, for warnings

    @property
    def signed(self) -> bool:
        """Return whether a person signs: a name and a role (a name alone reads as a team, as "Policy Team" does)."""
        return bool(self.signatory_name.strip() and self.signatory_role.strip())

    @property
    def reply_address(self) -> str:
        """Return the e-mail address printed under the signature for replies: reply_email, else the sender's."""
        return (self.reply_email or self.email).strip()

    def unsigned(self) -> str | None:
        """Return one line saying why the letters are unsigned, or None when a person signs them."""
        if self.signed:
            return None
        name = self.signatory_name.strip()
        if name and not self.signatory_role.strip():
            problem = f"the signatory is a team, not a person ('{name}', with no role)"
        elif self.signatory_role.strip():
            problem = "the signatory has no name"
        else:
            problem = "the letters have no signatory"
        fix = "set [sender] signatory_name and signatory_role in campaign.toml before printing or sending"
        return f"{self.where}: {problem}: {fix}" if self.where else f"{problem}: {fix}"

    def missing_contact(self) -> str | None:
        """Return one line naming the reply details missing under the signature (e-mail, telephone), or None."""
        missing = [
            (what, key)
            for what, key, value in (
                ("reply e-mail address", "reply_email (or email)", self.reply_address),
                ("telephone number", "phone", self.phone),
            )
            if not value
        ]
        if not missing:
            return None
        what = " or ".join(item[0] for item in missing)
        keys = " and ".join(item[1] for item in missing)
        where = f"{self.where}: " if self.where else ""
        return f"{where}the signature gives no {what} for replies: set [sender] {keys} in campaign.toml"


@dataclass(frozen=True)
class Enclosure:
    """A PDF that goes with the letters `when` matches: 'Enc.' after the signature, named in the text if `mention`."""

    file: Path  # in the campaign folder
    title: str
    mention: bool
    when: Mapping[str, Any]
    line: int

    @property
    def outbox_path(self) -> str:
        """Return where `draft` copies the file, relative to the outbox (the manifest's `enclosures` column)."""
        return f"{ENCLOSURES_DIR}/{self.file.name}"


ENCLOSURES_DIR = "enclosures"


@dataclass(frozen=True)
class Figure:
    """A figure the letters state, in the words a letter uses, with the nation it is about, its source and date."""

    id: str
    text: str
    nation: str  # England | Scotland | Wales | Northern Ireland | UK
    source: str
    date: date
    line: int

    @property
    def names_its_nation(self) -> bool:
        """Return whether the figure's words say which nation it is about (a UK figure always does)."""
        return self.nation == "UK" or self.nation in self.text


@dataclass(frozen=True)
class CampaignCheck:
    """A campaign's own letter check: letters matching `when` must (not) match a pattern, else `message`."""

    id: str
    when: Mapping[str, Any]
    must_match: re.Pattern[str] | None
    must_not_match: re.Pattern[str] | None
    message: str
    line: int


@dataclass(frozen=True)
class Ask:
    """One of the campaign's asks: id, title, short text, and the partial that words it in a letter."""

    id: str
    title: str
    summary: str
    partial: str


@dataclass(frozen=True)
class Rule:
    """When a recipient matches `when`, these asks gain `weight`; `exclude` removes asks outright."""

    id: str
    when: Mapping[str, Any]
    asks: tuple[str, ...]
    weight: float
    because: str
    exclude: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class TemplateChoice:
    """The first choice whose `when` matches names the template a letter uses."""

    name: str
    when: Mapping[str, Any]
    line: int
    address: str = "parliament"  # where a seat letter goes: "parliament", or "constituency" (its constituency office)


@dataclass(frozen=True)
class Audience:
    """Who a bare `outreach draft` writes to."""

    seats: tuple[str, ...]
    posts: tuple[str, ...]
    # Post holders left out when every post they hold is in one of these departments (IfG codes): e.g. whips,
    # who have no departmental brief for a letter to speak to. `--all` and named members still reach them.
    except_departments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Campaign:
    """A campaign folder, read and checked."""

    folder: Path
    id: str
    name: str
    letter_date: date | None
    salutation_style: str
    closing: str
    sender: Sender
    asks: dict[str, Ask]
    rules: tuple[Rule, ...]
    templates: tuple[TemplateChoice, ...]
    audience: Audience
    min_asks: int
    max_asks: int
    layout: Path
    overrides: Path | None
    subjects: Mapping[str, str]
    facts: Mapping[str, Any]
    # The [smtp] table as written (host, port, security, user, auth); settings.smtp() layers the environment on top.
    smtp: Mapping[str, Any] = field(default_factory=dict)
    figures: Mapping[str, Figure] = field(default_factory=dict)  # [figures.<id>]: what templates' figure() states
    checks: tuple[CampaignCheck, ...] = ()  # [[checks]]: the campaign's own letter checks (outreach/checks.py)
    enclosures: tuple[Enclosure, ...] = ()
    # [refresh] committees: the Committees API ids whose members `outreach refresh` brings into the snapshot.
    committees: tuple[int, ...] = ()
    # [refresh] question_terms: one Written Questions search each; interest_terms: the registered interests kept.
    question_terms: tuple[str, ...] = ()
    interest_terms: tuple[str, ...] = ()
    hooks: tuple[Hook, ...] = ()  # [[hooks]]: the record sentence a letter may open its asks with (outreach/hooks.py)
    interest: tuple[InterestRule, ...] = ()  # [[interest]]: who to write to first (outreach/hooks.py)

    @property
    def file(self) -> Path:
        """Return the path of campaign.toml."""
        return self.folder / "campaign.toml"

    def date_for(self, today: date) -> date:
        """Return the date the letters carry: the campaign's fixed date, or today."""
        return self.letter_date or today

    def enclosures_for(self, facts: Mapping[str, Any]) -> tuple[Enclosure, ...]:
        """Return the enclosures that go with a letter of these facts, in campaign.toml's order."""
        return tuple(enclosure for enclosure in self.enclosures if matches(enclosure.when, facts))


def _table_lines(text: str, header: str) -> list[int]:
    """Return the 1-based line numbers of each `[[header]]` in the file, in order."""
    pattern = re.compile(rf"^[ \t]*\[\[[ \t]*{re.escape(header)}[ \t]*\]\]", re.MULTILINE)
    return [text.count("\n", 0, m.start()) + 1 for m in pattern.finditer(text)]


class _Reader:
    """Reads fields out of the parsed TOML, naming file and line in every error."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def where(self, line: int | None = None) -> str:
        return f"{self.path}:{line}" if line else str(self.path)

    def line_of(self, key: str) -> int | None:
        match = re.search(rf"^[ \t]*{re.escape(key)}[ \t]*=", self.text, re.MULTILINE)
        return self.text.count("\n", 0, match.start()) + 1 if match else None

    def line_of_path(self, path: tuple[str | int, ...]) -> int | None:
        """Return the line a key path is written on: its own line in the deepest table header holding it, else that
        header's line (a value in an inline table or list is placed at its key's line)."""
        lines = self.text.splitlines()
        headers = _headers(lines)
        best: tuple[int, int] = (-1, 0)  # (how many parts of the path the header names, its index in lines)
        for number, named in headers:
            if len(named) <= len(path) and path[: len(named)] == named and len(named) > best[0]:
                best = (len(named), number)
        depth, start = best
        rest = path[max(depth, 0) :]
        if rest and isinstance(rest[0], str):
            after = [number for number, _ in headers if number > start] if depth >= 0 else [n for n, _ in headers]
            end = min(after, default=len(lines))
            key = re.compile(
                rf"^[ \t]*(?:{re.escape(rest[0])}|\"{re.escape(rest[0])}\"|'{re.escape(rest[0])}')[ \t]*[=.]"
            )
            for number in range(start + 1 if depth >= 0 else 0, end):
                if key.match(lines[number]):
                    return number + 1
        return start + 1 if depth > 0 else None

    def need(self, table: Mapping[str, Any], key: str, kind: type, name: str, line: int | None = None) -> Any:
        if key not in table:
            raise DataError(f"{self.where(line)}: missing field '{name}'")
        value = table[key]
        if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
            raise DataError(
                f"{self.where(line or self.line_of(key))}: field '{name}' must be a non-empty {kind.__name__}"
            )
        return value

    def optional(self, table: Mapping[str, Any], key: str, kind: type, default: Any, name: str) -> Any:
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, kind):
            raise DataError(f"{self.where(self.line_of(key))}: field '{name}' must be a {kind.__name__}")
        return value

    def conditions(self, when: Any, owner: str, line: int) -> Mapping[str, Any]:
        if not isinstance(when, dict):
            raise DataError(f"{self.where(line)}: {owner}: 'when' must be a table")
        for key, value in when.items():
            expected = CONDITIONS.get(key)
            if expected is None:
                known = ", ".join(sorted(CONDITIONS))
                raise DataError(f"{self.where(line)}: {owner}: unknown condition '{key}' (known: {known})")
            if expected is list and isinstance(value, str):
                when[key] = [value]
            elif not isinstance(value, expected) or (
                isinstance(value, list) and not all(isinstance(v, str) for v in value)
            ):
                raise DataError(f"{self.where(line)}: {owner}: condition '{key}' must be a {expected.__name__}")
        if "kind" in when:
            for kind in when["kind"]:
                if kind not in KINDS:
                    raise DataError(f"{self.where(line)}: {owner}: unknown kind '{kind}' (known: {', '.join(KINDS)})")
        # Lists become sets once here, so matching thousands of letters against them stays cheap.
        return {key: frozenset(value) if isinstance(value, list) else value for key, value in when.items()}


def _headers(lines: list[str]) -> list[tuple[int, tuple[str | int, ...]]]:
    """Return each table header's line index and the key path it opens: [[rules]] the 4th time is ("rules", 3)."""
    found: list[tuple[int, tuple[str | int, ...]]] = []
    seen: dict[tuple[str, ...], int] = {}
    for number, line in enumerate(lines):
        header = re.match(r"^[ \t]*(\[\[?)(.*?)\]", line)
        if header is None:
            continue
        keys = tuple(part.strip().strip("\"'") for part in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", header.group(2)))
        if header.group(1) == "[[":
            index = seen.get(keys, 0)
            seen[keys] = index + 1
            found.append((number, (*keys, index)))
        else:
            found.append((number, keys))
    return found


@dataclass(eq=False)
class Shape:
    """What a value in campaign.toml may be: its TOML types, and for a list its items', for a table its keys'.

    A table's `keys` name the known keys; `values` is the shape of any other key's value (None: not checked here,
    as a key a later part of outreach reads is not refused by this check).
    """

    kinds: tuple[type, ...]
    items: Shape | None = None
    keys: Mapping[str, Shape] = field(default_factory=dict)
    values: Shape | None = None


_TEXT = Shape((str,))
_WHOLE = Shape((int,))
_NUMBER = Shape((int, float))
_FLAG = Shape((bool,))
_DAY = Shape((str, date))
_TABLE = Shape((dict,))  # the conditions of a `when`: checked against facts.CONDITIONS by _Reader.conditions


def _list(items: Shape) -> Shape:
    return Shape((list,), items=items)


def _table(**keys: Shape) -> Shape:
    return Shape((dict,), keys=keys)


def _map(values: Shape) -> Shape:
    return Shape((dict,), values=values)


# [facts]: words the templates quote, so every value is text or a table of them ([facts.nations.Wales]).
_FACTS = Shape((str, dict))
_FACTS.values = _FACTS

# [[hooks]] and [[interest]]: what record items they want (outreach/hooks.py).
_MATCH = _table(code=_list(_TEXT), role=_list(_TEXT), words=_list(_TEXT))

CAMPAIGN_SHAPE = _table(
    campaign=_table(
        id=_TEXT, name=_TEXT, letter_date=_DAY, salutation_style=_TEXT, closing=_TEXT, layout=_TEXT,
        address_overrides=_TEXT,
    ),
    sender=Shape((dict,), keys=dict.fromkeys(SENDER_KEYS, _TEXT) | {"address_lines": _list(_TEXT)}),
    smtp=_table(host=_TEXT, port=_WHOLE, security=_TEXT, user=_TEXT, auth=_TEXT),
    facts=_map(_FACTS),
    figures=_map(_table(text=_TEXT, nation=_TEXT, source=_TEXT, date=_DAY)),
    audience=_table(seats=_list(_TEXT), posts=_list(_TEXT), except_departments=_list(_TEXT)),
    selection=_table(min_asks=_WHOLE, max_asks=_WHOLE),
    asks=_list(_table(id=_TEXT, title=_TEXT, summary=_TEXT, partial=_TEXT)),
    rules=_list(
        _table(id=_TEXT, when=_TABLE, asks=_list(_TEXT), weight=_NUMBER, because=_TEXT, exclude=_list(_TEXT))
    ),
    templates=_list(_table(name=_TEXT, when=_TABLE, address=_TEXT)),
    checks=_list(_table(id=_TEXT, when=_TABLE, must_match=_TEXT, must_not_match=_TEXT, message=_TEXT)),
    enclosures=_list(_table(file=_TEXT, title=_TEXT, mention=_FLAG, when=_TABLE)),
    refresh=_table(committees=_list(_WHOLE), question_terms=_list(_TEXT), interest_terms=_list(_TEXT)),
    subjects=_map(_TEXT),
    hooks=_list(
        _table(
            id=_TEXT, record=_TEXT, match=_MATCH, when=_TABLE, asks=_list(_TEXT), partial=_TEXT, because=_TEXT,
            use=_TEXT,
        )
    ),
    interest=_list(
        _table(id=_TEXT, record=_TEXT, match=_MATCH, when=_TABLE, weight=_NUMBER, most=_NUMBER, because=_TEXT)
    ),
)  # fmt: skip

_KIND_NAMES = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a table",
    date: "a date",
    datetime: "a date and time",
    time: "a time",
}


def _kind_name(value: object) -> str:
    """Return what a TOML value is, as the error says it: 'a string', 'a table', …"""
    return next((name for kind, name in reversed(_KIND_NAMES.items()) if type(value) is kind), type(value).__name__)


def _fits(value: object, kinds: tuple[type, ...]) -> bool:
    """Return whether a TOML value is one of `kinds`: true is not a number, nor a date and time a date."""
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, datetime):
        return datetime in kinds
    return isinstance(value, kinds)


def check_shape(read: _Reader, value: object, shape: Shape, path: tuple[str | int, ...] = ()) -> None:
    """Refuse (DataError naming file:line and the key, e.g. rules[3].weight) the first value not of its shape."""
    if not _fits(value, shape.kinds):
        # A number may be whole or not: "a number" says both.
        kinds = [kind for kind in shape.kinds if not (kind is int and float in shape.kinds)]
        expected = " or ".join(_KIND_NAMES[kind] for kind in kinds)
        raise DataError(
            f"{read.where(read.line_of_path(path))}: {_dotted(path)}: must be {expected}, not {_kind_name(value)}"
        )
    if isinstance(value, list) and shape.items is not None:
        for index, item in enumerate(value):
            check_shape(read, item, shape.items, (*path, index))
    if isinstance(value, dict):
        for key, item in value.items():
            inner = shape.keys.get(key, shape.values)
            if inner is not None:
                check_shape(read, item, inner, (*path, key))


def _dotted(path: tuple[str | int, ...]) -> str:
    """Return a key path as people read it: rules[3].weight, facts.nations.Wales.service."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


SMTP_KEYS = ("host", "port", "security", "user", "auth")
ENCLOSURE_KEYS = ("file", "title", "mention", "when")
PDF_MAGIC = b"%PDF-"


def _sender(read: _Reader, data: Mapping[str, Any]) -> Sender:
    """Return the [sender] table as a Sender, refusing unknown keys (a misspelt signatory would sign nothing)."""
    table = read.need(data, "sender", dict, "sender")
    for key in table:
        if key not in SENDER_KEYS:
            where = read.where(read.line_of(key))
            raise DataError(f"{where}: [sender] unknown key '{key}' (known: {', '.join(SENDER_KEYS)})")
    text: dict[str, str] = {
        key: read.optional(table, key, str, "", f"sender.{key}").strip()
        for key in SENDER_KEYS
        if key not in ("organisation", "address_lines")
    }
    header = re.search(r"^[ \t]*\[[ \t]*sender[ \t]*\]", read.text, re.MULTILINE)
    return Sender(
        organisation=read.need(table, "organisation", str, "sender.organisation"),
        address_lines=tuple(read.need(table, "address_lines", list, "sender.address_lines")),
        where=read.where(read.text.count("\n", 0, header.start()) + 1 if header else None),
        **text,
    )


def _enclosures(read: _Reader, data: Mapping[str, Any], folder: Path) -> tuple[Enclosure, ...]:
    """Return the [[enclosures]], each file checked to be a PDF inside the campaign folder; errors name the line."""
    lines = _table_lines(read.text, "enclosures")
    found: list[Enclosure] = []
    names: dict[str, int] = {}
    for index, table in enumerate(read.optional(data, "enclosures", list, [], "enclosures")):
        line = lines[index] if index < len(lines) else 0
        where = read.where(line)
        unknown = [key for key in table if key not in ENCLOSURE_KEYS]
        if unknown:
            raise DataError(f"{where}: enclosure: unknown key '{unknown[0]}' (known: {', '.join(ENCLOSURE_KEYS)})")
        name = read.need(table, "file", str, f"enclosures[{index}].file", line)
        title = read.need(table, "title", str, f"enclosures[{index}].title", line)
        mention = table.get("mention", False)
        if not isinstance(mention, bool):
            raise DataError(f"{where}: enclosure '{name}': mention must be true or false")
        path = folder / name
        # Resolved, so a link in a campaign folder someone shared cannot enclose a file from elsewhere on the disk.
        if Path(name).is_absolute() or ".." in Path(name).parts or not path.resolve().is_relative_to(folder.resolve()):
            raise DataError(f"{where}: enclosure '{name}': give a file inside the campaign folder {folder}")
        if path.exists() and not path.is_file():
            raise DataError(f"{where}: enclosure '{name}': {path} is not a regular file")
        limits.check_file(path, limits.ATTACHMENT_BYTES, f"enclosure '{name}'", where)
        try:
            with path.open("rb") as handle:
                start = handle.read(1024)
        except OSError as exc:
            raise DataError(f"{where}: enclosure '{name}': cannot read {path} ({exc.strerror})") from None
        if PDF_MAGIC not in start:
            raise DataError(f"{where}: enclosure '{name}': {path} is not a PDF (a PDF starts with %PDF-)")
        if path.name in names:
            earlier = names[path.name]
            raise DataError(f"{where}: enclosure '{name}': {path.name} is already enclosed at line {earlier}")
        names[path.name] = line
        when = read.conditions(table.get("when", {}), f"enclosure '{name}'", line)
        found.append(Enclosure(file=path, title=title.strip(), mention=mention, when=when, line=line))
    return tuple(found)


def _smtp_table(read: _Reader, data: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the [smtp] table, refusing unknown keys and any password (it belongs in OUTREACH_SMTP_PASSWORD)."""
    table = read.optional(data, "smtp", dict, {}, "smtp")
    for key, value in table.items():
        if key == "password":
            where = read.where(read.line_of("password"))
            raise DataError(f"{where}: [smtp] password: never store a password here; set OUTREACH_SMTP_PASSWORD")
        if key not in SMTP_KEYS:
            where = read.where(read.line_of(key))
            raise DataError(f"{where}: [smtp] unknown key '{key}' (known: {', '.join(SMTP_KEYS)})")
        if not isinstance(value, int if key == "port" else str) or isinstance(value, bool):
            kind = "a number" if key == "port" else "a string"
            raise DataError(f"{read.where(read.line_of(key))}: [smtp] {key} must be {kind}")
    return dict(table)


def _figures(read: _Reader, data: Mapping[str, Any]) -> dict[str, Figure]:
    """Return the [figures.<id>] tables, each with its words, nation, source and date, checked."""
    figures: dict[str, Figure] = {}
    for figure_id, table in read.optional(data, "figures", dict, {}, "figures").items():
        heading = re.search(
            rf"^[ \t]*\[[ \t]*figures[ \t]*\.[ \t]*[\"']?{re.escape(figure_id)}[\"']?[ \t]*\]", read.text, re.MULTILINE
        )
        line = read.text.count("\n", 0, heading.start()) + 1 if heading else read.line_of("figures") or 0
        owner = f"figure '{figure_id}'"
        if not isinstance(table, dict):
            raise DataError(f"{read.where(line)}: {owner} must be a table ([figures.{figure_id}])")
        unknown = [key for key in table if key not in FIGURE_KEYS]
        if unknown:
            raise DataError(
                f"{read.where(line)}: {owner}: unknown key '{unknown[0]}' (known: {', '.join(FIGURE_KEYS)})"
            )
        nation = read.need(table, "nation", str, f"figures.{figure_id}.nation", line)
        if nation not in NATIONS:
            raise DataError(f"{read.where(line)}: {owner}: unknown nation '{nation}' (known: {', '.join(NATIONS)})")
        stated = table.get("date")
        try:
            day = stated if isinstance(stated, date) else date.fromisoformat(str(stated))
        except ValueError:
            raise DataError(f"{read.where(line)}: {owner}: 'date' must be a date, YYYY-MM-DD") from None
        figures[figure_id] = Figure(
            id=figure_id,
            text=read.need(table, "text", str, f"figures.{figure_id}.text", line),
            nation=nation,
            source=read.need(table, "source", str, f"figures.{figure_id}.source", line),
            date=day,
            line=line,
        )
    return figures


def _pattern(read: _Reader, table: Mapping[str, Any], key: str, owner: str, line: int) -> re.Pattern[str] | None:
    """Return a check's regular expression, compiled; a bad one names the check's line."""
    if key not in table:
        return None
    text = table[key]
    if not isinstance(text, str) or not text:
        raise DataError(f"{read.where(line)}: {owner}: '{key}' must be a non-empty string (a regular expression)")
    try:
        return re.compile(text)
    except re.error as exc:
        raise DataError(f"{read.where(line)}: {owner}: '{key}' is not a regular expression: {exc}") from None


def _checks(read: _Reader, data: Mapping[str, Any]) -> tuple[CampaignCheck, ...]:
    """Return the campaign's own [[checks]], each pattern compiled and each condition known."""
    checks: list[CampaignCheck] = []
    for table, check_id, owner, line in _tables(read, data, "checks", CHECK_KEYS):
        if any(check.id == check_id for check in checks):
            raise DataError(f"{read.where(line)}: {owner}: a check of that id is already defined")
        must_match = _pattern(read, table, "must_match", owner, line)
        must_not_match = _pattern(read, table, "must_not_match", owner, line)
        if must_match is None and must_not_match is None:
            raise DataError(
                f"{read.where(line)}: {owner}: give 'must_match' or 'must_not_match' (a regular expression)"
            )
        checks.append(
            CampaignCheck(
                id=check_id,
                when=read.conditions(table.get("when", {}), owner, line),
                must_match=must_match,
                must_not_match=must_not_match,
                message=read.need(table, "message", str, f"{owner}: message", line),
                line=line,
            )
        )
    return tuple(checks)


def _record_match(read: _Reader, table: Mapping[str, Any], owner: str, line: int) -> RecordMatch:
    """Return what record items a hook or interest rule wants: `record` (a kind) and `match` (code, role, words)."""
    kind = read.need(table, "record", str, f"{owner}.record", line)
    if kind not in RECORD_KINDS:
        raise DataError(f"{read.where(line)}: {owner}: unknown record kind '{kind}' (known: {', '.join(RECORD_KINDS)})")
    match = table.get("match", {})
    if not isinstance(match, dict):
        raise DataError(f"{read.where(line)}: {owner}: 'match' must be a table")
    for key, value in match.items():
        if key not in MATCH_KEYS:
            raise DataError(f"{read.where(line)}: {owner}: unknown match '{key}' (known: {', '.join(MATCH_KEYS)})")
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise DataError(f"{read.where(line)}: {owner}: match '{key}' must be a list of strings")
    return RecordMatch(
        kind=kind,
        code=frozenset(match.get("code", ())),
        role=frozenset(match.get("role", ())),
        words=tuple(match.get("words", ())),
    )


def _tables(
    read: _Reader, data: Mapping[str, Any], header: str, keys: Sequence[str]
) -> Iterator[tuple[Mapping[str, Any], str, str, int]]:
    """Yield each `[[header]]` table with its id, its name in errors ("hook 'x'") and its line; a table with a key not
    in `keys`, or with no id, is refused naming the line."""
    lines = _table_lines(read.text, header)
    for index, table in enumerate(read.optional(data, header, list, [], header)):
        line = lines[index] if index < len(lines) else 0
        if not isinstance(table, dict):
            raise DataError(f"{read.where(line)}: {header}[{index}] must be a table ([[{header}]])")
        table_id = read.need(table, "id", str, f"{header}[{index}].id", line)
        owner = f"{header.rstrip('s')} '{table_id}'"
        unknown = [key for key in table if key not in keys]
        if unknown:
            raise DataError(f"{read.where(line)}: {owner}: unknown key '{unknown[0]}' (known: {', '.join(keys)})")
        yield table, table_id, owner, line


def _hooks(read: _Reader, data: Mapping[str, Any], asks: Mapping[str, Ask], folder: Path) -> tuple[Hook, ...]:
    """Return the campaign's [[hooks]], in file order, each with known asks, conditions, record kind and partial."""
    hooks: list[Hook] = []
    for table, hook_id, owner, line in _tables(read, data, "hooks", HOOK_KEYS):
        hook_asks = tuple(read.optional(table, "asks", list, [], f"{owner}: asks"))
        for ask_id in hook_asks:
            if ask_id not in asks:
                raise DataError(f"{read.where(line)}: {owner} names unknown ask '{ask_id}' (known: {', '.join(asks)})")
        partial = read.need(table, "partial", str, f"{owner}: partial", line)
        if not (folder / "templates" / partial).is_file():
            raise DataError(f"{read.where(line)}: {owner}: no partial {folder / 'templates' / partial}")
        use = read.optional(table, "use", str, "senior", f"{owner}: use")
        if use not in USES:
            raise DataError(f"{read.where(line)}: {owner}: use must be one of {', '.join(USES)}")
        hooks.append(
            Hook(
                id=hook_id,
                match=_record_match(read, table, owner, line),
                when=read.conditions(table.get("when", {}), owner, line),
                asks=hook_asks,
                partial=partial,
                because=read.need(table, "because", str, f"{owner}: because", line),
                line=line,
                use=use,
            )
        )
    return tuple(hooks)


def _interest(read: _Reader, data: Mapping[str, Any]) -> tuple[InterestRule, ...]:
    """Return the campaign's [[interest]] rules: what in a member's record or seat weighs how much, and why."""
    rules: list[InterestRule] = []
    for table, rule_id, owner, line in _tables(read, data, "interest", INTEREST_KEYS):
        weight = table.get("weight")
        most = table.get("most", 1)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
            raise DataError(f"{read.where(line)}: {owner}: weight must be a number above 0")
        if isinstance(most, bool) or not isinstance(most, int) or most < 1:
            raise DataError(f"{read.where(line)}: {owner}: most must be a whole number, 1 or more")
        if "record" not in table and "when" not in table:
            raise DataError(f"{read.where(line)}: {owner}: give 'record' (and 'match') or 'when'")
        rules.append(
            InterestRule(
                id=rule_id,
                match=_record_match(read, table, owner, line) if "record" in table else None,
                when=read.conditions(table.get("when", {}), owner, line),
                weight=float(weight),
                most=most,
                because=read.need(table, "because", str, f"{owner}: because", line),
                line=line,
            )
        )
    return tuple(rules)


def _refresh_committees(read: _Reader, data: Mapping[str, Any]) -> tuple[int, ...]:
    """Return the [refresh] committees: Committees API ids, whole numbers."""
    table = read.optional(data, "refresh", dict, {}, "refresh")
    ids = read.optional(table, "committees", list, [], "refresh.committees")
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in ids):
        raise DataError(f"{read.where(read.line_of('committees'))}: refresh.committees: Committees API ids, numbers")
    return tuple(ids)


def _refresh_terms(read: _Reader, data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """Return a [refresh] list of search terms (question_terms, interest_terms): non-empty text, each once."""
    table = read.optional(data, "refresh", dict, {}, "refresh")
    terms = read.optional(table, key, list, [], f"refresh.{key}")
    if not all(isinstance(term, str) and term.strip() for term in terms):
        raise DataError(f"{read.where(read.line_of(key))}: refresh.{key}: a list of search terms (text)")
    return tuple(dict.fromkeys(" ".join(term.split()) for term in terms))


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """Return the text of the campaign file at `path` and its parsed TOML."""
    try:
        limits.check_file(path, limits.CAMPAIGN_FILE_BYTES, "the campaign file")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no campaign file here (a campaign folder holds campaign.toml)") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save campaign.toml as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: {exc}") from None
    return text, data


def _letter_date(read: _Reader, meta: Mapping[str, Any]) -> date | None:
    """Return the campaign's fixed letter date, or None when letters are dated the day they are made."""
    letter_date_value = meta.get("letter_date", "today")
    if isinstance(letter_date_value, date):
        return letter_date_value
    if letter_date_value == "today":
        return None
    try:
        return date.fromisoformat(str(letter_date_value))
    except ValueError:
        where = read.where(read.line_of("letter_date"))
        raise DataError(f'{where}: campaign.letter_date must be YYYY-MM-DD or "today"') from None


def _asks(read: _Reader, data: Mapping[str, Any], folder: Path) -> dict[str, Ask]:
    """Return the campaign's asks by id, each with its partial template checked to exist."""
    ask_lines = _table_lines(read.text, "asks")
    asks: dict[str, Ask] = {}
    for index, table in enumerate(read.need(data, "asks", list, "asks")):
        line = ask_lines[index] if index < len(ask_lines) else None
        ask_id = read.need(table, "id", str, f"asks[{index}].id", line)
        asks[ask_id] = Ask(
            id=ask_id,
            title=read.need(table, "title", str, f"asks[{index}].title", line),
            summary=read.need(table, "summary", str, f"asks[{index}].summary", line),
            partial=table.get("partial", f"asks/{ask_id}.md.j2"),
        )
        partial_path = folder / "templates" / asks[ask_id].partial
        if not partial_path.is_file():
            raise DataError(f"{read.where(line)}: ask '{ask_id}': no partial {partial_path}")
    return asks


def _rules(read: _Reader, data: Mapping[str, Any], asks: Mapping[str, Ask]) -> tuple[Rule, ...]:
    """Return the campaign's rules, each naming only known asks."""
    rule_lines = _table_lines(read.text, "rules")
    rules: list[Rule] = []
    for index, table in enumerate(read.need(data, "rules", list, "rules")):
        line = rule_lines[index] if index < len(rule_lines) else 0
        rule_id = read.need(table, "id", str, f"rules[{index}].id", line)
        owner = f"rule '{rule_id}'"
        rule_asks = tuple(table.get("asks", ()))
        exclude = tuple(table.get("exclude", ()))
        for ask_id in (*rule_asks, *exclude):
            if ask_id not in asks:
                raise DataError(f"{read.where(line)}: {owner} names unknown ask '{ask_id}' (known: {', '.join(asks)})")
        rules.append(
            Rule(
                id=rule_id,
                when=read.conditions(table.get("when", {}), owner, line),
                asks=rule_asks,
                weight=float(table.get("weight", 1.0)),
                because=read.need(table, "because", str, f"rules[{index}].because", line),
                exclude=exclude,
                line=line,
            )
        )
    return tuple(rules)


def _templates(read: _Reader, data: Mapping[str, Any], folder: Path) -> tuple[TemplateChoice, ...]:
    """Return the campaign's template choices, each with its file checked to exist."""
    template_lines = _table_lines(read.text, "templates")
    templates: list[TemplateChoice] = []
    for index, table in enumerate(read.need(data, "templates", list, "templates")):
        line = template_lines[index] if index < len(template_lines) else 0
        name = read.need(table, "name", str, f"templates[{index}].name", line)
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise DataError(f"{read.where(line)}: template name '{name}' must be lower-case letters, digits, _")
        template_file = folder / "templates" / f"{name}.md.j2"
        if not template_file.is_file():
            raise DataError(f"{read.where(line)}: template '{name}': no file {template_file}")
        where = read.optional(table, "address", str, "parliament", f"templates[{index}].address")
        if where not in ("parliament", "constituency"):
            raise DataError(f"{read.where(line)}: template '{name}': address must be 'parliament' or 'constituency'")
        conditions = read.conditions(table.get("when", {}), f"template '{name}'", line)
        templates.append(TemplateChoice(name, conditions, line, where))
    return tuple(templates)


def _audience(read: _Reader, data: Mapping[str, Any]) -> Audience:
    """Return the campaign's audience, its seat and post groups checked to be known."""
    audience_table = read.need(data, "audience", dict, "audience")
    audience = Audience(
        seats=tuple(read.optional(audience_table, "seats", list, [], "audience.seats")),
        posts=tuple(read.optional(audience_table, "posts", list, [], "audience.posts")),
        except_departments=tuple(
            str(code)
            for code in read.optional(audience_table, "except_departments", list, [], "audience.except_departments")
        ),
    )
    for seat_group in audience.seats:
        if seat_group not in ("all", "new", "by_election"):
            raise DataError(f"{read.where(read.line_of('seats'))}: audience.seats: unknown group '{seat_group}'")
    for post_group in audience.posts:
        if post_group not in ("government", "opposition"):
            raise DataError(f"{read.where(read.line_of('posts'))}: audience.posts: unknown group '{post_group}'")
    return audience


def _ask_limits(read: _Reader, data: Mapping[str, Any]) -> tuple[int, int]:
    """Return the fewest and most asks a letter makes, checked to be in order."""
    selection = read.optional(data, "selection", dict, {}, "selection")
    min_asks = int(selection.get("min_asks", 2))
    max_asks = int(selection.get("max_asks", 3))
    if not 1 <= min_asks <= max_asks:
        raise DataError(f"{read.where(read.line_of('min_asks'))}: selection: need 1 <= min_asks <= max_asks")
    return min_asks, max_asks


def _layout(read: _Reader, meta: Mapping[str, Any], folder: Path) -> Path:
    """Return the path of the campaign's Typst layout, checked to exist."""
    layout: Path = folder / read.optional(meta, "layout", str, "letter.typ", "campaign.layout")
    if not layout.is_file():
        raise DataError(f"{read.where(read.line_of('layout'))}: campaign.layout: no file {layout}")
    return layout


def _overrides(read: _Reader, meta: Mapping[str, Any], folder: Path) -> Path | None:
    """Return the path of the campaign's address overrides file, checked to exist, or None when it names none."""
    overrides_name = read.optional(meta, "address_overrides", str, "", "campaign.address_overrides")
    overrides = folder / overrides_name if overrides_name else None
    if overrides is not None and not overrides.is_file():
        where = read.where(read.line_of("address_overrides"))
        raise DataError(f"{where}: campaign.address_overrides: no file {overrides}")
    return overrides


def load(folder: Path) -> Campaign:
    """Return the campaign in `folder`, checked: every field present, every rule's asks and conditions known."""
    path = folder / "campaign.toml"
    text, data = _read_toml(path)
    read = _Reader(path, text)
    check_shape(read, data, CAMPAIGN_SHAPE)  # every value's type, before any part reads one

    meta = read.need(data, "campaign", dict, "campaign")
    sender = _sender(read, data)
    letter_date = _letter_date(read, meta)
    asks = _asks(read, data, folder)
    rules = _rules(read, data, asks)
    hooks = _hooks(read, data, asks, folder)
    templates = _templates(read, data, folder)
    audience = _audience(read, data)
    min_asks, max_asks = _ask_limits(read, data)
    layout = _layout(read, meta, folder)
    overrides = _overrides(read, meta, folder)

    return Campaign(
        folder=folder,
        id=read.need(meta, "id", str, "campaign.id"),
        name=read.need(meta, "name", str, "campaign.name"),
        letter_date=letter_date,
        salutation_style=read.optional(meta, "salutation_style", str, "formal", "campaign.salutation_style"),
        closing=read.optional(meta, "closing", str, "Yours sincerely", "campaign.closing"),
        sender=sender,
        asks=asks,
        rules=rules,
        templates=templates,
        audience=audience,
        min_asks=min_asks,
        max_asks=max_asks,
        layout=layout,
        overrides=overrides,
        subjects=read.optional(data, "subjects", dict, {}, "subjects"),
        facts=read.optional(data, "facts", dict, {}, "facts"),
        smtp=_smtp_table(read, data),
        figures=_figures(read, data),
        checks=_checks(read, data),
        enclosures=_enclosures(read, data, folder),
        committees=_refresh_committees(read, data),
        question_terms=_refresh_terms(read, data, "question_terms"),
        interest_terms=_refresh_terms(read, data, "interest_terms"),
        hooks=hooks,
        interest=_interest(read, data),
    )
