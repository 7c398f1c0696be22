"""Forms of address: the salutation ("Dear Sir Lindsay") and the head of the address block for a member.

Conventions (see ../shared/docs/CONTEXT.md, "Conventions for writing to MPs"), in order of precedence:

1. An override row for the member (``address_overrides.csv``) wins over every personal rule below.
2. Style ``first_name`` ("Dear Alex") — a campaign's deliberate choice — wins over ``nameAddressAs``.
3. ``nameAddressAs`` from a live Members API snapshot wins when present (null for ~70% of MPs), cleaned
   defensively of "Rt Hon", "MP" and post-nominals.
4. Peers: "Lord Hermer", "Baroness Smith" (of Basildon is dropped in the salutation, kept on the name
   line); earls, viscounts and marquesses are "Lord X" in a letter, their wives and countesses "Lady X".
5. Knights and dames by first name: "Sir Keir", "Dame Meg" (a knighthood outranks Dr/Professor).
6. An explicit title + surname: "Dr Mullan", "Professor Smith" (written out: "Prof" is an abbreviation
   for envelopes), and the "Mr"/"Ms"/"Mrs" an MP puts in their own display name ("Mr Lammy", "Mrs
   Badenoch").
7. Otherwise Mr or Ms from the member's recorded gender + surname ("Dear Mr Kinnock", "Dear Ms Lewell"): the
   honorific and surname of a formal letter (CONTEXT.md: the display name, "Dear Stephen Kinnock", reads as mail
   merge). "Ms" is the form for a woman whose own preference is not recorded; a member who styles herself "Mrs"
   in her display name keeps it by rule 6, and anyone can be pinned in the overrides file. Styles ``formal`` and
   ``honorific`` are the same here; only ``first_name`` differs ("Dear Stephen").

"MP" and "Rt Hon" never appear in a salutation; post-nominals (KC, CBE, ...) never either.

Names: surnames can be several words ("Saville Roberts", "Duncan Smith", "De Cordova", "van Mierlo"), so
the surname and given names come from ``nameListAs`` ("Saville Roberts, Liz") when it is there, then from
the separate ``surname``/``first_name`` fields, and only as a last resort from the display name.
``nameListAs`` goes first because it is the live API's own structure: the 2024 election files are stale
for members who have since changed name (member 5258 is "Sandher-Jones, Louise" in the API but surname
"Jones" in the 2024 results; 4277 is "Lewell, Emma" but "Lewell-Buck"). Diacritics, apostrophes and
hyphens are kept exactly (Órfhlaith, O'Brien).

Ministers are written to by office about departmental business ("Dear Secretary of State", "Dear
Minister"); shadow ministers are not office-holders and get a personal salutation. An override's
salutation names the person, so it does not replace an office form (a minister's letter, the Speaker's
office letter); an override's name line applies everywhere.

Envelope for peers: "The Lord Hermer", "The Baroness Smith of Basildon" — the form the Members API itself
gives in ``nameFullTitle`` for peers ("The Lord Aberconway", "The Baroness Mone OBE":
../shared/fixtures/members-api/members-search-snommoc-edited.json), which is also the traditional social
envelope for a baron and for a baroness in her own right (Dod's and Debrett's "Formal modes of
addressing", e.g. Debrett's Peerage on Wikisource). The salutation is "Dear Baroness Smith", the common
modern usage (e.g. pollyannaharmsworth.com's forms-of-address guide: envelope "The Baroness [Surname]",
salutation "Dear Baroness Smith"), rather than the older social "Dear Lady Smith". Strictly, the "of
Basildon" of a peer whose title needs it to tell two Baroness Smiths apart is part of the title, not a
territorial designation (blog.benl.co.uk, "How to Address Peers", 2020); letters commonly shorten it
after "Dear", and the name line keeps it — pin "Baroness Smith of Basildon" in the overrides file to write
it out in full.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outreach import limits
from outreach.csvfile import read_cell
from outreach.errors import DataError

STYLES = ("formal", "honorific", "first_name")
"""Salutation styles a campaign may choose."""

OVERRIDE_COLUMNS = ("member_id", "salutation", "name_line", "note", "address")

# Titles a person may carry before their name, and how each is written after "Dear".
_PERSONAL_TITLES = {
    "mr": "Mr",
    "mrs": "Mrs",
    "ms": "Ms",
    "miss": "Miss",
    "mx": "Mx",
    "dr": "Dr",
    "prof": "Professor",
    "professor": "Professor",
    "sir": "Sir",
    "dame": "Dame",
}
# Which explicit title wins when a person has several ("Rt Hon Dr Sir ..."): a knighthood, then academic
# titles, then the plain honorifics.
_TITLE_RANK = ("Sir", "Dame", "Professor", "Dr", "Mrs", "Ms", "Miss", "Mr", "Mx")

# Courtesy words that precede a name on an envelope but never belong after "Dear".
_COURTESY = re.compile(
    r"^(?:the\s+)?(?:(?:rt\.?|right)\s+(?:hon\.?|honourable)|hon\.?|honourable|most\s+hon\.?)\s+(?:the\s+)?",
    re.IGNORECASE,
)
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)

# Peer ranks, and the word used for them after "Dear" (Debrett's: below a duke, peers are "Lord X"/"Lady X";
# a baroness in her own right is "Baroness X" in modern usage: see the module docstring).
_PEER_RANKS = {
    "lord": "Lord",
    "baron": "Lord",
    "baroness": "Baroness",
    "lady": "Lady",
    "viscount": "Lord",
    "viscountess": "Lady",
    "earl": "Lord",
    "countess": "Lady",
    "marquess": "Lord",
    "marquis": "Lord",
    "marchioness": "Lady",
    "duke": "Duke",
    "duchess": "Duchess",
}
# Ranks written "The <rank> X" on an envelope (Members API: "The Lord Aberconway", "The Baroness Mone").
_ENVELOPE_THE = (
    "Lord",
    "Baroness",
    "Viscount",
    "Viscountess",
    "Earl",
    "Countess",
    "Marquess",
    "Marchioness",
    "Duke",
    "Duchess",
)
_SPIRITUAL = re.compile(r"^(?:the\s+)?(?:lord\s+)?(arch)?bishop\s+of\s+", re.IGNORECASE)

# Honours, decorations, degrees and fellowships written after a name (nameFullTitle carries them: "Rt Hon
# Shabana Mahmood KC MP", "The Baroness Mone OBE"). A list rather than "any capitals", so that a surname
# written in capitals by some source is not taken for an honour.
_POST_NOMINALS = frozenset(
    """
    MP KC QC PC VC GC KG KT KP GCB KCB CB GCMG KCMG CMG GCVO KCVO CVO LVO MVO GBE KBE DBE CBE OBE MBE BEM CH
    OM DL JP TD VRD RD DSO DSC DFC MC AFC QPM QFSM KPM FRS FREng FMedSci FRSE FBA FRSA FRCP FRCS FRCSEd
    FRCGP FRCPsych FRCPath FRCR FRCA FRCOG FRCPCH FIPEM FInstP FRSC FRSB FRSL FRGS FRAeS FRICS FCA ACA FCCA
    FCGI FAcadMEd FHEA DPhil PhD MD MA MSc BSc LLB LLM MBA RN RM RAF ADC QHP QHS Bt Bart MEP MSP MS MLA AM
    """.split()
)
_FORBIDDEN_IN_SALUTATION = re.compile(r"\bMP\b|\bRt\.?\s+Hon\b|\bRight\s+Hon", re.IGNORECASE)


@dataclass(frozen=True)
class Person:
    """A member as far as addressing them goes (Members API field names in the comments)."""

    member_id: int | None
    display_name: str  # nameDisplayAs: "Sir Keir Starmer", "Dr Caroline Johnson", "Lord Hermer"
    full_title: str  # nameFullTitle: "Rt Hon Sir Keir Starmer MP", "The Baroness Smith of Basildon"
    list_as: str = ""  # nameListAs: "Starmer, Sir Keir" ("Mone, B." for peers: not used for them)
    address_as: str | None = None  # nameAddressAs, null for most members: wins for the salutation
    gender: str = ""  # "M" / "F" / ""
    house: str = "Commons"  # "Commons" | "Lords"
    first_name: str = ""
    surname: str = ""
    is_speaker: bool = False

    @classmethod
    def from_api(cls, value: Mapping[str, Any]) -> Person:
        """Return the person in a Members API `Member` object (the `value` of `/api/Members/{id}`)."""
        membership = value.get("latestHouseMembership") or {}
        party = value.get("latestParty") or {}
        return cls(
            member_id=value.get("id"),
            display_name=value.get("nameDisplayAs") or "",
            full_title=value.get("nameFullTitle") or "",
            list_as=value.get("nameListAs") or "",
            address_as=value.get("nameAddressAs") or None,
            gender=value.get("gender") or "",
            # house 1 = Commons, 2 = Lords (OpenAPI spec, `House` enum).
            house="Lords" if membership.get("house") == 2 else "Commons",
            # The Speaker sits for party id 47 "Speaker" (fixtures/members-api/member-467.json).
            is_speaker=party.get("id") == 47 or party.get("name") == "Speaker",
        )


@dataclass(frozen=True)
class OverrideRow:
    """One row of address_overrides.csv: an empty field keeps the derived form."""

    member_id: int
    salutation: str = ""  # the name after "Dear": "Sir Lindsay"
    name_line: str = ""  # the first line of the address block: "Rt Hon Sir Lindsay Hoyle MP"
    note: str = ""  # why the override exists, with the source of any address
    address: tuple[str, ...] = ()  # where the member's letters go, lines joined " | " in the file (a seat letter)


@dataclass(frozen=True)
class Address:
    """How a letter addresses one person: the salutation line and the head of the address block."""

    salutation: str  # the line as printed, without the trailing comma: "Dear Sir Lindsay"
    name_line: str  # first line of the address block: "Rt Hon Sir Lindsay Hoyle MP"
    rule: str  # why: "override", "nameAddressAs", "knight: first name", "office: Secretary of State", ...
    # Lines printed under the name line, before the postal address: a minister's posts
    # ("Secretary of State for Health and Social Care"), the Speaker's office. Empty for a seat letter.
    post_lines: tuple[str, ...] = ()

    @property
    def recipient_lines(self) -> tuple[str, ...]:
        """Return the name line then the post lines; the caller adds the postal address."""
        return (self.name_line, *self.post_lines)


# --- small name helpers -------------------------------------------------------------------------------------


def _squash(text: str) -> str:
    return " ".join(text.split())


def _strip_courtesy(text: str) -> str:
    """Return `text` without a leading "The Rt Hon"/"Rt Hon"/"Hon"/"The"."""
    text = _squash(text)
    while True:
        stripped = _COURTESY.sub("", text, count=1)
        stripped = _LEADING_THE.sub("", stripped, count=1)
        if stripped == text:
            return text
        text = stripped


def _is_post_nominal(token: str) -> bool:
    bare = token.strip(",").replace(".", "")
    return bare in _POST_NOMINALS


def _strip_post_nominals(text: str) -> str:
    """Return `text` without trailing post-nominals ("KC", "CBE", "MP") and commas."""
    words = _squash(text).split(" ")
    while len(words) > 1 and _is_post_nominal(words[-1]):
        words.pop()
    return " ".join(words).rstrip(",").strip()


def _bare_name(text: str) -> str:
    """Return a name without courtesy words or post-nominals: "Rt Hon Ellie Reeves KC MP" → "Ellie Reeves"."""
    return _strip_post_nominals(_strip_courtesy(text))


def _split_titles(name: str) -> tuple[list[str], str]:
    """Return the leading personal titles of a bare name (normalised: "Prof" → "Professor") and the rest."""
    titles: list[str] = []
    words = name.split(" ") if name else []
    while words and words[0].lower().rstrip(".") in _PERSONAL_TITLES and len(words) > 1:
        titles.append(_PERSONAL_TITLES[words.pop(0).lower().rstrip(".")])
    return titles, " ".join(words)


def _clean_salutation(text: str) -> str:
    """Return a salutation name with "Dear", "Rt Hon", "MP", post-nominals and a trailing comma removed."""
    text = _squash(text).rstrip(",").strip()
    if text.lower().startswith("dear "):
        text = text[5:]
    text = _bare_name(text)
    text = re.sub(r"\bMP\b", "", text)
    return _squash(text)


def _peer_parts(person: Person) -> tuple[str, str] | None:
    """Return (rank word after "Dear", name) for a peer, or None for a commoner."""
    for source in (person.display_name, person.full_title):
        bare = _bare_name(source)
        if not bare:
            continue
        spiritual = _SPIRITUAL.match(bare)
        if spiritual:
            return ("Archbishop" if spiritual.group(1) else "Bishop", "")
        first, _, rest = bare.partition(" ")
        rank = _PEER_RANKS.get(first.lower())
        if rank is None or not rest:
            # "Lady" alone is also a knight's wife's style; only a Lords member counts as a peer then.
            continue
        if first.lower() == "lady" and person.house != "Lords":
            continue
        if rest.lower().startswith("of "):
            # "Earl of Kinnoull": the title is the place → "Lord Kinnoull"; "Duke of X" → "Duke".
            return (rank, "" if rank in ("Duke", "Duchess") else rest[3:])
        # "Smith of Basildon" → "Smith"; "St John of Bletso" → "St John".
        return (rank, re.split(r"\s+of\s+", rest, maxsplit=1)[0])
    return None


def _is_peer(person: Person) -> bool:
    if person.house == "Lords":
        return True
    # A caller that left `house` at its default: a rank word makes a peer, unless the full title says "MP"
    # (a first name "Earl" is not an earldom).
    return "MP" not in person.full_title.split() and _peer_parts(person) is not None


def _list_as_parts(person: Person) -> tuple[str, str, list[str]]:
    """Return (surname, given names, titles) from nameListAs "Dhesi, Mr Tanmanjeet Singh" ("" if absent)."""
    if "," not in person.list_as:
        return "", "", []
    surname, _, given = person.list_as.partition(",")
    titles, given = _split_titles(_bare_name(given))
    return _squash(surname), given, titles


def _titles(person: Person) -> list[str]:
    """Return every explicit personal title found in the display name, full title and nameListAs."""
    found: list[str] = []
    for source in (person.display_name, person.full_title):
        found += _split_titles(_bare_name(source))[0]
    found += _list_as_parts(person)[2]
    return found


def _surname(person: Person) -> str:
    listed, _, _ = _list_as_parts(person)
    if listed:
        return listed
    if person.surname.strip():
        return _squash(person.surname)
    rest = _split_titles(_bare_name(person.display_name))[1]
    first = _squash(person.first_name)
    if first and rest.startswith(first + " "):
        return rest[len(first) + 1 :]  # "Liz" + "Saville Roberts"
    return rest.rpartition(" ")[2]


def _first_name(person: Person) -> str:
    """Return the forename a person goes by: the first given name ("Tanmanjeet Singh" → "Tanmanjeet")."""
    _, given, _ = _list_as_parts(person)
    if not given:
        given = _squash(person.first_name)
    if not given:
        rest = _split_titles(_bare_name(person.display_name))[1]
        surname = _surname(person)
        if surname and rest.endswith(" " + surname):
            given = rest[: -len(surname) - 1]
    return given.split(" ")[0] if given else ""


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise DataError(f"unknown salutation style {style!r} (expected one of: {', '.join(STYLES)})")


def _override(person: Person, overrides: Mapping[int, OverrideRow] | None) -> OverrideRow | None:
    if overrides is None or person.member_id is None:
        return None
    return overrides.get(person.member_id)


def _derived_salutation(person: Person, style: str) -> tuple[str, str]:
    """Return (name after "Dear", rule) by the personal rules, without overrides."""
    is_peer = _is_peer(person)
    peer = _peer_parts(person) if is_peer else None
    if style == "first_name" and not is_peer:
        first = _first_name(person)
        if first:
            return first, "first name"
    if person.address_as:
        cleaned = _clean_salutation(person.address_as)
        # The Members API gives some members' bare names as nameAddressAs ("Debbie Abrahams"): that is the display
        # name, never a salutation, so only a form that starts with a title or a rank is taken as it stands.
        if cleaned and _split_titles(cleaned)[0] or (cleaned and cleaned.split(" ")[0].lower() in _PEER_RANKS):
            return cleaned, "nameAddressAs"
    if peer is not None:
        rank, name = peer
        return (f"{rank} {name}", "peer: rank + name") if name else (rank, "peer: rank")
    if is_peer:  # a Lords member whose name carries no rank: use it as it stands
        return _bare_name(person.display_name or person.full_title), "display name"
    titles = _titles(person)
    best = min(titles, key=_TITLE_RANK.index) if titles else ""
    if best in ("Sir", "Dame"):
        first = _first_name(person)
        if first:
            return f"{best} {first}", ("knight" if best == "Sir" else "dame") + ": first name"
    surname = _surname(person)
    if best and best not in ("Sir", "Dame") and surname:
        return f"{best} {surname}", "title + surname"
    display = _split_titles(_bare_name(person.display_name or person.full_title))[1]
    if best in ("Sir", "Dame"):  # a knight whose first name cannot be found: "Sir John Smith", never "Mr"
        return f"{best} {display}", "display name"
    if surname and person.gender.upper() in ("M", "F"):
        return ("Mr " if person.gender.upper() == "M" else "Ms ") + surname, "gender honorific + surname"
    return display, "display name"  # no gender or surname recorded: the letter checks fail it until overridden


def salutation_name(
    person: Person,
    *,
    style: str = "formal",
    overrides: Mapping[int, OverrideRow] | None = None,
) -> tuple[str, str]:
    """Return the name after "Dear" and the rule that gave it: ("Sir Lindsay", "nameAddressAs")."""
    _check_style(style)
    row = _override(person, overrides)
    if row is not None and row.salutation:
        return row.salutation, "override"
    name, rule = _derived_salutation(person, style)
    # The invariant the whole module exists for: never "MP" or "Rt Hon" after "Dear".
    if _FORBIDDEN_IN_SALUTATION.search(name) or not name:
        name = _clean_salutation(name) or _bare_name(person.display_name)
    return name, rule


def _name_line(person: Person, overrides: Mapping[int, OverrideRow] | None) -> tuple[str, str]:
    """Return the first line of the address block and how it was made ("" for the full title as given)."""
    row = _override(person, overrides)
    if row is not None and row.name_line:
        return row.name_line, "name line: override"
    title = _squash(person.full_title) or _squash(person.display_name)
    words = title.split(" ")
    if _is_peer(person):
        if "MP" in words:  # defensive: a peer is never an MP
            title = " ".join(w for w in words if w != "MP")
        if title.split(" ")[0] in _ENVELOPE_THE:
            return "The " + title, "name line: 'The' added"
        return title, ""
    if "MP" not in words:
        # The DfE/MNIS lookup of 2026-06-27 has "Warinder Juss", and "Rt Hon Andy Burnham" (by-election).
        return title + " MP", "name line: 'MP' added"
    return title, ""


def _with_note(rule: str, note: str) -> str:
    return f"{rule}; {note}" if note else rule


def address_mp(
    person: Person,
    *,
    style: str = "formal",
    overrides: Mapping[int, OverrideRow] | None = None,
    speaker_office: bool = False,
) -> Address:
    """Return how a seat letter addresses a member: "Dear Sir Lindsay" / "Rt Hon Sir Lindsay Hoyle MP".

    The Speaker is written to as a constituency MP by name ("Dear Sir Lindsay", his nameAddressAs); a letter
    about the Speaker's office sets `speaker_office` for "Dear Mr Speaker" ("Madam Speaker" for a woman —
    Erskine May's form of address in the Chamber, also used in correspondence to the office).
    """
    name_line, note = _name_line(person, overrides)
    if speaker_office and person.is_speaker:
        office = "Madam Speaker" if person.gender.upper() == "F" else "Mr Speaker"
        return Address(
            salutation=f"Dear {office}",
            name_line=name_line,
            rule=_with_note("office: Speaker", note),
            post_lines=("Speaker of the House of Commons",),
        )
    name, rule = salutation_name(person, style=style, overrides=overrides)
    return Address(salutation=f"Dear {name}", name_line=name_line, rule=_with_note(rule, note))


# The office a minister is addressed by after "Dear", by Civil Service convention for letters to ministers: the first
# phrase a post title starts with gives the office; a lower number is the more senior office, and the most senior
# office a person holds decides ("Deputy Prime Minister and Secretary of State for Justice" is "Dear Deputy Prime
# Minister"). The Leader of either House is written to as Leader of the House, not by the sinecure that often goes
# with it (Lord Privy Seal, Lord President of the Council). Every other minister, whips and Lords in waiting among
# them, is "Dear Minister".
_OFFICES: tuple[tuple[str, str, int], ...] = (
    ("Prime Minister", "Prime Minister", 0),
    ("Deputy Prime Minister", "Deputy Prime Minister", 1),
    ("Chancellor of the Exchequer", "Chancellor", 2),
    ("Secretary of State", "Secretary of State", 3),
    ("Leader of the House of Commons", "Leader of the House", 3),
    ("Leader of the House of Lords", "Leader of the House", 3),
    ("Chief Secretary to the Treasury", "Chief Secretary", 4),
    ("Attorney General", "Attorney General", 4),
    ("Solicitor General", "Solicitor General", 4),
    ("Advocate General", "Advocate General", 4),
    ("Chief Whip", "Chief Whip", 5),
    ("Paymaster General", "Paymaster General", 5),
)
_MINISTER = ("Minister", 9)


def _office(title: str) -> tuple[str, int]:
    """Return the office one post title is addressed by, and its seniority."""
    for phrase, office, rank in _OFFICES:
        if title.startswith(phrase):
            return office, rank
    return _MINISTER


def office_salutation(post_titles: Sequence[str], rank: str = "") -> str:
    """Return the office a minister is addressed by after "Dear": "Secretary of State", "Chancellor", "Minister" ...

    The most senior office among all the person's posts decides (see _OFFICES); among equals, the first title (the
    caller orders them most senior first). `rank` (IfG rank_equivalence: PM, DPM, SoS, MoS, PUSS, Parl.) is used only
    when no post title is given.
    """
    titles = [_squash(title) for title in post_titles if title.strip()]
    if not titles:
        return {"PM": "Prime Minister", "DPM": "Deputy Prime Minister"}.get(rank, "Minister")
    offices = [_office(title) for title in titles]
    return min(offices, key=lambda office: office[1])[0]


def address_minister(
    person: Person,
    post_titles: Sequence[str],
    rank: str,
    *,
    opposition: bool = False,
    style: str = "formal",
    overrides: Mapping[int, OverrideRow] | None = None,
) -> Address:
    """Return how a letter to a (shadow) minister at their department addresses them.

    Government: "Dear Secretary of State" / "Dear Minister" (see `office_salutation`). Opposition: a shadow
    minister holds no office of state, so the salutation is personal, as for an MP ("Dear Dr Johnson"; a
    shadow Secretary of State is not "Secretary of State"). In both, `name_line` is the full title ("Rt Hon"
    only where the Members API gives it; "MP" for the Commons, "The Lord Hermer" for a peer) and `post_lines`
    holds the post titles in the order given, to print under the name line before the department's address.
    """
    _check_style(style)
    posts = tuple(dict.fromkeys(_squash(p) for p in post_titles if p.strip()))
    name_line, note = _name_line(person, overrides)
    if opposition:
        name, rule = salutation_name(person, style=style, overrides=overrides)
    else:
        name = office_salutation(posts, rank)
        rule = f"office: {name}"
    return Address(salutation=f"Dear {name}", name_line=name_line, rule=_with_note(rule, note), post_lines=posts)


# --- the overrides file ----------------------------------------------------------------------------------


def load_overrides(path: Path) -> dict[int, OverrideRow]:
    """Return the rows of an address_overrides.csv by member id ({} if the campaign has no such file).

    Columns: member_id,salutation,name_line,note. An empty cell keeps the derived form. The salutation is the
    name after "Dear" ("Sir Lindsay"; a leading "Dear " and a trailing comma are tolerated and removed).
    """
    if not path.exists():
        return {}
    name = str(path)
    try:
        limits.check_file(path, limits.CSV_BYTES, "the CSV file")
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot be read ({exc.strerror})") from None
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [column.strip() for column in reader.fieldnames or []]
    if not header:
        raise DataError(f"{name}:1: empty file; expected the header {','.join(OVERRIDE_COLUMNS)}")
    for column in header:
        if column not in OVERRIDE_COLUMNS:
            raise DataError(f"{name}:1: unknown column {column!r} (expected {','.join(OVERRIDE_COLUMNS)})")
    for column in ("member_id", "salutation", "name_line"):
        if column not in header:
            raise DataError(f"{name}:1: missing column {column!r}")
    reader.fieldnames = header
    rows: dict[int, OverrideRow] = {}
    lines: dict[int, int] = {}
    for record in reader:
        line = reader.line_num
        if None in record:
            raise DataError(f"{name}:{line}: more fields than the {len(header)} columns of the header")
        limits.check_row(record, f"{name}:{line}")
        cells = {key: _squash(read_cell(value or "")) for key, value in record.items()}
        if not any(cells.values()):
            continue
        raw_id = cells.get("member_id", "")
        if not re.fullmatch(r"[0-9]+", raw_id) or int(raw_id) == 0:
            raise DataError(f"{name}:{line}: member_id {raw_id!r} is not a number")
        member_id = int(raw_id)
        if member_id in rows:
            raise DataError(f"{name}:{line}: member_id {member_id} is already overridden on line {lines[member_id]}")
        salutation = cells.get("salutation", "").rstrip(",").strip()
        if salutation.lower().startswith("dear "):
            salutation = salutation[5:].strip()
        if _FORBIDDEN_IN_SALUTATION.search(salutation):
            raise DataError(f"{name}:{line}: salutation {salutation!r} must not contain 'MP' or 'Rt Hon'")
        name_line = cells.get("name_line", "")
        postal = tuple(part.strip() for part in cells.get("address", "").split("|") if part.strip())
        if not salutation and not name_line and not postal:
            raise DataError(
                f"{name}:{line}: member_id {member_id} overrides nothing (salutation, name_line and address are empty)"
            )
        rows[member_id] = OverrideRow(member_id, salutation, name_line, cells.get("note", ""), postal)
        lines[member_id] = line
    return rows
