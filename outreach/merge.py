"""Merge: each target's facts into its campaign template, giving a finished `Letter` and a marked preview."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jinja2

from outreach import hooks
from outreach.campaign import Campaign, Enclosure, Figure
from outreach.letters import Letter, assemble, environment, render_template
from outreach.sites import CentreChoice, Nearest, Site
from outreach.targeting import LocalPicture, Target, post_title, with_article

SITE_LABELS = {
    "radiotherapy_centre": "radiotherapy centre",
    "acute_stroke_unit": "hospital with an acute stroke team",
    "acute_hospital": "acute hospital",
    "community_diagnostic_centre": "community diagnostic centre",
    "elective_surgical_hub": "elective surgical hub",
    "nhs_hospital_site": "NHS hospital",
    "proposed_isotope_reactor": "proposed isotope reactor",
}
# A hospital's category, in a letter, is only what the list that names it says (issue 11):
# - acute_stroke_unit: the 2019 list of England's routinely-admitting acute stroke teams
#   (MichaelAllen1966/1912_stroke_unit_location_with_outcomes `data/hospitals.csv`, MIT) says the hospital's stroke team
#   routinely admits acute stroke patients, and marks 24/7 neuroscience centres (`24NSC`); nothing about CT hours or an
#   emergency department.
STROKE_TEAM_WORDS = "a hospital whose acute stroke team routinely admits stroke patients"
NEUROSCIENCE_CENTRE_WORDS = "a 24-hour neuroscience centre"
# - acute_hospital: the list of hospitals in Scotland, Wales and Northern Ireland compiled for the project
#   (../shared/data/nhs/acute_hospitals_scotland_wales_ni_pcon24.csv, carried in sites.csv `notes`) states each site's
#   `type`; the words say that type and nothing more. A type not listed here is called only "a hospital".
ACUTE_TYPE_WORDS = {
    "major acute": "a major acute hospital",
    "major acute / regional cancer centre": "a major acute hospital and regional cancer centre",
    "major acute / cancer centre": "a major acute hospital and cancer centre",
    "major acute / regional trauma": "a major acute hospital and regional trauma centre",
    "major acute (critical care centre)": "a major acute hospital and critical care centre",
    "major acute (incl. Royal Hospital for Children)": "a major acute hospital, with the Royal Hospital for Children",
    "acute": "an acute hospital",
    "acute (local general)": "a local general hospital",
    "acute / regional cancer centre": "an acute hospital and regional cancer centre",
    "acute / Lanarkshire Beatson": "an acute hospital with the Lanarkshire Beatson",
    "acute / NI Cancer Centre": "an acute hospital with the Northern Ireland Cancer Centre",
    "acute / North Wales Cancer Treatment Centre": "an acute hospital with the North Wales Cancer Treatment Centre",
    "acute / North West Cancer Centre": "an acute hospital with the North West Cancer Centre",
    "acute / South West Wales Cancer Centre": "an acute hospital with the South West Wales Cancer Centre",
    "island general": "an island general hospital",
    "rural general": "a rural general hospital",
    "local general / Velindre satellite radiotherapy": (
        "a local general hospital with Velindre's satellite radiotherapy unit"
    ),
    "national elective / cardiothoracic": "a national hospital for elective and cardiothoracic care",
    "specialist cancer centre": "a specialist cancer centre",
}
UNLISTED_CATEGORY_WORDS = "a hospital"
RECENT_APPOINTMENT = timedelta(days=183)  # congratulate on a post only within about six months of taking it


@dataclass(frozen=True)
class Merged:
    """A target's finished letter, with its Markdown still marked where the words were personalised."""

    target: Target
    letter: Letter
    marked: str
    figures: tuple[Figure, ...] = ()  # the campaign figures the letter states, in the order it first states them
    enclosures: tuple[Enclosure, ...] = ()  # the PDFs that go with it


class FigureCalls:
    """The `figure("id")` a template calls: returns the figure's words and records that the letter used it."""

    def __init__(self, figures: Mapping[str, Figure]) -> None:
        self.figures = figures
        self.used: dict[str, Figure] = {}

    def __call__(self, figure_id: str) -> str:
        figure = self.figures.get(figure_id)
        if figure is None:
            known = ", ".join(self.figures) or "none"
            # A Jinja error, so the message names the template file and line that asked for it.
            raise jinja2.TemplateRuntimeError(f"unknown figure '{figure_id}' (campaign.toml [figures]: {known})")
        self.used.setdefault(figure_id, figure)
        return figure.text


