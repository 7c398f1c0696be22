"""The campaign report: a hex map of the 650 constituencies and the counts behind it, as static HTML and SVG.

`outreach report` reads the snapshot, the campaign, the contact log and (optionally) an outbox, and writes
`index.html` (four maps — contact, MPCE sites, party, asks — with legends and tables, inline CSS and SVG, no
script and no network) and `map.svg` (one of the maps, for slides; `--png` also renders it as `map.png`).
It never writes to the contact log, the snapshot or the outbox: with no contact log yet, every seat is
"not contacted" and no log file is created.

The hex map is Open Innovations' 2024 constituency hexjson (data/README.md), layout "odd-r": pointy-topped
hexagons, rows shifted right by half a hexagon when r is odd, and r counting *upwards* (their renderer,
oi.hexmap.js, draws a cell at y = -r), so Scotland has the largest r. Cell corners are computed on a lattice of
half-widths and half-sides, where every corner is a pair of whole numbers: edges shared by two cells then match
exactly, which is how a nation's outline is found (the edges of its cells that no neighbour in the same nation
shares).
"""

from __future__ import annotations

import html
import math
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

from outreach import outbox as outboxes
from outreach import similarity as similarities
from outreach.campaign import Campaign
from outreach.errors import DataError, OutputError
from outreach.files import write_bytes_atomically
from outreach.ledger import Contact, Ledger
from outreach.members import Member
from outreach.sites import Constituency, local_sites
from outreach.snapshot import Snapshot


class Measure(StrEnum):
    """What the seats of a map are coloured by."""

    contact = "contact"
    sites = "sites"
    party = "party"
    asks = "asks"


MEASURE_TITLES = {
    Measure.contact: "Contact",
    Measure.sites: "MPCE sites in the seat",
    Measure.party: "Party",
    Measure.asks: "Lead ask",
}

# Contact states, best first: a seat shows the best state across its MP's letters in this campaign.
# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), greens for replies.
CONTACT_STATES: tuple[tuple[str, str, str], ...] = (
    ("replied_meeting", "replied: meeting", "#00441b"),
    ("replied_substantive", "replied: substantive", "#238b45"),
    ("replied_acknowledgement", "replied: acknowledgement", "#74c476"),
    ("replied_declined", "replied: declined", "#CC79A7"),
    ("replied_none", "replied: no outcome", "#c7e9c0"),
    ("sent", "sent, no reply yet", "#0072B2"),
    ("failed", "failed or uncertain", "#E69F00"),
    ("drafted", "drafted (in the outbox)", "#9ecae1"),
    ("not_contacted", "not contacted", "#e4e4e4"),
)
CONTACT_RANK = {key: rank for rank, (key, _, _) in enumerate(CONTACT_STATES)}
CONTACT_LABEL = {key: label for key, label, _ in CONTACT_STATES}
# The breakdown tables fold the reply outcomes into one column.
STATE_GROUPS: tuple[tuple[str, str], ...] = (
    ("replied", "replied"),
    ("sent", "sent"),
    ("failed", "failed or uncertain"),
    ("drafted", "drafted"),
    ("not_contacted", "not contacted"),
)

# The best MPCE site in a seat, by the ranking letters use (outreach.sites.SITE_RANK).
SITE_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("radiotherapy", "radiotherapy centre", "#D55E00"),
    ("acute", "major acute hospital or stroke unit", "#0072B2"),
    ("imaging", "diagnostic centre with imaging", "#56B4E9"),
    ("none", "none of these", "#e4e4e4"),
)

# Conventional party colours (as used by Parliament's and the broadcasters' election maps).
PARTY_COLOURS = {
    "Labour": "#E4003B",
    "Labour (Co-op)": "#B3002E",
    "Conservative": "#0087DC",
    "Liberal Democrat": "#FAA61A",
    "Scottish National Party": "#FDF38E",
    "Reform UK": "#12B6CF",
    "Green Party": "#02A95B",
    "Plaid Cymru": "#005B54",
    "Democratic Unionist Party": "#D46A4C",
    "Sinn Féin": "#326760",
    "Social Democratic & Labour Party": "#2AA82C",
    "Alliance": "#F6CB2F",
    "Ulster Unionist Party": "#48A5EE",
    "Traditional Unionist Voice": "#0C3A6A",
    "Independent": "#9a9a9a",
    "Speaker": "#404040",
}
OTHER_PARTY_COLOURS = ("#8c564b", "#7b4173", "#393b79", "#637939", "#8c6d31", "#843c39", "#5254a3")
# Paul Tol's "bright" scheme: six asks told apart with any colour vision.
ASK_COLOURS = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB")
VACANT = ("vacant", "vacant seat", "#ffffff")

