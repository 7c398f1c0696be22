"""The embedded snapshot's source: the public reference files under ../shared/data, read into what `build` takes.

`scripts/build_data.py` calls `write_embedded(shared, out)`: it reads the files, makes the rows with the same
`build` a refresh uses (outreach/sources/build.py), and writes `data/` (members, posts, departments, sites,
constituencies, known gaps, snapshot.json, README.md). The output is deterministic: rows sorted, floats at fixed
precision, "\\n" line endings, so re-running on the same sources gives byte-identical files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from outreach import changes
from outreach import snapshot as snapshots
from outreach.csvfile import read_rows
from outreach.errors import DataError
from outreach.members import LIST_SEPARATOR, Member, Post
from outreach.records import RECORD_COLUMNS, RecordItem
from outreach.snapshot import MEMBER_COLUMNS, POST_COLUMNS
from outreach.sources.build import Built, Fetched, build
from outreach.sources.fields import Json, clean
from outreach.sources.parliament import is_email, office_lines
from outreach.sources.postcodes import postcode_key
from outreach.sources.refresh import write_meta, write_snapshot
from outreach.sources.rows import ConstituencyRow, DepartmentRow, Gap, SiteRow, write_rows

# Dates of the sources, as their READMEs state them (not today's date).
DFE_DATE = "2026-06-27"
CONTACTS_DATE = "2026-05-03"
GENERAL_ELECTION = "2024-07-04"
POSTS_AS_OF = "2026-06-19"
KNOWN_CHANGES_FILE = "known-changes-after-2026-06-19.csv"
FORMER_POSTS_FILE = f"ministers-ifg-1979-to-{POSTS_AS_OF}.csv"
IFG_SOURCE = "Institute for Government Ministers Database"
SITES_DATE = "2025-10-30"  # newest site list: GOV.UK CDC map data, last updated 2025-10-30
DFE_SOURCE = f"dfe-{DFE_DATE}"
CONTACTS_SOURCE = f"members-api-{CONTACTS_DATE}"

# Party names differ in spelling between the election files and MNIS (DfE, Members API).
ELECTION_PARTY_TO_MNIS = {
    "Labour and Co-operative": "Labour (Co-op)",
    "Green": "Green Party",
    "Sinn Fein": "Sinn Féin",
    "Social Democratic and Labour Party": "Social Democratic & Labour Party",
}

Record = dict[str, str]


# ---------------------------------------------------------------- helpers


def read_table(path: Path) -> list[Record]:
    """Return a CSV file's rows as text, empty cells as "" (read by the one CSV reader, outreach/csvfile.py)."""
    return [{column: value or "" for column, value in row.items()} for row, _ in read_rows(path)]


def coordinate(value: str) -> str:
    """Return a coordinate at six decimal places, "" when there is none."""
    return f"{float(value):.6f}" if value else ""


def iso_from_dmy(text: str) -> str:
    """Return a DD/MM/YYYY date as ISO text."""
    day, month, year = text.strip().split("/")
    return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"


def _check(condition: bool, message: str) -> None:
    """Stop the build with `message` when a source breaks an assumption the rows rely on."""
    if not condition:
        raise DataError(message)


# ---------------------------------------------------------------- constituencies


def ring_area_centroid(ring: Sequence[Sequence[float]]) -> tuple[float, float, float]:
    """Return (signed area, centroid x, centroid y) of a ring by the shoelace formula, planar in lon/lat."""
    area2 = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, list(ring[1:]) + [ring[0]], strict=True):
        cross = x0 * y1 - x1 * y0
        area2 += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if area2 == 0:
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return area2 / 2, cx / (3 * area2), cy / (3 * area2)


def centroid(geometry: Mapping[str, Any]) -> tuple[float, float]:
    """Return (lat, lon): the area-weighted centroid of all parts of a (Multi)Polygon, holes subtracted."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    total = sx = sy = 0.0
    for polygon in polygons:
        for index, ring in enumerate(polygon):
            area, x, y = ring_area_centroid(ring)
            weight = abs(area) if index == 0 else -abs(area)
            total += weight
            sx += weight * x
            sy += weight * y
    return sy / total, sx / total


def read_constituencies(
    shared: Path, sources: Path, mnis_ids: Mapping[str, str], serving: Mapping[str, Mapping[str, str]]
) -> list[ConstituencyRow]:
    """Return the 650 constituencies with their centroids, population points, hex cells, MNIS ids and networks."""
    geo = read_table(shared / "geography/constituencies_2024.csv")
    shapes = json.loads((shared / "geography/pcon2024_boundaries_buc.geojson").read_text(encoding="utf-8"))
    centres = {f["properties"]["PCON24CD"]: centroid(f["geometry"]) for f in shapes["features"]}
    points = home_points(sources, {f["properties"]["PCON24CD"]: f["geometry"] for f in shapes["features"]})
    rows = []
    for record in geo:
        code = record["pcon24cd"]
        lat, lon = centres[code]
        point = points.get(code) or {
            "point_lat": f"{lat:.6f}",
            "point_lon": f"{lon:.6f}",
            "point_method": "area_centroid",  # no population point for the seat (Northern Ireland): the centroid
        }
        rows.append(
            ConstituencyRow(
                constituency_code=code,
                name=record["pcon24nm"],
                nation=record["nation"],
                region=record["region_name"],
                lat=f"{lat:.6f}",
                lon=f"{lon:.6f}",
                hex_q=str(int(record["hex_q"])),
                hex_r=str(int(record["hex_r"])),
                constituency_id=mnis_ids.get(code, ""),
                **point,
                **serving[code],
            )
        )
    _check(len(rows) == 650, f"constituencies_2024.csv: {len(rows)} constituencies, not 650")
    return rows


# ---------------------------------------------------------------- where people live, and the centres that serve them

SOURCES_FOLDER = "sources"  # data/sources/: small source files kept in the repository (not in ../shared)
POINTS_FILE = "pcon24_home_points.csv"
NETWORK_AREAS_FILE = "cancer_network_areas.csv"
SEAT_NETWORKS_FILE = "seat_cancer_networks.csv"
POINT_METHOD = {"lsoa11_population_weighted": "population_weighted", "postcode_mean": "postcode_mean"}


def inside(lon: float, lat: float, geometry: Mapping[str, Any]) -> bool:
    """Return whether a point lies inside a (Multi)Polygon, holes excluded (even-odd ray casting, planar lon/lat)."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    crossings = 0
    for polygon in polygons:
        for ring in polygon:
            for (x0, y0), (x1, y1) in zip(ring, list(ring[1:]) + [ring[0]], strict=True):
                if (y0 > lat) != (y1 > lat) and lon < x0 + (lat - y0) * (x1 - x0) / (y1 - y0):
                    crossings += 1
    return crossings % 2 == 1