def _area(nation: str, region: str) -> str:
    """Return the part of the UK a seat is in, as a sentence names it: 'the North West', 'London', 'Wales'."""
    if nation != "England" or not region:
        return nation
    return region if region == "London" else f"the {region}"


def category(site: Site) -> str:
    """Return what a letter may call a hospital, as its source states it ("an acute hospital"); "" for other sites."""
    if site.site_type == "acute_stroke_unit":
        return STROKE_TEAM_WORDS + (f", and {NEUROSCIENCE_CENTRE_WORDS}" if site.neuroscience_centre else "")
    if site.site_type == "acute_hospital":
        return ACUTE_TYPE_WORDS.get(site.notes, UNLISTED_CATEGORY_WORDS)
    return ""


def _site(site: Site, letter_date: date) -> dict[str, Any]:
    """Return what a template may say about one site."""
    linac_phrase = site.linac_phrase(letter_date)  # None when the count is missing or undated: never cited
    return {
        "name": site.letter_name,
        "listed_name": site.name,
        "organisation": site.organisation,
        "type": site.site_type,
        "type_label": SITE_LABELS.get(site.site_type, site.site_type.replace("_", " ")),
        "category": category(site),
        "role": site.role,
        "postcode": site.postcode,
        "linacs": site.linacs if linac_phrase else None,
        "linac_phrase": linac_phrase,
        "replacement_2025": site.replacement_2025,
        "has_imaging": site.has_imaging,
        "neuroscience_centre": site.neuroscience_centre,
        "low_confidence": site.low_confidence,
        "where": "serving" if site.low_confidence else "in",
    }


def _nearest(found: Nearest | None, letter_date: date, choice: CentreChoice | None = None) -> dict[str, Any] | None:
    """Return what a template may say about the radiotherapy centre that serves a seat, or the nearest hospital.

    `which` names the centre as truly as its source allows: a Scottish, Welsh or Northern Irish board or catchment
    says which centre serves it, so that is the people's "radiotherapy centre" (Orkney's is Aberdeen, though
    Inverness is nearer); an English Cancer Alliance only holds its centres, so one is their "nearest radiotherapy
    centre in the Wessex Cancer Alliance" when another centre is nearer; one chosen by distance alone, or also the
    nearest of all, is their "nearest radiotherapy centre".
    """
    if found is None:
        return None
    which = "nearest radiotherapy centre"
    if choice is not None and choice.by_network:
        if not choice.network.endswith("Cancer Alliance"):
            which = "radiotherapy centre"
        elif not choice.nearest_of_all:
            which = f"nearest radiotherapy centre in the {choice.network}"
    return {
        **_site(found.site, letter_date),
        "which": which,
        "km": round(found.km),
        "miles": round(found.miles),
        "miles_text": f"{round(found.miles)} mile{'' if round(found.miles) == 1 else 's'}",
        "direction": found.direction,
    }


def _alliance(picture: LocalPicture) -> dict[str, Any] | None:
    """Return the seat's Cancer Alliance and the radiotherapy centres it names (letter names), or None.

    Only England's alliances (NCPES's names, "Wessex Cancer Alliance") are named in a letter; elsewhere the network
    field describes a health board and its regional network, not a name a sentence can use.
    """
    if not picture.network.endswith("Cancer Alliance") or not picture.network_centres:
        return None
    return {"name": picture.network, "names": sorted(site.letter_name for site in picture.network_centres)}


def _local(picture: LocalPicture | None, letter_date: date) -> dict[str, Any] | None:
    """Return what a template may say about the MPCE sites of a seat."""
    if picture is None:
        return None
    sites = [
        {**_site(site, letter_date), "in_network": site in picture.network_centres}
        for site in picture.sites[:3]
    ]
    return {
        "sites": sites,
        "top": sites[0] if sites else None,
        "alliance": _alliance(picture),
        "radiotherapy": [_site(site, letter_date) for site in picture.radiotherapy],
        "nearest_centre": _nearest(picture.nearest_centre, letter_date, picture.centre_choice),
        "nearest_hospital": _nearest(picture.nearest_hospital, letter_date),
        "proposed_types": sorted({site.site_type for site in picture.proposed}),
        "low_confidence": picture.low_confidence,
    }


def _post_facts(sentences: Any, titles: list[str]) -> list[str]:
    """Return what the recipient's posts have to do with the campaign: for each post, the sentence of the first phrase
    (campaign.toml [facts.posts]) its title contains, each sentence once."""
    if not isinstance(sentences, dict):
        return []
    found: list[str] = []
    for title in titles:
        sentence = next((text for phrase, text in sentences.items() if phrase in title), None)
        if sentence and sentence not in found:
            found.append(str(sentence))
    return found