# Geometry: a cell's corners sit on a lattice of (half a hexagon's width, half its side), in pixels.
SIDE = 10.0
HALF_WIDTH = SIDE * math.sqrt(3) / 2
HALF_SIDE = SIDE / 2
CORNERS = ((0, -2), (1, -1), (1, 1), (0, 2), (-1, 1), (-1, -1))  # clockwise from the top, in lattice units
MARGIN = 12.0
# Fonts most machines have, by platform; Typst (for --png) takes the first one installed.
FONTS = "Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"
TITLE_HEIGHT = 40.0
LEGEND_WIDTH = 330.0
LEGEND_CHARACTER_WIDTH = 7.5  # a generous average at 14px, to tell whether labels fit two columns


@dataclass(frozen=True)
class Seat:
    """One constituency as the report shows it: its cell, MP, and a category for every measure."""

    constituency: Constituency
    member: Member | None
    contact: str  # a CONTACT_STATES key
    site: str  # a SITE_CATEGORIES key
    asks: tuple[str, ...]  # ask ids, lead ask first

    @property
    def party(self) -> str:
        """Return the MP's party, or 'vacant'."""
        return self.member.party if self.member else VACANT[0]


@dataclass(frozen=True)
class FollowUp:
    """A letter sent with no reply after 20 working days."""

    name: str
    letter: str  # campaign/letter_id
    channels: str
    sent: date | None
    due: date


@dataclass(frozen=True)
class Category:
    """One legend entry: key, label, colour and how many seats it has."""

    key: str
    label: str
    colour: str
    count: int


@dataclass
class Report:
    """Everything the report shows, gathered once from the snapshot, campaign, contact log and outbox."""

    campaign: Campaign
    snapshot: Snapshot
    generated: datetime
    seats: list[Seat]
    unseated: Counter[str]  # contact state of each recipient with no seat (peers, former MPs)
    letters_sent: int
    outcomes: Counter[str]  # latest reply outcome per replied letter
    asks_sent: Counter[str]  # ask id -> letters sent with it
    followups: list[FollowUp]
    outbox: Path | None
    drafted_letters: int
    similarity: similarities.Similarity | None
    similarity_note: str
    logged: bool  # whether a contact log exists
    party_colours: dict[str, str] = field(default_factory=dict)
    letter_names: dict[str, str] = field(default_factory=dict)  # letter id -> recipient, from the outbox's manifest

    @property
    def letters_replied(self) -> int:
        """Return how many sent letters have a reply recorded."""
        return sum(self.outcomes.values())

    @property
    def reply_rate(self) -> float | None:
        """Return replied / sent letters, or None when nothing was sent."""
        return self.letters_replied / self.letters_sent if self.letters_sent else None

    def categories(self, measure: Measure) -> list[Category]:
        """Return the legend of a measure: every category in order, with its seat count."""
        counts = Counter(self.category(seat, measure) for seat in self.seats)
        if measure is Measure.contact:
            entries = [(key, label, colour) for key, label, colour in CONTACT_STATES]
        elif measure is Measure.sites:
            entries = list(SITE_CATEGORIES)
        elif measure is Measure.party:
            parties = sorted((key for key in counts if key != VACANT[0]), key=lambda party: (-counts[party], party))
            entries = [(party, party, self.party_colour(party)) for party in parties]
        else:
            ordered = sorted((key for key in counts if key in self.campaign.asks), key=lambda ask: (-counts[ask], ask))
            entries = [(ask, self.campaign.asks[ask].title, self.ask_colour(ask)) for ask in ordered]
            if counts.get("none"):
                entries.append(("none", "no asks", "#e4e4e4"))
        if counts.get(VACANT[0]):
            entries.append(VACANT)
        # A zero is worth showing for the fixed scales (contact, sites), not for parties or asks nobody has.
        return [Category(key, label, colour, counts.get(key, 0)) for key, label, colour in entries]

    def category(self, seat: Seat, measure: Measure) -> str:
        """Return the category key a seat takes in a measure."""
        if seat.member is None and measure is not Measure.sites:
            return VACANT[0]
        if measure is Measure.contact:
            return seat.contact
        if measure is Measure.sites:
            return seat.site
        if measure is Measure.party:
            return seat.party
        return seat.asks[0] if seat.asks else "none"

    def party_colour(self, party: str) -> str:
        """Return a party's colour: the conventional one, else one of a few muted colours kept per party."""
        if party in PARTY_COLOURS:
            return PARTY_COLOURS[party]
        if party not in self.party_colours:
            self.party_colours[party] = OTHER_PARTY_COLOURS[len(self.party_colours) % len(OTHER_PARTY_COLOURS)]
        return self.party_colours[party]

    def ask_colour(self, ask: str) -> str:
        """Return an ask's colour, fixed by its place in campaign.toml."""
        index = list(self.campaign.asks).index(ask) if ask in self.campaign.asks else len(ASK_COLOURS) - 1
        return ASK_COLOURS[index % len(ASK_COLOURS)]

    def tooltip(self, seat: Seat) -> str:
        """Return a seat's tooltip: seat and nation, MP and party, contact state, sites and asks."""
        place = seat.constituency
        if seat.member is None:
            who = "vacant seat: no MP"
        else:
            who = f"{seat.member.name} ({seat.member.party}{', new in 2024' if seat.member.is_new else ''})"
        site_label = {key: label for key, label, _ in SITE_CATEGORIES}[seat.site]
        asks = "; ".join(self.campaign.asks[ask].title if ask in self.campaign.asks else ask for ask in seat.asks)
        lines = [
            f"{place.name} ({place.nation})",
            who,
            f"contact: {CONTACT_LABEL[seat.contact] if seat.member else 'vacant'}",
            f"MPCE sites: {site_label}",
        ]
        if seat.member is not None:
            lines.append(f"asks: {asks or 'none'}")
        return "\n".join(lines)