def home_points(sources: Path, shapes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Return, for each seat of Great Britain, the point its distances are measured from, and how it was found.

    The rule: the seat's population-weighted mean (England and Wales: ONS LSOA population-weighted centroids weighted
    by population; Scotland: the mean of its postcode units) when that mean lies on the seat's own land (inside its
    ONS BUC boundary, which is clipped to the coast); otherwise — a seat of several islands or separate towns whose
    mean falls at sea or outside it, e.g. Orkney and Shetland — the inhabited medoid: the populated small area or
    postcode nearest on average to everyone in the seat.
    """
    points: dict[str, dict[str, str]] = {}
    for row in read_table(sources / POINTS_FILE):
        lat, lon = float(row["mean_lat"]), float(row["mean_lon"])
        if inside(lon, lat, shapes[row["constituency_code"]]):
            method = POINT_METHOD[row["mean_method"]]
        else:
            lat, lon, method = float(row["medoid_lat"]), float(row["medoid_lon"]), "inhabited_medoid"
        points[row["constituency_code"]] = {
            "point_lat": f"{lat:.6f}",
            "point_lon": f"{lon:.6f}",
            "point_method": method,
        }
    return points


def read_serving(shared: Path, sources: Path, sites: Sequence[SiteRow], gaps: list[Gap]) -> dict[str, dict[str, str]]:
    """Return, for each seat, the cancer network (alliance, health board or catchment) that serves it, the site ids of
    the radiotherapy centres that network names for it, and how sure the mapping is (high, medium, low)."""
    centres = read_table(shared / "nhs/radiotherapy_centres_uk_pcon24.csv")
    site_ids = {row.site_id for row in sites if row.site_type == "radiotherapy_centre"}
    id_of = {r["centre"]: f"rt:{postcode_key(r['postcode'])}" for r in centres}
    _check(set(id_of.values()) <= site_ids, f"centres not in the site list: {set(id_of.values()) - site_ids}")
    area_centres = {r["area_name"]: r["centres"] for r in read_table(sources / NETWORK_AREAS_FILE)}
    seat_names = {r["pcon24cd"]: r["pcon24nm"] for r in read_table(shared / "geography/constituencies_2024.csv")}
    serving: dict[str, dict[str, str]] = {}
    for row in read_table(sources / SEAT_NETWORKS_FILE):
        code = row["constituency_code"]
        names = centre_names(row["centres"] or area_centres[row["network"]])
        unknown = [name for name in names if name not in id_of]
        _check(bool(names) and not unknown, f"{SEAT_NETWORKS_FILE}: {code}: unknown centres {unknown}")
        if row["confidence"] == "low":
            detail = f"{clean(row['notes'])}; a letter names the nearest centre of all, flagged centre_unconfirmed"
            gaps.append(Gap("centre_mapping_low_confidence", seat_names[code], detail))
        serving[code] = {
            "network": clean(row["network"]),
            "network_centres": LIST_SEPARATOR.join(sorted({id_of[name] for name in names})),
            "network_confidence": row["confidence"],
        }
    _check(len(serving) == 650, f"{SEAT_NETWORKS_FILE}: {len(serving)} seats, not 650")
    return serving


# ---------------------------------------------------------------- members


@dataclass(frozen=True)
class _MemberFiles:
    """The files that say who sits for each seat, read once."""

    elected: list[Record]
    latest_by_election: dict[str, Record]  # the latest by-election in each seat, by ONS code
    sat_before: dict[tuple[str, str], bool]  # (by-election date, member id) -> was an MP before
    dfe: dict[str, Record]
    contacts: dict[str, dict[str, Any]]
    abbreviations: dict[str, str]
    places: dict[str, Record]

    @classmethod
    def read(cls, shared: Path) -> _MemberFiles:
        """Return the member files under `shared`."""
        elected = read_table(shared / "mps-2024.csv")
        contacts_list = json.loads((shared / f"mps-contacts-commons-{CONTACTS_DATE}.json").read_text(encoding="utf-8"))
        # Abbreviations as the Members API gives them (partyAbbr), then the election file's.
        abbreviations: dict[str, str] = {}
        for c in contacts_list:
            abbreviations.setdefault(clean(c["party"]), clean(c["partyAbbr"]))
        for r in elected:
            abbreviations.setdefault(
                ELECTION_PARTY_TO_MNIS.get(r["party_name"], r["party_name"]), r["party_abbreviation"]
            )
        # The latest by-election in each seat replaces the 2024 winner.
        by_elections = read_table(shared / "by-elections-2024-parliament.csv")
        latest = {r["ons_id"]: r for r in sorted(by_elections, key=lambda r: r["by_election_date"])}
        sat_before = {
            (iso_from_dmy(c["Election date"]), c["Member MNIS ID"]): c["Sitting MP"] == "Yes" or c["Former MP"] == "Yes"
            for c in read_table(shared / "psephology-2024/by-elections-parliament59-candidacies.csv")
            if c["Member MNIS ID"]
        }
        return cls(
            elected=elected,
            latest_by_election=latest,
            sat_before=sat_before,
            dfe={r["member_id"]: r for r in read_table(shared / f"mp-lookup-dfe-{DFE_DATE}.csv")},
            contacts={str(c["id"]): c for c in contacts_list},
            abbreviations=abbreviations,
            places={r["pcon24cd"]: r for r in read_table(shared / "geography/constituencies_2024.csv")},
        )


def _email(from_dfe: Record | None, contact: Mapping[str, Any] | None) -> tuple[str, str]:
    """Return (e-mail, its source): DfE's wins ("No email found" counts as none), else the first Members API one."""
    dfe_email = clean(from_dfe["member_email"]) if from_dfe is not None else ""
    if is_email(dfe_email):
        return dfe_email, DFE_SOURCE
    for candidate in (contact or {}).get("emails") or []:
        if is_email(clean(candidate)):
            return clean(candidate), CONTACTS_SOURCE
    return "", ""


def _offices(contact: Mapping[str, Any] | None) -> tuple[list[str], list[str]]:
    """Return the first parliamentary and constituency office that are postal addresses."""
    parliamentary: list[str] = []
    constituency_office: list[str] = []
    for office in (contact or {}).get("offices") or []:
        if office.get("type") == "Parliamentary office" and not parliamentary:
            parliamentary = office_lines(Json(office, "contacts", "offices"))
        elif office.get("type") == "Constituency office" and not constituency_office:
            constituency_office = office_lines(Json(office, "contacts", "offices"))
    return parliamentary, constituency_office