def context(
    target: Target, campaign: Campaign, letter_date: date, enclosures: tuple[Enclosure, ...] = ()
) -> dict[str, Any]:
    """Return everything a template can use for one letter."""
    member = target.member
    elected_on = None
    if member is not None:
        elected_on = member.by_election_date or (member.member_since if member.is_new else None)
    recipient: dict[str, Any] = {
        "name": target.name,
        "full_title": target.address.name_line,
        "party": member.party if member else "",
        "constituency": member.constituency if member else "",
        "nation": member.nation if member else "",
        "region": member.region if member else "",
        "is_new": member.is_new if member else False,
        "by_election_date": member.by_election_date if member else None,
        "member_since": member.member_since if member else None,
        "since_year": member.member_since.year if member and member.member_since else None,
        "elected_on": elected_on,
        "elected_recently": bool(elected_on and 0 <= (letter_date - elected_on).days <= RECENT_APPOINTMENT.days),
        "area": _area(member.nation, member.region) if member else "",
        "committees": list(member.committees) if member else [],
        "house": target.posts[0].house if target.posts and not member else "Commons",
        "is_speaker": bool(member and member.party == "Speaker"),
    }
    posts = [
        {
            "title": post_title(post),
            "department": post.department,
            "department_name": post.department_name,
            "rank": post.rank,
            "cabinet": post.cabinet,
            "start_date": post.start_date,
            "recent": bool(post.start_date and letter_date - post.start_date <= RECENT_APPOINTMENT),
        }
        for post in target.posts
    ]
    local = _local(target.local, letter_date)
    home = _local(target.home, letter_date)
    post_facts = _post_facts(campaign.facts.get("posts"), [str(post["title"]) for post in posts])
    department = (
        {
            "code": target.department.department,
            "name": target.department.name,
            "the_name": with_article(target.department.name),
        }
        if target.department
        else None
    )
    return {
        "recipient": recipient,
        "kind": target.kind,
        "nation": str(target.facts.get("letter_nation") or ""),  # the seat's nation, a territorial office's, or UK
        "template": target.template,
        "posts": posts if target.kind != "seat" else [],
        "held_posts": posts,
        "post_facts": post_facts if target.kind != "seat" else [],
        "senior_post": posts[0] if posts and target.kind != "seat" else None,
        "department": department,
        # The departments a Lords whip or spokesperson answers for (a refresh brings them), with their articles.
        "answering": [with_article(name) for name in target.answering],
        "brief": any("department" in rule.when for rule in target.rules),
        "local": local,
        "home": home,
        "asks": [
            {"id": c.ask.id, "title": c.ask.title, "summary": c.ask.summary, "partial": c.ask.partial}
            for c in target.asks
        ],
        "ask_ids": [c.ask.id for c in target.asks],
        # The recipient's record the letter speaks of, in one sentence (templates/partials/hook.md.j2), or None.
        "hook": hooks.template_value(target.hook),
        "campaign": {"id": campaign.id, "name": campaign.name},
        "facts": dict(campaign.facts),
        "sender": campaign.sender,
        "letter_date": letter_date,
        # What goes with the letter; a template names only those the campaign says to mention ("I enclose …").
        "enclosures": [{"title": item.title, "mention": item.mention} for item in enclosures],
    }


class Merger:
    """Renders letters for one campaign, compiling its templates once."""

    def __init__(self, campaign: Campaign, letter_date: date, cache: Path | None = None) -> None:
        self.campaign = campaign
        self.letter_date = letter_date
        self.env: jinja2.Environment = environment(campaign.folder / "templates", cache)

    def merge(self, target: Target) -> Merged:
        """Return the finished letter for one target; raises TemplateError naming the template line."""
        figures = FigureCalls(self.campaign.figures)
        enclosures = self.campaign.enclosures_for(target.facts)
        values = {**context(target, self.campaign, self.letter_date, enclosures), "figure": figures}
        rendered = render_template(self.env, target.template, values)
        letter, marked = assemble(
            letter_id=target.letter_id,
            kind=target.kind,
            template=target.template,
            letter_date=self.letter_date,
            recipient_lines=target.address_lines,
            salutation=target.address.salutation,
            rendered=rendered,
            closing=self.campaign.closing,
            sender=self.campaign.sender,
            enclosures=[item.title for item in enclosures],
        )
        return Merged(
            target=target,
            letter=letter,
            marked=marked,
            figures=tuple(figures.used.values()),
            enclosures=enclosures,
        )