# -- gathering --------------------------------------------------------------------------------------------------


def _contact_state(contact: Contact) -> str:
    """Return the CONTACT_STATES key one contact (one letter by one channel) is in."""
    if contact.reply_outcome:
        return f"replied_{contact.reply_outcome}"
    if contact.state == "sent":
        return "sent"
    if contact.state == "queued":  # queued for e-mail, not yet tried: still only drafted
        return "drafted"
    return "failed"  # failed, uncertain, or sending (in flight, or left by a crash)


def _best(states: Iterable[str]) -> str:
    return min(states, key=lambda state: CONTACT_RANK[state], default="not_contacted")


def _site_category(snapshot: Snapshot, code: str) -> str:
    types = {
        "imaging" if site.site_type == "community_diagnostic_centre" and site.has_imaging else site.site_type
        for site in local_sites(snapshot.sites_in(code), code)
    }
    if "radiotherapy_centre" in types:
        return "radiotherapy"
    if types & {"acute_hospital", "acute_stroke_unit"}:
        return "acute"
    return "imaging" if "imaging" in types else "none"


@dataclass(frozen=True)
class _Outbox:
    rows: list[outboxes.ManifestRow]
    seat_asks: dict[str, tuple[str, ...]]  # constituency code -> asks of its seat letter


def _read_outbox(folder: Path, campaign: Campaign) -> _Outbox:
    rows = outboxes.read_manifest(folder, ("kind", "asks", "constituency_code", "markdown", "salutation"))
    for row in rows:
        other = row.cells.get("campaign", "").strip()
        if other and other != campaign.id:
            raise DataError(
                f"{row.where}: letter {row.letter_id} is from campaign '{other}', not '{campaign.id}' "
                "(give its campaign with --campaign)"
            )
    seat_asks = {
        row.cells["constituency_code"].strip(): row.asks
        for row in rows
        if row.cells["kind"].strip() == "seat" and row.cells["constituency_code"].strip()
    }
    return _Outbox(rows, seat_asks)


def _similarity(rows: Sequence[outboxes.ManifestRow], campaign: Campaign) -> tuple[similarities.Similarity | None, str]:
    """Return the near-identical figures of the outbox's letters, or None and why they cannot be computed."""
    bodies: dict[str, str] = {}
    for row in rows:
        markdown = row.file("markdown")
        if markdown is None:
            return None, "the outbox has no Markdown letters: draft with --format md to compare them"
        try:
            text = markdown.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{row.where}: cannot read letter {row.cells['markdown']} ({exc})") from None
        bodies[row.letter_id] = similarities.body(text, row.cells["salutation"], campaign.closing)
    return similarities.compare(bodies), ""


def _read_log(campaign_id: str, today: date) -> tuple[bool, list[Contact], list[tuple[Contact, date]]]:
    """Return whether a contact log exists, this campaign's contacts, and its follow-ups due; never creates it."""
    if not Ledger.exists_default():
        return False, [], []
    with Ledger.open_default() as ledger:
        return True, ledger.contacts(campaign=campaign_id), ledger.followups_due(today, campaign=campaign_id)