def _seat_member(seat: Record, files: _MemberFiles) -> Member:
    """Return the member for one seat: the 2024 winner, or the winner of the seat's latest by-election."""
    code = seat["ons_id"]
    by_election = files.latest_by_election.get(code)
    winner = by_election if by_election is not None else seat
    member_id = winner["member_mnis_id"]
    election_date = by_election["by_election_date"] if by_election is not None else GENERAL_ELECTION
    election_party = ELECTION_PARTY_TO_MNIS.get(winner["party_name"], winner["party_name"])
    from_dfe = files.dfe.get(member_id)
    contact = files.contacts.get(member_id)
    if from_dfe is not None and from_dfe["pcon_code"] != code:
        raise DataError(f"DfE lists member {member_id} for {from_dfe['pcon_code']}, elections for {code}")
    # Name and party: the newest source that knows this member.
    if from_dfe is not None:
        name, party, source_date = clean(from_dfe["display_as"]), clean(from_dfe["party_text"]), DFE_DATE
    elif contact is not None:
        name, party, source_date = clean(contact["name"]), clean(contact["party"]), CONTACTS_DATE
    else:
        name = f"{clean(winner['first_name'])} {clean(winner['surname'])}"
        party, source_date = election_party, election_date
    if election_date > source_date:
        # A by-election newer than the source re-confirms the member; its party is the newer word.
        party, source_date = election_party, election_date
    if by_election is not None:
        is_new = not files.sat_before.get((by_election["by_election_date"], member_id), False)
    else:
        is_new = seat["new_to_commons_2024"] == "Yes"
    member_since = election_date
    # Service is dated from the start of continuous membership: a member re-elected at a by-election in the seat
    # they won in 2024 (Clacton, 2026) has served since before it, so their recorded start stands.
    re_elected = by_election is not None and seat["member_mnis_id"] == member_id
    if contact and contact.get("membershipStart") and (election_date <= CONTACTS_DATE or re_elected):
        member_since = str(contact["membershipStart"])[:10]
    email, email_source = _email(from_dfe, contact)
    parliamentary, constituency_office = _offices(contact)
    return Member(
        member_id=int(member_id),
        name=name,
        full_title=clean(from_dfe["full_title"]) if from_dfe is not None else f"{name} MP",
        list_as=clean(contact["nameListAs"])
        if contact
        else f"{clean(winner['surname'])}, {clean(winner['first_name'])}",
        address_as=None,  # no shared file carries nameAddressAs; a live refresh fills it
        first_name=clean(winner["first_name"]),
        surname=clean(winner["surname"]),
        gender={"Male": "M", "Female": "F"}.get(winner["gender"], ""),
        party=party,
        party_abbreviation=files.abbreviations.get(party, ""),
        constituency="",  # filled from constituencies.csv by `build`, as are its id, nation and region
        constituency_code=code,
        constituency_id=None,
        nation="",
        region="",
        is_new=is_new,
        by_election_date=date.fromisoformat(by_election["by_election_date"]) if by_election is not None else None,
        member_since=date.fromisoformat(member_since),
        email=email,
        email_source=email_source,
        parliamentary_address=tuple(parliamentary),
        constituency_office=tuple(constituency_office),
        committees=(),
        source_date=date.fromisoformat(source_date),
    )


def read_members(shared: Path) -> tuple[list[Member], dict[str, str]]:
    """Return the member of each seat, and each seat's MNIS constituency id by ONS code."""
    files = _MemberFiles.read(shared)
    members = [_seat_member(seat, files) for seat in files.elected]
    mnis_ids = {}
    for seat in files.elected:
        winner = files.latest_by_election.get(seat["ons_id"], seat)
        mnis_ids[seat["ons_id"]] = winner["mnis_constituency_id"]
    _check(
        len(members) == 650 and len({m.member_id for m in members}) == 650,
        f"mps-2024.csv: {len(members)} seats and {len({m.member_id for m in members})} members, not 650",
    )
    return members, mnis_ids


# ---------------------------------------------------------------- posts and departments


def read_posts(shared: Path) -> list[Post]:
    """Return the current government posts (IfG appointments with no end date)."""
    current = [r for r in read_table(shared / f"ministers-ifg-2024-07-05-to-{POSTS_AS_OF}.csv") if r["end_date"] == ""]
    statuses = {r["cabinet_status"] for r in current}
    _check(statuses <= {"Full cabinet", "Attends cabinet", "Non-cabinet"}, f"IfG cabinet_status: {statuses}")
    return [
        Post(
            member_id=int(r["mnis_member_id"]),
            name=clean(r["display_name"]),
            house=r["house"],
            post=clean(r["post"]),
            department=r["organisation_short"],
            department_name=clean(r["organisation"]),
            rank=r["rank_equivalence"],
            kind="government",
            # Members of the Cabinet only; ministers who attend Cabinet (e.g. the Attorney General) are not.
            cabinet=r["cabinet_status"] == "Full cabinet",
            start_date=date.fromisoformat(r["start_date"]) if r["start_date"] else None,
            is_acting=r["is_acting"] == "True",
            is_on_leave=r["is_on_leave"] == "True",
        )
        for r in current
    ]


def read_former_posts(shared: Path, gaps: list[Gap]) -> list[RecordItem]:
    """Return every ended ministerial appointment since 1979 as a `former_post` record (IfG Ministers Database).

    An appointment still going on 2026-06-19 is a current post (posts.csv), not a record; nor is an ended one of the
    same post in the same department as one the member holds now (reappointed in a reshuffle), which is not former.
    An appointment that ends before it starts (two rows of 2025) is left out as a known gap, not guessed at.
    `build` keeps only the current members' and post holders' records.
    """
    table = read_table(shared / FORMER_POSTS_FILE)
    ongoing = {(r["mnis_member_id"], r["post"], r["organisation_short"]) for r in table if not r["end_date"]}
    items = []
    for r in table:
        if not r["end_date"] or not r["mnis_member_id"]:
            continue
        if (r["mnis_member_id"], r["post"], r["organisation_short"]) in ongoing:
            continue
        if r["end_date"] < r["start_date"]:
            detail = (
                f"IfG appointment {r['ifg_appointment_id']} ends {r['end_date']}, before it starts {r['start_date']}"
            )
            gaps.append(Gap("former_post_dates_reversed", f"{clean(r['person_name'])}: {clean(r['post'])}", detail))
            continue
        items.append(
            RecordItem(
                member_id=int(r["mnis_member_id"]),
                kind="former_post",
                title=clean(r["post"]),
                organisation=clean(r["organisation"]),
                code=r["organisation_short"],
                role=r["rank_equivalence"],
                start_date=date.fromisoformat(r["start_date"]),
                end_date=date.fromisoformat(r["end_date"]),
                source=IFG_SOURCE,
                reference=r["ifg_appointment_id"],
                source_date=date.fromisoformat(POSTS_AS_OF),
            )
        )
    return items


def evidence(notes: str) -> str:
    """Return the evidence grade a departments.csv note opens with, after any 'NOT IN IfG FILE (...).'."""
    text = re.sub(r"^NOT IN IfG FILE \([^)]*\)\.\s*", "", notes)
    for grade in ("PARTLY CONFIRMED", "NOT CONFIRMED", "CONFIRMED", "FALLBACK"):
        if text.startswith(grade):
            return grade
    return ""


