"""NHS sites where medical physicists and clinical engineers work, constituencies, and nearest-site search.

Sites come from the snapshot's sites.csv; each has a type ranked by its relevance to MPCE
(`SITE_RANK`), the constituency it falls in, and how sure that join is. Distances are great-circle
distances from a constituency's centroid (the snapshot's constituencies.csv).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from outreach.errors import DataError, OutreachError
from outreach.members import RowCells

# Relevance to MPCE, lower first: radiotherapy (linacs, physics-planned treatment) before major acute
# hospitals and 24/7 stroke units (CT, MRI, nuclear medicine, equipment engineering), then community
# diagnostic centres with imaging, then other NHS sites. A CDC without imaging ranks with the others.
SITE_RANK: dict[str, int] = {
    "radiotherapy_centre": 0,
    "acute_hospital": 1,
    "acute_stroke_unit": 1,
    "community_diagnostic_centre": 2,
    "elective_surgical_hub": 3,
    "nhs_hospital_site": 3,
}
CDC_WITHOUT_IMAGING_RANK = 3
UNKNOWN_TYPE_RANK = 4
LISTED_LAST_RANK = 9  # `outreach sites` lists a type SITE_RANK does not know after all the others
# ARTHUR is a proposed reactor, not an NHS site: kept out of local_sites, found with proposed_sites.
PROPOSED_ISOTOPE_REACTOR = "proposed_isotope_reactor"
PROPOSED_RANK = 9

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
KM_PER_MILE = 1.609344
# A linac count older than this many years (by calendar year) is quoted with its year (INTERFACE, "Dates").
LINAC_FIGURE_FRESH_YEARS = 2
# A linac count more than this many years older than the letter date is not stated at all (INTERFACE, "Dates").
LINAC_FIGURE_MAX_AGE_YEARS = 5


@dataclass(frozen=True)
class Site:
    """One NHS site of one type (a hospital may appear under several types), with its constituency."""

    site_id: str
    site_type: str
    name: str
    organisation: str
    nation: str
    postcode: str
    lat: float | None
    lon: float | None
    constituency_code: str
    confidence: str
    role: str
    has_imaging: bool
    neuroscience_centre: bool
    linacs: int | None
    linacs_scope: str
    linacs_as_of: str
    linacs_year: int | None
    linacs_source_url: str
    replacement_2025: bool
    org_code: str = ""
    linacs_source_title: str = ""
    notes: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, str | None], *, where: str) -> Site:
        """Return the site in one sites.csv row; `where` ("sites.csv:7") names it in errors."""
        cells = RowCells(row, where)
        return cls(
            site_id=cells.text("site_id"),
            site_type=cells.text("site_type"),
            name=cells.text("name"),
            organisation=cells.text("organisation"),
            nation=cells.text("nation"),
            postcode=cells.text("postcode"),
            lat=cells.number("lat"),
            lon=cells.number("lon"),
            constituency_code=cells.text("constituency_code"),
            confidence=cells.text("confidence"),
            role=cells.text("role"),
            has_imaging=cells.flag("has_imaging"),
            neuroscience_centre=cells.flag("neuroscience_centre"),
            linacs=cells.optional_integer("linacs"),
            linacs_scope=cells.text("linacs_scope"),
            linacs_as_of=cells.text("linacs_as_of"),
            linacs_year=cells.optional_integer("linacs_year"),
            linacs_source_url=cells.text("linacs_source_url"),
            replacement_2025=cells.flag("replacement_2025"),
            org_code=cells.text("org_code"),
            linacs_source_title=cells.text("linacs_source_title"),
            notes=cells.text("notes"),
        )

    def as_json(self, constituency: str | None) -> dict[str, object]:
        """Return the `outreach sites --json` object, with the name of the site's constituency (None if unknown)."""
        return {
            "site_id": self.site_id,
            "site_type": self.site_type,
            "name": self.name,
            "organisation": self.organisation,
            "nation": self.nation,
            "postcode": self.postcode,
            "lat": self.lat,
            "lon": self.lon,
            "constituency_code": self.constituency_code,
            "constituency": constituency,
            "confidence": self.confidence,
            "linacs": self.linacs,
            "linacs_scope": self.linacs_scope or None,
            "linacs_as_of": self.linacs_as_of or None,
            "replacement_2025": self.replacement_2025,
        }

    @property
    def rank(self) -> int:
        """Return the site's relevance to MPCE, 0 (radiotherapy) first; see SITE_RANK."""
        if self.site_type == PROPOSED_ISOTOPE_REACTOR:
            return PROPOSED_RANK
        if self.site_type == "community_diagnostic_centre" and not self.has_imaging:
            return CDC_WITHOUT_IMAGING_RANK
        return SITE_RANK.get(self.site_type, UNKNOWN_TYPE_RANK)

    @property
    def low_confidence(self) -> bool:
        """Return True when the site's constituency must be checked before a letter relies on it.

        The NHS data README asks for every 'medium' and 'low' join to be checked with postcodes.io;
        an unknown confidence is treated the same way.
        """
        return self.confidence != "high"

    @cached_property
    def letter_name(self) -> str:
        """Return the site's name as a sentence in a letter can use it (worked out once per site: a draft asks for
        it some 16,000 times).

        Radiotherapy sites are listed as "centre (hospital)"; a generic centre name ("Coventry radiotherapy")
        becomes "the radiotherapy department at University Hospital Coventry", a named one "the Rosemere Cancer
        Centre at Royal Preston Hospital". Other sites keep their own names, without the street of a listed address.
        """
        if self.site_type != "radiotherapy_centre":
            if ";" not in self.name:
                return self.name
            # Stroke-unit sites are listed as "hospital; street; town": a letter names the hospital and its town.
            parts = [part.strip() for part in self.name.split(";") if part.strip()]
            town = parts[-1]
            return parts[0] if len(parts) == 1 or town in parts[0] else f"{parts[0]}, {town}"
        centre, hospital = split_last_parenthesis(self.name)
        if not hospital:
            return self.name
        inner_centre, named = split_last_parenthesis(centre)
        if named and re.search(r"\bradiotherapy\b", inner_centre):
            return f"the {named} at {hospital}"
        if re.search(r"\bradiotherapy\b", centre) and "Centre" not in centre:
            return f"the radiotherapy department at {hospital}"
        if "@" in centre:
            return f"{centre.replace(' @ ', ' at ')} ({hospital})"
        if hospital.startswith(centre.split(" - ")[0]):
            return hospital
        if " at " in centre or "(" in hospital:
            return centre
        # A centre's own name takes the article ("the Lingen Davies Cancer Centre at ..."), a possessive one does not.
        article = "" if centre.split()[0].endswith("'s") else "the "
        return f"{article}{centre} at {hospital}"

    @property
    def linacs_dated(self) -> date | None:
        """Return the earliest day the linac count's date can mean: "2021-08" → 1 Aug 2021, "c.2015-16" → 1 Jan 2015.

        The earliest day, so that a count is never quoted when it may be more than five years old.
        """
        if self.linacs_year is None:
            return None
        found = re.match(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$", self.linacs_as_of.strip())
        if found is None or int(found.group(1)) != self.linacs_year:  # "c.2009-10" is a span of years, not a month
            return date(self.linacs_year, 1, 1)
        return date(self.linacs_year, int(found.group(2)), int(found.group(3) or 1))

    def linac_count_too_old(self, letter_date: date) -> bool:
        """Return True when the linac count's date is more than five years before the letter date."""
        dated = self.linacs_dated
        if dated is None:
            return False
        try:
            limit = dated.replace(year=dated.year + LINAC_FIGURE_MAX_AGE_YEARS)
        except ValueError:  # 29 February
            limit = dated.replace(year=dated.year + LINAC_FIGURE_MAX_AGE_YEARS, day=28)
        return letter_date > limit

    def linac_phrase(self, letter_date: date) -> str | None:
        """Return the linac count as letter text ("8 linear accelerators"), or None if none may be quoted.

        An undated count is never quoted, nor one more than five years older than the letter (from the earliest day
        its date can mean). A count more than two calendar years older than the letter carries its year
        ("3 linear accelerators (2021 figure)"); a trust-wide figure says so ("the trust's 16 linear accelerators").
        """
        if self.linacs is None or self.linacs_year is None or self.linac_count_too_old(letter_date):
            return None
        noun = "linear accelerator" if self.linacs == 1 else "linear accelerators"
        phrase = f"{self.linacs} {noun}"
        if self.linacs_scope == "trust_total":
            phrase = f"the trust's {phrase}"
        if letter_date.year - self.linacs_year > LINAC_FIGURE_FRESH_YEARS:
            phrase += f" ({self.linacs_year} figure)"
        return phrase


def split_last_parenthesis(text: str) -> tuple[str, str]:
    """Return ("centre", "hospital") for "centre (hospital)", nested brackets allowed; ("text", "") otherwise."""
    if not text.endswith(")"):
        return text, ""
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        if text[index] == ")":
            depth += 1
        elif text[index] == "(":
            depth -= 1
            if depth == 0:
                return text[:index].rstrip(), text[index + 1 : -1].strip()
    return text, ""


# Where the seat's people live and which radiotherapy centres its cancer network names (data/README.md); optional
# when loading: a snapshot refreshed before they existed has none, and its letters keep the centroid (flagged).
CONSTITUENCY_SERVING_COLUMNS = (
    "point_lat",
    "point_lon",
    "point_method",
    "network",
    "network_centres",
    "network_confidence",
)


@dataclass(frozen=True)
class Constituency:
    """A 2024 Westminster constituency: ONS code, name, centroid, hex-map cell, where its people live and which
    radiotherapy centres its cancer network names."""

    code: str
    name: str
    nation: str
    region: str
    lat: float
    lon: float
    hex_q: int
    hex_r: int
    constituency_id: int | None
    # The point distances are measured from (data/README.md): population_weighted, postcode_mean or inhabited_medoid;
    # "" when the snapshot has none (then the centroid is used, and the letter flagged).
    point_lat: float | None = None
    point_lon: float | None = None
    point_method: str = ""
    network: str = ""  # the cancer alliance, health board or catchment that serves the seat
    network_centres: tuple[str, ...] = ()  # site ids of the radiotherapy centres it names for the seat
    network_confidence: str = ""  # high, medium or low; "" when no mapping

    @classmethod
    def from_row(cls, row: Mapping[str, str | None], *, where: str) -> Constituency:
        """Return the constituency in one constituencies.csv row; `where` names it in errors."""
        cells = RowCells(row, where)
        lat, lon = cells.number("lat"), cells.number("lon")
        if lat is None or lon is None:
            raise DataError(f"{where}: constituency without a centroid (lat/lon empty)")
        return cls(
            code=cells.text("constituency_code"),
            name=cells.text("name"),
            nation=cells.text("nation"),
            region=cells.text("region"),
            lat=lat,
            lon=lon,
            hex_q=cells.integer("hex_q"),
            hex_r=cells.integer("hex_r"),
            constituency_id=cells.optional_integer("constituency_id"),
            **_serving(row, where),
        )

    @property
    def measured_from(self) -> tuple[float, float]:
        """Return the (lat, lon) distances are measured from: where people live, else the centroid."""
        if self.point_lat is None or self.point_lon is None:
            return self.lat, self.lon
        return self.point_lat, self.point_lon


def _serving(row: Mapping[str, str | None], where: str) -> dict[str, Any]:
    """Return a constituencies.csv row's point and network fields; columns a snapshot lacks are empty."""
    present = {column: row.get(column) or "" for column in CONSTITUENCY_SERVING_COLUMNS}
    cells = RowCells(present, where)
    lat, lon = cells.number("point_lat"), cells.number("point_lon")
    if (lat is None) != (lon is None):
        raise DataError(f"{where}: point_lat and point_lon must both be given or both be empty")
    return {
        "point_lat": lat,
        "point_lon": lon,
        "point_method": cells.text("point_method") if lat is not None else "",
        "network": cells.text("network"),
        "network_centres": tuple(part.strip() for part in cells.text("network_centres").split("|") if part.strip()),
        "network_confidence": cells.text("network_confidence"),
    }


@dataclass(frozen=True)
class Nearest:
    """The nearest site of a type to a constituency's centroid, and how far it is."""

    site: Site
    km: float
    miles: float
    direction: str = ""  # the compass point the site lies in from the centroid: "north", "south-west", ...


COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


def compass_point(lat1: float, lon1: float, lat2: float, lon2: float) -> str:
    """Return which of the eight compass points the second WGS84 point lies in, seen from the first."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlambda = math.radians(lon2 - lon1)
    y = math.sin(dlambda) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlambda)
    bearing = (math.degrees(math.atan2(y, x)) + 360) % 360
    return COMPASS[round(bearing / 45) % 8]


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle (haversine) distance in km between two WGS84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _name_keys(site: Site) -> set[str]:
    """Return the forms of a site's name that identify its hospital, lower case, letters and digits only.

    Names differ between lists ("Charing Cross Hospital; Fulham Palace Road; London", "Dr Gray's Hospital,
    Elgin"), so the text before the first ';' or ',' counts too; a radiotherapy centre is named
    "centre (hospital)", so its hospital counts as well. One-word forms ("Hospital") are too vague to use.
    """
    names = [site.name]
    if site.site_type == "radiotherapy_centre" and site.name.endswith(")") and "(" in site.name:
        names.append(site.name[site.name.rindex("(") + 1 : -1])
    keys: set[str] = set()
    for name in names:
        for form in (name, name.split(";")[0], name.split(",")[0]):
            key = re.sub(r"[^0-9a-z]+", " ", form.casefold()).strip()
            if " " in key:
                keys.add(key)
    return keys


def _by_relevance(site: Site) -> tuple[int, str, str]:
    return (site.rank, site.name.casefold(), site.site_id)


def local_sites(sites: Iterable[Site], constituency_code: str) -> list[Site]:
    """Return the NHS sites in a constituency, most relevant first, each hospital once under its best type.

    A hospital listed under several types (same postcode, or same name) appears once, as the most
    relevant of them. The proposed isotope reactor is not an NHS site: see `proposed_sites`.
    """
    here = sorted(
        (s for s in sites if s.constituency_code == constituency_code and s.site_type != PROPOSED_ISOTOPE_REACTOR),
        key=_by_relevance,
    )
    seen_postcodes: set[str] = set()
    seen_names: set[str] = set()
    kept: list[Site] = []
    for site in here:
        postcode = site.postcode.replace(" ", "").upper()
        names = _name_keys(site)
        if (postcode and postcode in seen_postcodes) or names & seen_names:
            continue
        kept.append(site)
        if postcode:
            seen_postcodes.add(postcode)
        seen_names |= names
    return kept


def proposed_sites(sites: Iterable[Site], constituency_code: str) -> list[Site]:
    """Return the proposed facilities (the ARTHUR isotope reactor) in a constituency."""
    return sorted(
        (s for s in sites if s.constituency_code == constituency_code and s.site_type == PROPOSED_ISOTOPE_REACTOR),
        key=_by_relevance,
    )


def nearest(
    sites: Iterable[Site], constituency: Constituency, site_type: str | tuple[str, ...] = "radiotherapy_centre"
) -> Nearest:
    """Return the site of `site_type` (one type, or any of several) nearest to the constituency's centroid, with the
    distance and the compass point it lies in.

    A cheap planar distance (equirectangular, exact enough to rank nearby candidates) picks the few closest;
    the great-circle distance then decides among them and is the one reported.
    """
    wanted = (site_type,) if isinstance(site_type, str) else site_type
    origin_lat, origin_lon = constituency.measured_from
    cos_lat = math.cos(math.radians(origin_lat))
    candidates = [
        (((site.lat - origin_lat) ** 2 + ((site.lon - origin_lon) * cos_lat) ** 2), site)
        for site in sites
        if site.site_type in wanted and site.lat is not None and site.lon is not None
    ]
    if not candidates:
        raise DataError(f"no site of type '{' or '.join(wanted)}' with coordinates in the snapshot")
    candidates.sort(key=lambda pair: (pair[0], pair[1].site_id))
    best: tuple[float, str, Site] | None = None
    for _, site in candidates[:5]:
        assert site.lat is not None and site.lon is not None
        km = great_circle_km(origin_lat, origin_lon, site.lat, site.lon)
        if best is None or (km, site.site_id) < best[:2]:
            best = (km, site.site_id, site)
    assert best is not None
    km, _, site = best
    assert site.lat is not None and site.lon is not None
    direction = compass_point(origin_lat, origin_lon, site.lat, site.lon)
    return Nearest(site=site, km=km, miles=km / KM_PER_MILE, direction=direction)


# How each kind of point a seat's distances are measured from is described (`outreach preview`, `sites`).
POINT_WORDS = {
    "population_weighted": "population-weighted point",
    "postcode_mean": "mean of its postcodes",
    "inhabited_medoid": "inhabited medoid (its mean point lies off its land)",
    "area_centroid": "centroid of its area (no population point)",
}
# A mapping this sure names the seat's centres; a low-confidence one (a seat straddling networks) does not.
CONFIDENT_MAPPING = ("high", "medium")


@dataclass(frozen=True)
class CentreChoice:
    """The centre named for a seat with no radiotherapy of its own, the rule that chose it, the point measured from."""

    nearest: Nearest
    rule: str
    measured_from: str
    confirmed: bool  # False: a person should look before relying on it (the letter's flag `centre_unconfirmed`)
    by_network: bool = False  # chosen among the centres the seat's network names (not by distance alone)
    network: str = ""  # that network's name, as the snapshot gives it
    nearest_of_all: bool = True  # it is also the nearest centre of all


def serving_centre(centres: Iterable[Site], constituency: Constituency) -> CentreChoice:
    """Return the radiotherapy centre that serves a seat: the nearest of those its cancer network names for it.

    Distances are measured from where the seat's people live (`Constituency.measured_from`). Where the snapshot has
    no network mapping for the seat, or only a low-confidence one, the nearest centre of all is named as before; that,
    or a distance measured from the area's centroid (Northern Ireland: no population point), leaves the choice
    unconfirmed.
    """
    every = [site for site in centres if site.site_type == "radiotherapy_centre"]
    mapped = [site for site in every if site.site_id in constituency.network_centres]
    method = constituency.point_method or "area_centroid"
    lat, lon = constituency.measured_from
    where = f"{POINT_WORDS.get(method, method)} at {lat:.4f}, {lon:.4f}"
    if mapped and constituency.network_confidence in CONFIDENT_MAPPING:
        found = nearest(mapped, constituency)
        count = "the one centre" if len(mapped) == 1 else f"the nearest of the {len(mapped)} centres"
        rule = f"{count} that {constituency.network} names for the seat ({constituency.network_confidence} confidence)"
        of_all = nearest(every, constituency).site == found.site
        return CentreChoice(
            found,
            rule,
            where,
            confirmed=method != "area_centroid",
            by_network=True,
            network=constituency.network,
            nearest_of_all=of_all,
        )
    reason = f"its network mapping is low-confidence: {constituency.network}" if mapped else "no network mapping"
    return CentreChoice(nearest(every, constituency), f"the nearest centre of all ({reason})", where, confirmed=False)


def in_constituency(sites: Sequence[Site], constituency: Constituency) -> tuple[list[Site], CentreChoice | None]:
    """Return a constituency's local sites, and the radiotherapy centre that serves it when none of them is one."""
    found = local_sites(sites, constituency.code)
    if any(site.site_type == "radiotherapy_centre" for site in found):
        return found, None
    return found, serving_centre(sites, constituency)


def of_type(sites: Iterable[Site], site_type: str, known: Iterable[Site]) -> list[Site]:
    """Return the sites of one type; raises OutreachError naming the known types when `known` has no such type."""
    types = {site.site_type for site in known}
    if site_type not in types:
        raise OutreachError(f"--type: unknown site type '{site_type}' (known: {', '.join(sorted(types))})")
    return [site for site in sites if site.site_type == site_type]


def listing_order(sites: Iterable[Site]) -> list[Site]:
    """Return sites in the order `outreach sites` lists them: by type (SITE_RANK), then name."""
    return sorted(sites, key=lambda site: (SITE_RANK.get(site.site_type, LISTED_LAST_RANK), site.name))