def gather(
    snapshot: Snapshot,
    campaign: Campaign,
    today: date,
    *,
    outbox: Path | None = None,
    generated: datetime | None = None,
) -> Report:
    """Return the report's figures for a campaign: seats with their categories, counts, follow-ups, similarity."""
    from outreach import draft
    from outreach.targeting import Selection

    drafted = _read_outbox(outbox, campaign) if outbox is not None else None
    logged, contacts, due = _read_log(campaign.id, today)

    # Every letter the campaign would write: a seat letter per MP, one per post holder (peers have no seat).
    targets = draft.targets_for(snapshot, campaign, Selection(all=True), today)
    would_ask = {
        t.constituency.code: tuple(a.ask.id for a in t.asks) for t in targets if t.kind == "seat" and t.constituency
    }
    recipients = {t.member_id for t in targets}

    states: dict[int, list[str]] = {}
    for contact in contacts:
        states.setdefault(contact.member_id, []).append(_contact_state(contact))
    if drafted is not None:
        for row in drafted.rows:
            states.setdefault(row.member_id, []).append("drafted")
    recipients |= set(states)

    seats: list[Seat] = []
    seat_members: set[int] = set()
    for code, constituency in sorted(snapshot.constituencies.items(), key=lambda item: item[1].name):
        member = snapshot.seat(code)
        asks: tuple[str, ...] = ()
        if member is not None:
            seat_members.add(member.member_id)
            asks = drafted.seat_asks[code] if drafted and code in drafted.seat_asks else would_ask.get(code, ())
        seats.append(
            Seat(
                constituency=constituency,
                member=member,
                contact=_best(states.get(member.member_id, ())) if member else "not_contacted",
                site=_site_category(snapshot, code),
                asks=asks,
            )
        )
    unseated = Counter(_best(states.get(number, ())) for number in recipients - seat_members)

    # Letter-level figures: a letter is sent if any channel delivered it, replied if any channel has a reply.
    letters: dict[str, list[Contact]] = {}
    for contact in contacts:
        letters.setdefault(contact.letter_id, []).append(contact)
    letters_sent = 0
    outcomes: Counter[str] = Counter()
    asks_sent: Counter[str] = Counter()
    for channels in letters.values():
        best = _best(_contact_state(contact) for contact in channels)
        if best == "sent" or best.startswith("replied_"):
            letters_sent += 1
            asks_sent.update({ask for contact in channels for ask in contact.asks})
        if best.startswith("replied_"):
            outcomes[best.removeprefix("replied_")] += 1

    grouped: dict[str, list[tuple[Contact, date]]] = {}
    for contact, deadline in due:
        grouped.setdefault(f"{contact.campaign}/{contact.letter_id}", []).append((contact, deadline))
    followups = sorted(
        (
            FollowUp(
                name=items[0][0].name,
                letter=letter,
                channels=", ".join(contact.channel for contact, _ in items),
                sent=min((c.sent_at.date() for c, _ in items if c.sent_at), default=None),
                due=min(deadline for _, deadline in items),
            )
            for letter, items in grouped.items()
        ),
        key=lambda item: (item.due, item.name, item.letter),
    )

    similarity, note = (None, "near-identical figures need the outbox: run the report with --outbox DIR")
    if drafted is not None:
        similarity, note = _similarity(drafted.rows, campaign)
    return Report(
        campaign=campaign,
        snapshot=snapshot,
        generated=generated or datetime.now(UTC),
        seats=seats,
        unseated=unseated,
        letters_sent=letters_sent,
        outcomes=outcomes,
        asks_sent=asks_sent,
        followups=followups,
        outbox=outbox,
        drafted_letters=len(drafted.rows) if drafted else 0,
        similarity=similarity,
        similarity_note=note,
        logged=logged,
        letter_names={row.letter_id: row.cells.get("name", "") for row in drafted.rows} if drafted else {},
    )


# -- counts -----------------------------------------------------------------------------------------------------


def _group(state: str) -> str:
    return "replied" if state.startswith("replied_") else state


def breakdown(report: Report, key: str) -> list[tuple[str, Counter[str]]]:
    """Return seats grouped by 'party', 'nation' or 'new' (new vs returning MPs), each with its state counts.

    Every group counts its seats under 'seats' and under each of STATE_GROUPS; vacant seats form their own group.
    """
    groups: dict[str, Counter[str]] = {}
    for seat in report.seats:
        if key == "nation":
            name = seat.constituency.nation
        elif seat.member is None:
            name = "vacant"
        elif key == "party":
            name = seat.member.party
        else:
            name = "new MPs" if seat.member.is_new else "returning MPs"
        counts = groups.setdefault(name, Counter())
        counts["seats"] += 1
        if seat.member is not None:
            counts[_group(seat.contact)] += 1
    return sorted(groups.items(), key=lambda item: (-item[1]["seats"], item[0]))


def contact_counts(report: Report) -> list[tuple[str, str, int, int]]:
    """Return each contact state with its seats and its recipients without a seat (peers, former MPs)."""
    seats = Counter(seat.contact for seat in report.seats if seat.member is not None)
    return [(key, label, seats.get(key, 0), report.unseated.get(key, 0)) for key, label, _ in CONTACT_STATES]