def read_departments(shared: Path, gaps: list[Gap]) -> tuple[list[DepartmentRow], str]:
    """Return the departments with their addresses, and the date of the newest one."""
    table = read_table(shared / "government/departments.csv")
    grades = {r["organisation_short"]: evidence(r["notes"]) for r in table}
    # DLUHC's note says its values are copied from the MHCLG row (same department, former name).
    grades["DLUHC"] = grades["MHCLG"]
    rows = []
    for r in table:
        address = clean(r["address_lines"])
        contact = clean(r["email_or_form"])
        rows.append(
            DepartmentRow(
                department=r["organisation_short"],
                name=clean(r["organisation"]),
                address_lines=address,
                postcode=clean(r["postcode"]),
                email=contact if is_email(contact) else "",
                confirmed=grades[r["organisation_short"]] == "CONFIRMED" and bool(address),
                as_of=r["as_of"],
                source_url=r["source_url"],
            )
        )
        if not address:
            detail = "no correspondence address confirmed; " + (
                f"e-mail {contact}" if contact else "write via the minister's office"
            )
            gaps.append(Gap("department_address_unknown", clean(r["organisation"]), detail))
    return rows, max(r["as_of"] for r in table if r["as_of"])


# ---------------------------------------------------------------- sites


def linac_year(as_of: str) -> str:
    """Return the year an as_of text states ("2021-08" → 2021, "c.2009-10" → 2009), "" when undated."""
    match = re.match(r"^(?:c\.\s*)?(\d{4})", as_of.strip())
    return match.group(1) if match else ""


def centre_names(field: str) -> list[str]:
    """Return the centre names a `;`-separated field lists."""
    return [clean(part) for part in field.split(";") if clean(part)]


@dataclass(frozen=True)
class _SiteFiles:
    """The files each site is joined with: radiotherapy centres, stroke units, CDCs, linac counts."""

    centres: dict[str, Record]  # by postcode
    strokes: dict[str, Record]  # by postcode
    cdcs: dict[tuple[str, str], Record]  # by (name, postcode)
    linacs: dict[str, Record]  # the linac count of each centre, by centre name
    replacement_codes: set[str]

    @classmethod
    def read(cls, shared: Path, gaps: list[Gap]) -> _SiteFiles:
        """Return the joined files under `shared`, noting in `gaps` counts and programmes no site can carry."""
        centres = read_table(shared / "nhs/radiotherapy_centres_uk_pcon24.csv")
        known = {r["centre"] for r in centres}
        # Linac counts: a centre-scope row beats a trust_total row covering the same centre.
        linac_for: dict[str, Record] = {}
        linacs = read_table(shared / "nhs/linacs_by_provider.csv")
        for r in sorted(linacs, key=lambda r: 0 if r["scope"] == "trust_total" else 1):
            for name in centre_names(r["centre"]):
                if name in known:
                    linac_for[name] = r
                    continue
                label = re.sub(r"\s*(–|-|\()\s*not in site list\)?$", "", name)
                detail = (
                    f"{r['provider']} ({r['provider_code']}): {r['linacs']} linac(s), {r['scope']} figure, as of "
                    f"{r['as_of']}; absent from the 74-site list, so no letter can place it"
                )
                gaps.append(Gap("radiotherapy_centre_not_in_site_list", label, detail))
        replacements = read_table(shared / "nhs/linac_replacement_2025.csv")
        rt_codes = {r["provider_code"] for r in centres}
        for r in replacements:
            if r["provider_code"] not in rt_codes:
                detail = (
                    f"{r['provider_code']} reported in the 2025 £70m programme but has no radiotherapy site in the "
                    "list; check with the trust"
                )
                gaps.append(Gap("linac_replacement_without_site", clean(r["provider"]), detail))
        cdcs = read_table(shared / "nhs/community_diagnostic_centres_england_2025_pcon24.csv")
        return cls(
            centres={postcode_key(r["postcode"]): r for r in centres},
            strokes={
                postcode_key(r["postcode"]): r for r in read_table(shared / "nhs/stroke_units_england_2019_pcon24.csv")
            },
            cdcs={(clean(r["name"]), postcode_key(r["postcode"])): r for r in cdcs},
            linacs=linac_for,
            replacement_codes={r["provider_code"] for r in replacements},
        )


def _radiotherapy(site: Record, files: _SiteFiles, gaps: list[Gap]) -> dict[str, Any]:
    """Return what a radiotherapy centre's row adds: role, linac count and its source, the 2025 replacement."""
    centre = files.centres[postcode_key(site["postcode"])]
    name = clean(site["site_name"])
    count = files.linacs.get(centre["centre"])
    fields: dict[str, Any] = {"role": centre["role"]}
    if count is not None:
        fields.update(
            linacs=count["linacs"],
            linacs_scope=count["scope"],
            linacs_as_of=count["as_of"],
            linacs_year=linac_year(count["as_of"]),
            linacs_source_url=count["source_url"],
            linacs_source_title=clean(count["source_title"]),
        )
        if not fields["linacs_year"]:
            detail = (
                f"{count['linacs']} linacs ({count['scope']}) but the source is {count['as_of']}; "
                "never cited in a letter"
            )
            gaps.append(Gap("linac_count_undated", name, detail))
    elif centre["linacs"]:
        fields.update(
            linacs=centre["linacs"],
            linacs_scope="centre",
            linacs_source_url=centre["evidence_url"],
            linacs_source_title=clean(centre["linacs_basis"]),
        )
    else:
        gaps.append(Gap("radiotherapy_centre_without_linac_count", name, "no linac count found in any cited source"))
    fields["replacement_2025"] = centre["provider_code"] in files.replacement_codes
    # The site table's notes repeat "linacs=N;" from the centres file; the linacs column holds it now.
    notes = clean(re.sub(r"linacs=\d+;\s*", "", clean(site["notes"])))
    if "approximate" in centre["coord_source"]:
        notes = clean(f"{notes}; coordinates approximate".lstrip("; "))
    fields["notes"] = notes
    return fields


def _site_row(site: Record, files: _SiteFiles, gaps: list[Gap]) -> SiteRow:
    """Return one site's row, joined with the file of its type."""
    fields: dict[str, Any] = {}
    key = postcode_key(site["postcode"])
    if site["site_type"] == "radiotherapy_centre":
        fields = _radiotherapy(site, files, gaps)
    elif site["site_type"] == "acute_stroke_unit":
        fields["neuroscience_centre"] = files.strokes[key]["neuroscience_centre_24_7"] == "1"
    elif site["site_type"] == "community_diagnostic_centre":
        fields["has_imaging"] = files.cdcs[(clean(site["site_name"]), key)]["has_imaging"] == "True"
    row: dict[str, Any] = {
        "site_id": site["site_id"],
        "site_type": site["site_type"],
        "name": clean(site["site_name"]),
        "organisation": clean(site["organisation"]),
        "org_code": site["org_code"],
        "nation": site["nation"],
        "postcode": clean(site["postcode"]),
        "lat": coordinate(site["lat"]),
        "lon": coordinate(site["lon"]),
        "constituency_code": site["pcon24cd"],
        "confidence": site["pcon_confidence"],
        "role": "",
        "has_imaging": False,
        "neuroscience_centre": False,
        "linacs": "",
        "linacs_scope": "",
        "linacs_as_of": "",
        "linacs_year": "",
        "linacs_source_url": "",
        "linacs_source_title": "",
        "replacement_2025": False,
        "notes": clean(site["notes"]),
    }
    return SiteRow(**{**row, **fields})


