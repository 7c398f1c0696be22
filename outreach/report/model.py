"""The report's value: `Report` (seats, letters, follow-ups, similarity), its measures and legends, and its counts.

A seat takes one category in each measure (contact, MPCE sites, party, lead ask); the legend of a measure lists
the categories in order with their colours and seat counts. `outreach.report.gather` fills a Report; `hexmap` and
`page` draw it. Nothing here reads or writes a file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the command line reads Measure from here without loading the rest
    from outreach import similarity as similarities
    from outreach.campaign import Campaign
    from outreach.members import Member
    from outreach.sites import Constituency
    from outreach.snapshot import Snapshot
    from outreach.targeting import Ranked


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
    # Who to write to first: the members the campaign's [[interest]] rules rank highest (outreach.targeting).
    ranking: list[Ranked] = field(default_factory=list)

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


def group(state: str) -> str:
    """Return the STATE_GROUPS key of a CONTACT_STATES key: the reply outcomes fold into 'replied'."""
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
            counts[group(seat.contact)] += 1
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


def summary(report: Report) -> list[tuple[str, int]]:
    """Return the seats in each contact state that has any, for the command's one-screen summary."""
    counts = Counter(seat.contact if seat.member else VACANT[0] for seat in report.seats)
    labels: Mapping[str, str] = {**CONTACT_LABEL, VACANT[0]: VACANT[1]}
    order = [key for key, _, _ in CONTACT_STATES] + [VACANT[0]]
    return [(labels[key], counts[key]) for key in order if counts.get(key)]