def ask_counts(report: Report) -> list[tuple[str, str, int, int, int]]:
    """Return each ask (id, title) with the seats choosing it, the seats leading with it, and letters sent with it."""
    chosen = Counter(ask for seat in report.seats for ask in seat.asks)
    lead = Counter(seat.asks[0] for seat in report.seats if seat.asks)
    return [
        (ask.id, ask.title, chosen.get(ask.id, 0), lead.get(ask.id, 0), report.asks_sent.get(ask.id, 0))
        for ask in report.campaign.asks.values()
    ]


# -- drawing ----------------------------------------------------------------------------------------------------


def _lattice(constituency: Constituency) -> tuple[int, int]:
    """Return a cell's centre in lattice units: odd rows shifted right by half a cell, r counting upwards."""
    return 2 * constituency.hex_q + (constituency.hex_r & 1), -3 * constituency.hex_r


@dataclass(frozen=True)
class _Frame:
    left: int  # lattice x of the leftmost corner
    top: int  # lattice y of the topmost corner
    map_width: float
    map_height: float

    def point(self, x: int, y: int) -> tuple[float, float]:
        return (MARGIN + (x - self.left) * HALF_WIDTH, TITLE_HEIGHT + MARGIN + (y - self.top) * HALF_SIDE)


def _frame(constituencies: Iterable[Constituency]) -> _Frame:
    centres = [_lattice(c) for c in constituencies]
    left, right = min(x for x, _ in centres) - 1, max(x for x, _ in centres) + 1
    top, bottom = min(y for _, y in centres) - 2, max(y for _, y in centres) + 2
    return _Frame(left, top, (right - left) * HALF_WIDTH, (bottom - top) * HALF_SIDE)


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _hex_path(frame: _Frame, constituency: Constituency) -> str:
    x, y = frame.point(*_lattice(constituency))
    return (
        f"M{_number(x)} {_number(y - SIDE)}l{_number(HALF_WIDTH)} {_number(HALF_SIDE)}v{_number(SIDE)}"
        f"l-{_number(HALF_WIDTH)} {_number(HALF_SIDE)}-{_number(HALF_WIDTH)}-{_number(HALF_SIDE)}v-{_number(SIDE)}z"
    )