def read_sites(shared: Path, gaps: list[Gap]) -> list[SiteRow]:
    """Return the MPCE sites, each exact duplicate row once, joined with the files of their types."""
    listed = read_table(shared / "nhs/mpce_sites_pcon24.csv")
    seen: set[tuple[tuple[str, str], ...]] = set()
    sites = []
    for row in listed:
        if tuple(row.items()) not in seen:
            seen.add(tuple(row.items()))
            sites.append(row)
    _check(len({s["site_id"] for s in sites}) == len(sites), "site_id still repeats after dropping exact duplicates")
    if len(listed) > len(sites):
        detail = (
            f"{len(listed) - len(sites)} rows repeated exactly (the 2018 NHS Choices file lists them twice); kept once"
        )
        gaps.append(Gap("duplicate_site_rows_dropped", "mpce_sites_pcon24.csv", detail))
    files = _SiteFiles.read(shared, gaps)
    # Every site of a joined type must find its row (a KeyError otherwise): the joins are complete.
    return [_site_row(site, files, gaps) for site in sites]


# ---------------------------------------------------------------- gaps, metadata, README

STATIC_GAPS = [
    (
        "radiotherapy_centre_not_in_site_list",
        "Milton Keynes University Hospital",
        "radiotherapy 'led by Oxford University Hospitals' (PQ 2024-25); not in the site list, linac count not found",
    ),
    (
        "coordinates_approximate",
        "Northern Ireland sites",
        "NI coordinates are approximate (Code-Point Open has no BT postcodes); check before quoting a distance",
    ),
    (
        "ministers_stale",
        "posts.csv",
        f"IfG ministers as at {POSTS_AS_OF}; public reports of a new Prime Minister and Cabinet from "
        "20 July 2026. Refresh from the Members API before writing to ministers",
    ),
    (
        "address_as_missing",
        "members.csv",
        "no offline source carries the Members API nameAddressAs; salutations are derived until a live refresh",
    ),
    ("committees_missing", "members.csv", "select committee memberships come only from a live refresh"),
    (
        "scanner_counts_not_held",
        "MRI/CT scanners",
        "per-trust scanner counts are 'not held centrally' (PQ answers); CDC has_imaging and stroke units are proxies",
    ),
    (
        "nhs_sites_2018",
        "nhs_hospital_site rows",
        "NHS Choices list of 2018 and stroke units of 2019 predate trust mergers and openings "
        "(e.g. Midland Metropolitan University Hospital, opened 2024, is absent); refresh from ODS",
    ),
    (
        "site_constituency_unchecked",
        "sites.csv confidence medium/low",
        "site-to-constituency joins with confidence medium or low must be checked with postcodes.io "
        "before a letter relies on them",
    ),
    ("opposition_posts_missing", "posts.csv", "shadow ministers come only from a live refresh"),
    (
        "population_points_missing",
        "Northern Ireland seats",
        "no public NI small-area centroids or BT postcode points were found: distances are measured from the area "
        "centroid (all 18 on land) and letters naming a nearest centre are flagged centre_unconfirmed",
    ),
    (
        "cancer_network_vintage",
        "data/sources/seat_cancer_networks.csv",
        "England's 21 Cancer Alliances as mapped by NCPES in 2022 (LSOA 2011, CCG 2021); later ICB mergers may "
        "redraw them, and alliances are not radiotherapy networks: cross-boundary referrals are not modelled",
    ),
    (
        "linac_date_conflict",
        "Southend radiotherapy (Southend University Hospital)",
        "linacs_as_of says 2025-02 but the cited page's title is dated 21 Feb 2024; either way under three "
        "years old, so quoted without a year until 2027",
    ),
]


OGL = "OGL v3"
OPL = "Open Parliament Licence"
CODE_POINT_CREDIT = (
    "Contains OS data © Crown copyright and database right 2023; Contains Royal Mail data © Royal Mail "
    "copyright and database right 2023; Contains National Statistics data © Crown copyright and database "
    "right 2023"
)
ONS_CREDIT = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right 2024."
)
# (data, file under ../shared/data, upstream repository @ commit, data date, licence)
SOURCES_TABLE = [
    (
        "Changes of office after the posts' date",
        f"government/{KNOWN_CHANGES_FILE}",
        "compiled from dated news reports (each row names its source)",
        "2026-07-20",
        "facts; each row cites its report",
    ),
    (
        "Current MPs, titles, e-mail",
        "mp-lookup-dfe-2026-06-27.csv",
        "dfe-analytical-services/mp-lookup `mp_lookup.csv` @ 793ea661826202d050e95291e6f64021ce6c94d1 (from MNIS)",
        DFE_DATE,
        OPL,
    ),
    (
        "MP contacts (Members API)",
        "mps-contacts-commons-2026-05-03.json",
        "danbri/forgetmenot `third_party/data/members/` @ 11fc8d536da8f948fdb87dfdf2b1e210d7b95237",
        CONTACTS_DATE,
        OPL,
    ),
    (
        "2024 results, winners",
        "mps-2024.csv (from psephology-2024/*)",
        "ukparliament/psephology @ 774c93e64c4d69a5094d0518aef68060c4d74df0",
        GENERAL_ELECTION,
        OPL,
    ),
    (
        "By-elections",
        "by-elections-2024-parliament.csv, psephology-2024/by-elections-parliament59-*.csv",
        "ukparliament/psephology @ 7df6b97ca55302d3770a4a9668d9161d1eb8db41",
        "{by_elections}",
        OPL,
    ),
    (
        "Ministers",
        "ministers-ifg-2024-07-05-to-2026-06-19.csv",
        "instituteforgov/ifg-ministers-database-public @ 92e227025645607913912d9d8312b7421a437bd3",
        POSTS_AS_OF,
        "CC BY 4.0 (Institute for Government Ministers Database)",
    ),
    (
        "Former government posts (records.csv)",
        FORMER_POSTS_FILE,
        "instituteforgov/ifg-ministers-database-public `data/appointment.csv`, `person.csv`, `post.csv`, "
        "`organisation.csv` @ 92e227025645607913912d9d8312b7421a437bd3: every ended appointment since 4 May 1979 of "
        "a current MP or post holder (not devolved ministers)",
        POSTS_AS_OF,
        "CC BY 4.0 (Institute for Government Ministers Database)",
    ),
    (
        "Department addresses",
        "government/departments.csv",
        "GOV.UK pages (incl. alphagov/publishing-api; danbri/forgetmenot @ "
        "d0d4307494704572f3d85b8a9733a39e08a70865), gov.scot, gov.wales, health-ni.gov.uk, Members API",
        "2017 to {departments}",
        f"{OGL} (Crown copyright); Members API: {OPL}",
    ),
    (
        "Constituency codes and names",
        "geography/constituencies_2024.csv",
        "open-innovations/constituencies @ 8c28561bc48cf1a8b947b51becf2e4e4ae1162e7",
        "July 2024 boundaries",
        f"{OGL} (ONS)",
    ),
    (
        "Boundaries (for centroids)",
        "geography/pcon2024_boundaries_buc.geojson",
        "open-innovations/constituencies @ 41f0a64418baccce952659939252d0d3728cfc88 (ONS BUC)",
        "July 2024",
        f'{OGL}: "{ONS_CREDIT}"',
    ),
    (
        "Hex map cells",
        "geography/constituencies_2024.csv (from uk-constituencies-2024.hexjson)",
        "open-innovations/constituencies @ 1d43262fe30abd543075c68f67a0f0d3c5fee04b",
        "2024-07-24",
        "MIT (Open Innovations hex maps)",
    ),
    (
        "MNIS to ONS constituency ids",
        "psephology-2024/constituency-ids-mnis-ons-1997-2024.csv",
        "ukparliament/psephology @ 47885b81ad9553b6b0480b72cfedf5e9eb3bea77",
        "2025-04-09",
        OPL,
    ),
    (
        "NHS sites joined to constituencies",
        "nhs/mpce_sites_pcon24.csv",
        "derived from the files below; postcodes: OS Code-Point Open 2023 (mysociety/2025-constituencies @ "
        "0e8acb2b6938d9bdd3c846c00859c35e04a8026e)",
        "2018 to 2025",
        f'{OGL}: "{CODE_POINT_CREDIT}"',
    ),
    (
        "NHS hospital sites 2018",
        "nhs/hospitals_england_2018_pcon24.csv",
        "TheRealMolen/nhs `data/Hospital.csv` @ 51414f42a0490cbc7fa980758e18513ef7b8c0a8 (NHS Choices)",
        "2018-01-30",
        "NHS website (NHS Choices) data, OGL-style",
    ),
    (
        "Acute stroke units 2019",
        "nhs/stroke_units_england_2019_pcon24.csv",
        "MichaelAllen1966/1912_stroke_unit_location_with_outcomes @ 2f5f5b86718afaac1c3ce7e9cde0c21feae90355",
        "2019",
        "MIT",
    ),
    (
        "Community diagnostic centres",
        "nhs/community_diagnostic_centres_england_2025_pcon24.csv",
        "alphagov/frontend @ 06c9ab415bd7682ded255a31b8a89ac40814791c (data ac649fa7f954604caefb0289d25ee95f8c1ae59a)",
        SITES_DATE,
        f"{OGL} (GOV.UK)",
    ),
    (
        "Elective surgical hubs",
        "nhs/elective_surgical_hubs_england_2025_pcon24.csv",
        "alphagov/frontend (data ee56cc33ad677ed8bf8f1944ced0f790ba1fa0bf)",
        "2025-08-14",
        f"{OGL} (GOV.UK)",
    ),
    (
        "Radiotherapy centres; devolved acute hospitals",
        "nhs/radiotherapy_centres_uk_pcon24.csv, nhs/acute_hospitals_scotland_wales_ni_pcon24.csv",
        "compiled for the project from public web pages (evidence URLs in the files)",
        "2025",
        "facts",
    ),
    (
        "Where each seat's people live (Great Britain)",
        "data/sources/pcon24_home_points.csv (in this repository, not in ../shared)",
        "computed for the project on 2026-12-01: ONS LSOA (Dec 2011) population-weighted centroids "
        "(iainfletcher/NimbusData @ 09026622065c49c400e7b72c4d3b36423a4ee0ae) weighted by mySociety's LSOA11 to "
        "2024-seat population overlap; Scotland: OS Code-Point Open postcode units with mySociety's postcode to "
        "2024-seat lookup (mysociety/2025-constituencies @ a0b99a674f0b92e6a0c82ecc609bd2f1fd19681c; Code-Point "
        "Open @ 0e8acb2b6938d9bdd3c846c00859c35e04a8026e)",
        "2011 areas, 2019 population, 2023 postcodes",
        f'{OGL}: "{CODE_POINT_CREDIT}"; constituency lookups © mySociety, CC BY 4.0',
    ),
    (
        "Cancer networks and the centres each names",
        "data/sources/cancer_network_areas.csv (in this repository)",
        "NCPES sub-ICB to Cancer Alliance mapping 2022 v1.4 (RANDCorporation/mced-spillover-2025 "
        "`data/linking_files/Sub-ICB-to-Alliance-mapping-2022_v1.4.csv` @ abe1c22589242fc69485ca515da6e8011d4c8f00); "
        "Scottish networks, Welsh health boards and NI catchments from the pages cited in each row's `source`",
        "2013 to 2025; seen 2026-12-01",
        "NCPES publication; facts from the cited pages",
    ),
    (
        "Seats to cancer networks",
        "data/sources/seat_cancer_networks.csv (in this repository)",
        "computed for the project on 2026-12-01: ONS LSOA11 to CCG21 to Cancer Alliance lookup, April 2021 "
        "(RANDCorporation/mced-spillover-2025 @ c9860ad3ff31e7f459c00c269ba1acdb22d8c52d); ONS UA to LHB 2019 and "
        "Health Board 2019 codes (jtrim-ons/ons-lookups @ 85d0ba6e476badf3861d8dc7485aecf40598d031); the seats' "
        "council areas and NI districts from mp-lookup-dfe-2026-06-27.csv",
        "2021 to 2024",
        f"{OGL} (ONS); {OPL}",
    ),
    (
        "Linac counts; 2025 linac replacements",
        "nhs/linacs_by_provider.csv, nhs/linac_replacement_2025.csv",
        "compiled from public web pages (one cited page per row: `linacs_source_url`)",
        "mixed: see `linacs_as_of`",
        "facts; cite the page",
    ),
]


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Return a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