def outline_edges(cells: Iterable[tuple[int, int]]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Return the outline of a set of cells (lattice centres) as directed corner-to-corner edges, clockwise.

    An edge two cells of the set share appears once in each direction; those cancel, and what is left is
    the boundary of the set: its coast and its borders with other sets.
    """
    edges: set[tuple[tuple[int, int], tuple[int, int]]] = set()
    for cx, cy in cells:
        corners = [(cx + dx, cy + dy) for dx, dy in CORNERS]
        for start, end in zip(corners, corners[1:] + corners[:1], strict=True):
            if (end, start) in edges:
                edges.discard((end, start))
            else:
                edges.add((start, end))
    return sorted(edges)


def _outline_path(frame: _Frame, cells: Iterable[tuple[int, int]]) -> str:
    """Return an SVG path drawing the outline of a set of cells, edges chained into runs."""
    following: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for start, end in outline_edges(cells):
        following.setdefault(start, []).append(end)
    parts: list[str] = []
    while following:
        start = next(iter(following))
        point = start
        x, y = frame.point(*point)
        parts.append(f"M{_number(x)} {_number(y)}")
        while point in following:
            nexts = following[point]
            after = nexts.pop()
            if not nexts:
                del following[point]
            x, y = frame.point(*after)
            parts.append(f"L{_number(x)} {_number(y)}" if after != start else "Z")
            point = after
            if after == start:
                break
    return "".join(parts)


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def map_svg(report: Report, measure: Measure, *, standalone: bool) -> str:
    """Return one hex map as SVG: a titled path per seat, nation outlines, and the legend with counts.

    `standalone` adds the XML namespace and a white background (for map.svg and the PNG); inline in HTML the
    page's CSS styles it.
    """
    frame = _frame(seat.constituency for seat in report.seats)
    legend = report.categories(measure)
    colours = {entry.key: entry.colour for entry in legend}
    # On its own (a slide) the map names its campaign; in the HTML page the page heading does.
    title = f"{MEASURE_TITLES[measure]} — {report.campaign.name}" if standalone else MEASURE_TITLES[measure]
    label = (
        f"Hex map of the {len(report.seats)} constituencies coloured by {MEASURE_TITLES[measure].lower()}: "
        + "; ".join(f"{entry.label} {entry.count}" for entry in legend)
    )
    # map.svg (for slides) has its legend to the right. In the page, where two maps share the width, the legend
    # goes below the map (in two columns when the labels fit), so that it is shown at a readable size.
    rows = len(legend)
    if standalone:
        legend_x, legend_y = MARGIN * 2 + frame.map_width, TITLE_HEIGHT + 8
        full_width = MARGIN * 2 + frame.map_width + LEGEND_WIDTH
        full_height = max(TITLE_HEIGHT + MARGIN * 2 + frame.map_height, legend_y + 14 + rows * 22 + 30)
        column_width = LEGEND_WIDTH
    else:
        longest = max((len(f"{entry.label} ({entry.count})") for entry in legend), default=0)
        column_width = frame.map_width / 2
        if longest * LEGEND_CHARACTER_WIDTH + 24 <= column_width:
            rows = -(-len(legend) // 2)
        legend_x, legend_y = MARGIN, TITLE_HEIGHT + MARGIN * 2 + frame.map_height + 8
        full_width = MARGIN * 2 + frame.map_width
        full_height = legend_y + 14 + rows * 22 + 30
    width, height = _number(full_width), _number(full_height)
    out = [
        f'<svg class="hexmap" data-measure="{measure.value}" viewBox="0 0 {width} {height}" '
        + (f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg" ' if standalone else "")
        + f'role="img" aria-label="{_escape(label)}" font-family="{FONTS}">',
        f"<title>{_escape(label)}</title>",
    ]
    if standalone:
        out.append(f'<rect width="{width}" height="{height}" fill="#ffffff"/>')
    out.append(f'<text x="{_number(MARGIN)}" y="26" font-size="16" font-weight="bold">{_escape(title)}</text>')
    out.append('<g class="seats" stroke="#ffffff" stroke-width="0.7">')
    for seat in report.seats:
        key = report.category(seat, measure)
        out.append(
            f'<path class="seat" data-code="{_escape(seat.constituency.code)}" data-category="{_escape(key)}" '
            f'fill="{colours[key]}" d="{_hex_path(frame, seat.constituency)}">'
            f"<title>{_escape(report.tooltip(seat))}</title></path>"
        )
    out.append("</g>")
    out.append('<g class="nations" fill="none" stroke="#1a1a1a" stroke-width="1.3" stroke-linejoin="round">')
    nations: dict[str, list[tuple[int, int]]] = {}
    for seat in report.seats:
        nations.setdefault(seat.constituency.nation, []).append(_lattice(seat.constituency))
    for nation, cells in sorted(nations.items()):
        out.append(f'<path class="nation-outline" data-nation="{_escape(nation)}" d="{_outline_path(frame, cells)}"/>')
    out.append("</g>")
    out.append(f'<g class="legend" font-size="14" transform="translate({_number(legend_x)} {_number(legend_y)})">')
    out.append(f'<text class="legend-title" y="0" font-weight="bold">{_escape(MEASURE_TITLES[measure])}</text>')
    for index, entry in enumerate(legend):
        column, row = divmod(index, rows)
        x, y = _number(column * column_width), 14 + row * 22
        out.append(
            f'<g class="legend-entry" data-category="{_escape(entry.key)}" data-count="{entry.count}">'
            f'<rect x="{x}" y="{y}" width="16" height="16" fill="{entry.colour}" stroke="#555555" stroke-width="0.5"/>'
            f'<text x="{_number(column * column_width + 22)}" y="{y + 13}">'
            f"{_escape(entry.label)} ({entry.count})</text></g>"
        )
    foot = 14 + rows * 22 + 18
    out.append(
        f'<text class="legend-note" y="{foot}" font-size="11" fill="#555555">'
        f"{_escape(report.snapshot.describe())}</text>"
    )
    out.append("</g></svg>")
    return "\n".join(out)


# -- the HTML page ------------------------------------------------------------------------------------------------

STYLE = """
body { font-family: Helvetica, Arial, sans-serif; color: #1a1a1a; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
.meta { color: #555; margin-top: 0; }
.maps { display: grid; grid-template-columns: repeat(auto-fit, minmax(32rem, 1fr)); gap: 1.5rem; }
figure { margin: 0; }
figure svg { width: 100%; height: auto; }
figcaption { font-size: .9rem; color: #444; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; font-size: .95rem; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem 2.5rem; padding: 0; list-style: none; }
.figures li strong { display: block; font-size: 1.5rem; }
.note { color: #555; }
"""

MAP_CAPTIONS = {
    Measure.contact: "Each seat shows the best state of its MP's letters in this campaign: a reply (by outcome), "
    "sent, failed or uncertain, drafted in the outbox given, or not contacted.",
    Measure.sites: "The most relevant MPCE site in each seat: a radiotherapy centre, a major acute hospital or "
    "stroke unit, a community diagnostic centre with imaging, or none of these.",
    Measure.party: "The party of each seat's MP in the snapshot.",
    Measure.asks: "The first of the asks chosen for each seat's letter: from the outbox's manifest where the seat "
    "was drafted, otherwise as the campaign's rules choose them.",
}


def _table(table_id: str, caption: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Return an HTML table; numbers are right-aligned and every cell is escaped."""
    cells = "".join(
        f'<th scope="col"{" class=number" if index else ""}>{_escape(name)}</th>' for index, name in enumerate(header)
    )
    body = []
    for row in rows:
        parts = []
        for index, value in enumerate(row):
            if index == 0:
                parts.append(f'<th scope="row">{_escape(str(value))}</th>')
            elif isinstance(value, int | float):
                parts.append(f'<td class="number">{_escape(str(value))}</td>')
            else:
                parts.append(f"<td>{_escape(str(value))}</td>")
        body.append("<tr>" + "".join(parts) + "</tr>")
    return (
        f'<table id="{table_id}"><caption>{_escape(caption)}</caption><thead><tr>{cells}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def percent(value: float | None) -> str:
    """Return a rate as people read it: '—' when undefined, one decimal place below 10% (2 of 774 is '0.3%')."""
    if value is None:
        return "—"
    return f"{value:.1%}" if 0 < value < 0.1 else f"{value:.0%}"


def html_page(report: Report) -> str:
    """Return the whole report as one self-contained HTML page (inline CSS and SVG; no script, no network)."""
    campaign = report.campaign
    generated = report.generated.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    seats_with_mp = sum(1 for seat in report.seats if seat.member is not None)
    written_to = sum(1 for seat in report.seats if seat.member and _group(seat.contact) in ("replied", "sent"))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_escape(campaign.name)} — outreach report</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<header><h1>{_escape(campaign.name)}</h1>",
        f'<p class="meta">Campaign <code>{_escape(campaign.id)}</code> · '
        f'<span id="snapshot">{_escape(report.snapshot.describe())}</span> · '
        f'snapshot date <time id="snapshot-date">{report.snapshot.built.isoformat()}</time> · '
        f'generated <time id="generated">{generated}</time>'
        + (f" · outbox <code>{_escape(str(report.outbox))}</code>" if report.outbox else "")
        + "</p>",
        "</header><main>",
    ]
    if not report.logged:
        parts.append('<p class="note" id="no-log">No contact log yet: nothing has been sent or logged.</p>')
    parts.append('<ul class="figures" id="figures">')
    for figure_id, label, value in (
        ("seats", "seats with an MP", f"{seats_with_mp} of {len(report.seats)}"),
        ("written-to", "seats written to (sent or replied)", str(written_to)),
        ("letters-sent", "letters sent", str(report.letters_sent)),
        ("letters-replied", "replies", str(report.letters_replied)),
        ("reply-rate", "reply rate (replied / sent)", percent(report.reply_rate)),
        ("followups-due", "follow-ups due", str(len(report.followups))),
    ):
        parts.append(f'<li id="figure-{figure_id}"><strong>{_escape(value)}</strong>{_escape(label)}</li>')
    parts.append("</ul>")

    parts.append('<section class="maps" aria-label="Hex maps">')
    for measure in Measure:
        parts.append(f'<figure id="map-{measure.value}">{map_svg(report, measure, standalone=False)}')
        parts.append(f"<figcaption>{_escape(MAP_CAPTIONS[measure])}</figcaption></figure>")
    parts.append("</section>")

    parts.append("<section><h2>Contact</h2>")
    rows = [(label, seats, others, seats + others) for _, label, seats, others in contact_counts(report)]
    parts.append(
        _table(
            "counts-state",
            "Recipients by their best contact state",
            ("state", "seats", "post holders without a seat", "total"),
            rows,
        )
    )
    parts.append(
        f'<p id="reply-rate">Reply rate: {report.letters_replied} replies to {report.letters_sent} letters sent '
        f"({percent(report.reply_rate)}).</p>"
    )
    parts.append(
        _table(
            "counts-outcome",
            "Replies by outcome (the latest reply to each letter)",
            ("outcome", "letters"),
            [(outcome, report.outcomes.get(outcome, 0)) for outcome in _outcomes()],
        )
    )
    parts.append(
        _table(
            "followups",
            f"Follow-ups due: no reply after 20 working days ({len(report.followups)})",
            ("member", "letter", "channel", "sent", "reply was due"),
            [
                (
                    item.name,
                    item.letter,
                    item.channels,
                    item.sent.isoformat() if item.sent else "",
                    item.due.isoformat(),
                )
                for item in report.followups
            ],
        )
    )
    parts.append("</section><section><h2>Seats</h2>")
    header = ("", "seats", *(label for _, label in STATE_GROUPS))
    for key, table_id, caption in (
        ("nation", "counts-nation", "Seats by nation"),
        ("party", "counts-party", "Seats by party"),
        ("new", "counts-new", "New and returning MPs"),
    ):
        groups: list[tuple[object, ...]] = [
            (name, counts["seats"], *(counts.get(group, 0) for group, _ in STATE_GROUPS))
            for name, counts in breakdown(report, key)
        ]
        parts.append(_table(table_id, caption, (key if key != "new" else "MPs", *header[1:]), groups))
    parts.append(
        _table(
            "counts-ask",
            "Asks: seats whose letter has the ask, seats leading with it, letters sent with it",
            ("ask", "seats", "lead ask", "letters sent"),
            [(title, chosen, lead, sent) for _, title, chosen, lead, sent in ask_counts(report)],
        )
    )
    parts.append("</section><section><h2>Near-identical letters</h2>")
    parts.append(_similarity_html(report))
    parts.append("</section></main></body></html>")
    return "\n".join(parts) + "\n"


def _outcomes() -> tuple[str, ...]:
    from outreach.ledger import OUTCOMES

    return OUTCOMES


def _similarity_html(report: Report) -> str:
    found = report.similarity
    if found is None:
        return f'<p class="note" id="similarity">{_escape(report.similarity_note)}</p>'
    summary = (
        f'<p id="similarity">{found.letters} letters, {found.pairs:,} pairs compared (word 5-gram Jaccard of the '
        f"bodies): median similarity <strong>{found.median:.3f}</strong>, maximum "
        f"<strong>{found.maximum:.3f}</strong>; <strong>{len(found.above)}</strong> "
        f"{'pair' if len(found.above) == 1 else 'pairs'} above "
        f"{found.threshold:.2f}.</p>"
    )
    shown = found.above[:50]
    table = _table(
        "similar-pairs",
        f"Pairs above {found.threshold:.2f}"
        + (f" (the first {len(shown)} of {len(found.above)})" if len(found.above) > len(shown) else ""),
        ("letter", "recipient", "letter", "recipient", "similarity"),
        [
            (
                pair.first,
                report.letter_names.get(pair.first, ""),
                pair.second,
                report.letter_names.get(pair.second, ""),
                f"{pair.score:.3f}",
            )
            for pair in shown
        ],
    )
    return summary + table


# -- writing ------------------------------------------------------------------------------------------------------


def png_bytes(svg: str, ppi: int = 150) -> bytes:
    """Return a map's SVG rendered as PNG by Typst, page cut to the map."""
    import typst

    with tempfile.TemporaryDirectory(prefix="outreach-map-") as folder:
        root = Path(folder)
        (root / "map.svg").write_text(svg, encoding="utf-8")
        (root / "map.typ").write_text(
            '#set page(width: auto, height: auto, margin: 0pt, fill: white)\n#image("map.svg")\n', encoding="utf-8"
        )
        try:
            data = typst.compile(str(root / "map.typ"), root=str(root), format="png", ppi=ppi)
        except typst.TypstError as exc:  # a bug in the SVG we wrote, not the user's input
            raise RuntimeError(f"Typst could not render the map: {exc}") from exc
    if isinstance(data, list):  # one PNG per page; the map is one page
        data = data[0]
    return bytes(data)


@dataclass(frozen=True)
class Written:
    """The files a report wrote."""

    index: Path
    map_svg: Path
    map_png: Path | None


def write(report: Report, out: Path, *, measure: Measure, png: bool = False) -> Written:
    """Write index.html and map.svg (and map.png) into `out`, each file atomically; return their paths."""
    out = out.expanduser()
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the folder ({exc.strerror})") from None
    svg = '<?xml version="1.0" encoding="UTF-8"?>\n' + map_svg(report, measure, standalone=True) + "\n"
    picture = png_bytes(svg) if png else None
    write_bytes_atomically(out / "map.svg", svg.encode("utf-8"))
    if picture is not None:
        write_bytes_atomically(out / "map.png", picture)
    write_bytes_atomically(out / "index.html", html_page(report).encode("utf-8"))
    return Written(out / "index.html", out / "map.svg", out / "map.png" if picture is not None else None)


def summary(report: Report) -> list[tuple[str, int]]:
    """Return the seats in each contact state that has any, for the command's one-screen summary."""
    counts = Counter(seat.contact if seat.member else VACANT[0] for seat in report.seats)
    labels: Mapping[str, str] = {**CONTACT_LABEL, VACANT[0]: VACANT[1]}
    order = [key for key, _, _ in CONTACT_STATES] + [VACANT[0]]
    return [(labels[key], counts[key]) for key in order if counts.get(key)]