README_TEMPLATE = """# Embedded snapshot

The data outreach ships with: the MPs, ministers, departments, NHS sites and constituencies it can
write about without a network. `outreach refresh` writes newer snapshots with the same files under
`$OUTREACH_HOME/snapshots/`; the newest one is used. Built from `../shared/data` by

    python scripts/build_data.py            # options: --shared PATH --out PATH

which is deterministic: re-running it on the same sources gives byte-identical files. Do not edit
these files by hand.

Snapshot date: **{built}** (the newest source, the Clacton by-election).
Posts as of **{posts_as_of}**.

## Files and schema

All CSV, UTF-8, header first, `\\n` line ends. Lists inside a cell are joined with ` | `; booleans are
`true`/`false`; an empty cell means unknown.

{files_table}

### How the members are made current
- Seat winners: the 2024 result (`mps-2024.csv`), replaced by the winner of the latest by-election in the
  seat (`by-elections-2024-parliament.csv`: 6 seats, 2025-05-01 to 2026-08-13).
- `name`, `party`: the DfE lookup ({dfe_date}, `display_as`, `party_text`), else the Members API contact
  record ({contacts_date}), else the election file. A by-election newer than that source re-confirms the
  member, and `source_date` is then the by-election date (Clacton, 2026-08-13). Party names follow MNIS
  spelling ("Labour (Co-op)", "Sinn Féin"); `party_abbreviation` is the Members API `partyAbbr`.
- `full_title`: DfE `full_title`; " MP" is appended where DfE omits it (2 members). `list_as`: Members
  API `nameListAs`, else "Surname, First". `address_as` is always empty here (no offline source has
  `nameAddressAs`).
- `first_name`, `surname`, `gender` (M/F): the election file of the member's election.
- `is_new`: never an MP before this Parliament (`new_to_commons_2024`; for a by-election winner, neither
  "Sitting MP" nor "Former MP" in the by-election candidacies).
- `member_since`: the start of continuous membership: Members API `membershipStart`, unless the member won a
  by-election after that record in a seat they did not hold before (then the by-election date); a member
  re-elected at a by-election in their own seat (Nigel Farage, Clacton, 2026-08-13) keeps their earlier start.
- `email`: DfE `member_email` wins ("No email found" counts as none), else the first Members API e-mail;
  `email_source` says which (`{dfe_source}`, `{contacts_source}` or empty). Some addresses are a
  member's office staff (e.g. boxj@, davieshm@) as MNIS gives them.
- `parliamentary_address`: the Members API "Parliamentary office" lines and postcode, default
  "House of Commons | London | SW1A 0AA"; `constituency_office`: the first "Constituency office" that is a
  postal address (has a postcode; many records hold only a label such as "Constituency office" with a
  phone number), else empty. `committees` empty (live refresh).

### Posts, departments, sites, constituencies
- `posts.csv`: IfG appointments with no end date. `rank` = IfG `rank_equivalence` (PM, DPM, SoS, MoS,
  PUSS, Parl. lead., Parl.); `cabinet` true for "Full cabinet" only ("Attends cabinet" is false);
  `kind` = government (opposition posts come from a live refresh).
- `records.csv` (outreach/records.py): each current MP's and post holder's record, one sourced item a row.
  Embedded: `former_post`, every IfG appointment since 4 May 1979 that had ended by {posts_as_of} (`title` the
  post as IfG names it, `organisation`/`code` its department and IfG code, `role` the IfG rank, `start_date`,
  `end_date`; `source` the database, `reference` the IfG appointment id, `source_date` {posts_as_of}); an ended
  appointment to the post the member holds now (a reappointment) is left out. Devolved ministers' posts are not in
  the database. A refresh adds `committee` items (the Committees API's members and chairs of the campaign's
  committees) and keeps the former posts.
- `departments.csv`: `email` only where `email_or_form` is an e-mail address (forms dropped);
  `confirmed` = the evidence grade in `notes` is CONFIRMED (not PARTLY CONFIRMED / FALLBACK / NOT
  CONFIRMED; a leading "NOT IN IfG FILE (…)." clause is skipped, so SG counts; DLUHC takes MHCLG's grade,
  as its note says) and the address is non-empty.
- `sites.csv`: `mpce_sites_pcon24.csv` less 3 exact duplicate rows. Every row has a constituency (the one
  site without, Noble's Hospital on the Isle of Man, is an independent-sector row of the 2018 file and
  was never in the combined table). Names are the source's ("centre (hospital)" for radiotherapy). `role`
  (main/satellite) from the radiotherapy centres file (joined by postcode, 74/74); `neuroscience_centre`
  from the 2019 stroke file (postcode, 127/127); `has_imaging` from the CDC file (name + postcode,
  170/170). `linacs` from `linacs_by_provider.csv` (wins over the centres file; a centre-scope row wins
  over a `trust_total` row). `linacs_scope` = `centre` or `trust_total` (a trust's figure, not the
  site's). `linacs_as_of` is the source's text; `linacs_year` the year it states ("c.2009-10" → 2009),
  empty when undated — an undated count is never cited. `replacement_2025` is true when the site's
  provider is named in `linac_replacement_2025.csv` (a trust-level fact: "site not stated" for some).
  `confidence` is the constituency join's (high/medium/low; check medium and low with postcodes.io).
- `constituencies.csv`: names with diacritics ("Ynys Môn"); `lat`/`lon` = area-weighted planar centroid
  of all parts of the ONS BUC polygon (holes subtracted; for island seats such as Orkney and Shetland it
  falls at sea, so no distance is measured from it where a population point exists); `hex_q`/`hex_r` from the
  Open Innovations hex map; `constituency_id` = Members API (MNIS) constituency id.
- `point_lat`/`point_lon`, `point_method`: where the seat's people live, the point every distance in a letter is
  measured from. `population_weighted` (England and Wales: the mean of ONS LSOA population-weighted centroids,
  each weighted by its population in the seat) or `postcode_mean` (Scotland: the mean of its postcode units),
  used when it lies inside the seat's own BUC boundary (clipped to the coast); otherwise `inhabited_medoid`, the
  populated small area or postcode nearest on average to everyone in the seat (Orkney and Shetland, Na h-Eileanan
  an Iar and seats whose mean falls outside them, e.g. York Outer); `area_centroid` for Northern Ireland, where no
  population point was found ({centroid_seats} seats).
- `network`, `network_centres`, `network_confidence`: the cancer alliance (England), health board and regional
  network (Scotland), local health board (Wales) or centre catchment (Northern Ireland) that serves the seat
  (`data/sources/seat_cancer_networks.csv`: England and Wales by the majority of the seat's LSOAs, Scotland and
  Northern Ireland by its council areas or districts), the site ids of the radiotherapy centres that network
  names for it (`data/sources/cancer_network_areas.csv`, each with its source), and how sure the mapping is
  (high: one network; medium: a majority or the same network for all; low: the seat straddles networks).
  A letter names the nearest of those centres: a board's or catchment's centre as the seat's radiotherapy centre
  (Orkney and Shetland: Aberdeen), an English seat's as its nearest centre in its Cancer Alliance (an alliance
  holds centres; it does not say who is treated where). With a low-confidence mapping or none (a snapshot
  refreshed before these columns existed) it names the nearest centre of all as before; that, or a distance from
  the area centroid, flags the letter `centre_unconfirmed` (a person should look; not a failure).
- For `acute_hospital` rows `notes` is the compiled list's own `type` ("major acute", "acute", "island general",
  …): a letter calls the hospital only that (outreach/merge.py `ACUTE_TYPE_WORDS`). A stroke unit is called a
  hospital whose acute stroke team routinely admits stroke patients, as the 2019 list says; no file here says
  which hospitals have an emergency department, so no letter says so.

## Sources

{sources_table}

Credit in letters' data notes: "Contains Parliamentary information licensed under the Open Parliament
Licence v3.0"; "Contains public sector information licensed under the Open Government Licence v3.0";
"Ministers: Institute for Government Ministers Database, CC BY 4.0".

## Known gaps (also in `known_gaps.csv`)

- Ministers are stale: the IfG file is as at {posts_as_of}, and public sources report a new Prime
  Minister and Cabinet from 20 July 2026. Refresh before writing to any minister.
- No `nameAddressAs` offline: `address_as` is empty for every member until a live refresh.
- DESNZ's correspondence address is unknown (left empty, not confirmed); OAG has an e-mail only.
- Radiotherapy centres named in `linacs_by_provider.csv` but absent from the site list (computed):
  Eastbourne DGH, the Robert White Centre at Dorchester, the Royal Berkshire Bracknell Clinic.
- Northern Ireland coordinates are approximate (no Code-Point Open for BT postcodes).
- MRI/CT scanner counts are not held centrally; CDC `has_imaging` and stroke units are the proxies.
- The 2018 NHS site list (and the 2019 stroke list) predate trust mergers and new hospitals.

Every row of `known_gaps.csv`, by kind (computed rows and the standing gaps above):

{gap_lines}
"""


def _files_table(counts: Mapping[str, int]) -> str:
    """Return the README's table of files, rows and columns."""
    return markdown_table(
        ["File", "Rows", "One row per", "Columns"],
        [
            ("`members.csv`", counts["members"], "seat, sorted by constituency name", ", ".join(MEMBER_COLUMNS)),
            (
                "`posts.csv`",
                counts["posts"],
                "current government post (IfG), sorted by department, name",
                ", ".join(POST_COLUMNS),
            ),
            ("`departments.csv`", counts["departments"], "organisation", ", ".join(DepartmentRow.COLUMNS)),
            (
                "`sites.csv`",
                counts["sites"],
                "NHS site (or proposed reactor) and type, sorted by site_id",
                ", ".join(SiteRow.COLUMNS),
            ),
            (
                "`constituencies.csv`",
                counts["constituencies"],
                "2024 constituency, sorted by ONS code",
                ", ".join(ConstituencyRow.COLUMNS),
            ),
            (
                "`records.csv`",
                counts["records"],
                "item of a member's record, each with its source (embedded: former government posts, IfG; a "
                "refresh adds committees), sorted by member, kind, start",
                ", ".join(RECORD_COLUMNS),
            ),
            ("`known_gaps.csv`", counts["known_gaps"], "gap a letter writer must know about", ", ".join(Gap.COLUMNS)),
            (
                "`known_changes.csv`",
                counts["known_changes"],
                "change of office reported after `posts_as_of`, dated and sourced (letters to these members are "
                "flagged `office_changed` and left out of a campaign's default audience)",
                ", ".join(changes.COLUMNS),
            ),
            (
                "`snapshot.json`",
                "–",
                "–",
                "`kind` (embedded/refreshed), `built` (date of the newest source), "
                "`sources` (data date per source), `posts_as_of`, `counts`, `schema`",
            ),
        ],
    )


def write_readme(
    out: Path, counts: Mapping[str, int], gaps: Sequence[Gap], sources: Mapping[str, str], centroid_seats: int
) -> None:
    """Write data/README.md: the files, how they are made, their sources and licences, and the known gaps."""
    gap_kinds: dict[str, list[str]] = {}
    for gap in gaps:
        gap_kinds.setdefault(gap.kind, []).append(gap.name)
    gap_lines = "\n".join(
        f"- `{kind}` ({len(names)}): " + "; ".join(names[:8]) + ("; …" if len(names) > 8 else "")
        for kind, names in sorted(gap_kinds.items())
    )
    sources_table = markdown_table(
        ["Data", "File in ../shared/data (or here)", "Upstream (repository @ commit)", "Data date", "Licence"],
        [tuple(str(cell).format(**sources) for cell in row) for row in SOURCES_TABLE],
    )
    text = README_TEMPLATE.format(
        built=sources["built"],
        posts_as_of=POSTS_AS_OF,
        dfe_date=DFE_DATE,
        contacts_date=CONTACTS_DATE,
        dfe_source=DFE_SOURCE,
        contacts_source=CONTACTS_SOURCE,
        files_table=_files_table(counts),
        sources_table=sources_table,
        gap_lines=gap_lines,
        centroid_seats=centroid_seats,
    )
    (out / "README.md").write_text(text, encoding="utf-8", newline="\n")


# ---------------------------------------------------------------- the embedded snapshot


def nothing_before() -> snapshots.Snapshot:
    """Return an empty snapshot: the embedded one is built from the shared files alone, carrying nothing over."""
    return snapshots.Snapshot(
        path=Path(),
        kind="embedded",
        built=date.min,
        sources={},
        posts_as_of=None,
        members=(),
        posts=(),
        departments={},
        sites=(),
        constituencies={},
    )


def read_shared(shared: Path, sources_folder: Path) -> tuple[Fetched, dict[str, str]]:
    """Return the shared files (and data/sources/) as `build` takes them, and the data date of each source."""
    gaps: list[Gap] = []
    members, mnis_ids = read_members(shared)
    departments, departments_date = read_departments(shared, gaps)
    sites = read_sites(shared, gaps)
    serving = read_serving(shared, sources_folder, sites, gaps)
    former_posts = read_former_posts(shared, gaps)
    gaps.extend(Gap(kind, name, detail) for kind, name, detail in STATIC_GAPS)
    fetched = Fetched(
        members=members,
        posts=read_posts(shared),
        departments=departments,
        constituencies=read_constituencies(shared, sources_folder, mnis_ids, serving),
        sites=sites,
        gaps=gaps,
        title_source="DfE full_title ",
        email_sources="the DfE lookup or the Members API contact record",
        records=former_posts,
        record_kinds=frozenset({"former_post"}),
    )
    by_elections = read_table(shared / "by-elections-2024-parliament.csv")
    sources = {
        "members": DFE_DATE,
        "contacts": CONTACTS_DATE,
        "general_election": GENERAL_ELECTION,
        "by_elections": max(r["by_election_date"] for r in by_elections),
        "posts": POSTS_AS_OF,
        "former_posts": POSTS_AS_OF,
        "departments": departments_date,
        "sites": SITES_DATE,
    }
    return fetched, sources


def write_embedded(shared: Path, sources_folder: Path, out: Path) -> dict[str, int]:
    """Build the embedded snapshot from the files in `shared` and `sources_folder` (data/sources/) into `out`.

    Returns the rows written per file.
    """
    fetched, sources = read_shared(shared, sources_folder)
    built: Built = build(nothing_before(), fetched, date.fromisoformat(max(sources.values())))
    out.mkdir(parents=True, exist_ok=True)
    counts = write_snapshot(out, built, None)
    known_changes = changes.embedded_rows(shared / "government" / KNOWN_CHANGES_FILE, date.fromisoformat(POSTS_AS_OF))
    counts["known_changes"] = write_rows(out / changes.FILE, known_changes, changes.COLUMNS)
    built_on = max(sources.values())
    meta = {
        "kind": "embedded",
        "built": built_on,
        "sources": sources,
        "posts_as_of": POSTS_AS_OF,
        "counts": counts,
        "schema": 1,
    }
    write_meta(out, meta)
    centroid_seats = sum(1 for row in built.constituencies if row.point_method == "area_centroid")
    write_readme(out, counts, built.gaps, {**sources, "built": built_on}, centroid_seats)
    return counts
