"""Local NHS sites of a seat, the nearest radiotherapy centre, and how a linac count is quoted."""

from __future__ import annotations

import dataclasses
import math
from datetime import date

import pytest

from outreach.errors import DataError
from outreach.sites import (
    SITE_RANK,
    Site,
    great_circle_km,
    local_sites,
    nearest,
    proposed_sites,
)
from outreach.snapshot import SITE_COLUMNS, Snapshot

LETTER_DATE = date(2026, 9, 1)


def code_of(snapshot: Snapshot, name: str) -> str:
    return next(code for code, seat in snapshot.constituencies.items() if seat.name == name)


def site(snapshot: Snapshot, site_id: str) -> Site:
    return next(s for s in snapshot.sites if s.site_id == site_id)


def test_seat_with_a_radiotherapy_centre_lists_it_first(snapshot: Snapshot) -> None:
    here = local_sites(snapshot.sites, code_of(snapshot, "Aberdeen North"))
    assert here[0].name == "Aberdeen radiotherapy (Anchor Centre) (Aberdeen Royal Infirmary)"
    assert here[0].rank == 0 and here[0].role == "main"
    # Aberdeen Royal Infirmary is also listed as an acute hospital at the same postcode: shown once.
    assert [s.postcode for s in here].count("AB25 2ZN") == 1

    chelsea = local_sites(snapshot.sites, code_of(snapshot, "Chelsea and Fulham"))
    assert [s.site_type for s in chelsea[:2]] == ["radiotherapy_centre", "radiotherapy_centre"]
    assert [s.rank for s in chelsea] == sorted(s.rank for s in chelsea)


def test_one_hospital_under_several_types_appears_once(snapshot: Snapshot) -> None:
    code = code_of(snapshot, "Derby North")
    raw = [s for s in snapshot.sites if s.constituency_code == code]
    assert {s.site_type for s in raw} >= {"radiotherapy_centre", "acute_stroke_unit", "nhs_hospital_site"}
    assert [(s.site_type, s.name) for s in local_sites(snapshot.sites, code)] == [
        ("radiotherapy_centre", "Derby radiotherapy (Royal Derby Hospital)")
    ]
    # Same hospital, different postcode in the 2019 stroke list: matched by name.
    chelsea = local_sites(snapshot.sites, code_of(snapshot, "Chelsea and Fulham"))
    assert not any(s.name.startswith("Charing Cross Hospital") for s in chelsea)
    assert any(s.name == "Imperial radiotherapy (Charing Cross Hospital)" for s in chelsea)


def test_seat_without_a_centre_gets_the_nearest_with_distance(snapshot: Snapshot) -> None:
    clacton = snapshot.constituencies[code_of(snapshot, "Clacton")]
    assert not any(s.site_type == "radiotherapy_centre" for s in local_sites(snapshot.sites, clacton.code))
    found = nearest(snapshot.sites, clacton)  # measured from where Clacton's people live, not the centroid
    assert clacton.point_method == "population_weighted" and clacton.point_lat is not None and clacton.point_lon
    assert found.site.name == "Colchester radiotherapy (Colchester General Hospital)"
    assert found.site.lat is not None and found.site.lon is not None
    # Spherical law of cosines, independently of the haversine in the package.
    phi1, phi2 = math.radians(clacton.point_lat), math.radians(found.site.lat)
    dlon = math.radians(found.site.lon - clacton.point_lon)
    cosine = math.sin(phi1) * math.sin(phi2) + math.cos(phi1) * math.cos(phi2) * math.cos(dlon)
    by_hand = 6371.0088 * math.acos(cosine)
    assert found.km == pytest.approx(by_hand, abs=0.01)
    assert 10 < found.km < 30
    assert found.miles == pytest.approx(found.km / 1.609344)
    every_centre = [
        great_circle_km(*clacton.measured_from, s.lat, s.lon)
        for s in snapshot.sites
        if s.site_type == "radiotherapy_centre" and s.lat is not None and s.lon is not None
    ]
    assert found.km == min(every_centre)


def test_great_circle_distance() -> None:
    london, edinburgh = (51.5074, -0.1278), (55.9533, -3.1883)
    assert great_circle_km(*london, *edinburgh) == pytest.approx(534, abs=2)
    assert great_circle_km(*london, *london) == 0


def test_arthur_is_in_dwyfor_meirionnydd_and_not_an_nhs_site(snapshot: Snapshot) -> None:
    (arthur,) = proposed_sites(snapshot.sites, "W07000096")
    assert arthur.name.startswith("ARTHUR") and arthur.postcode == "LL41 4DT"
    assert arthur not in local_sites(snapshot.sites, "W07000096")
    assert proposed_sites(snapshot.sites, code_of(snapshot, "Ynys Môn")) == []
    assert nearest(snapshot.sites, snapshot.constituencies["W07000096"], "proposed_isotope_reactor").km < 20


def test_linac_phrase_names_old_figures_and_skips_undated(snapshot: Snapshot) -> None:
    assert site(snapshot, "rt:SS00RY").linac_phrase(LETTER_DATE) == "4 linear accelerators"  # 2025
    assert site(snapshot, "rt:SY38XQ").linac_phrase(LETTER_DATE) == "3 linear accelerators"  # 2024: two years
    assert site(snapshot, "rt:NN15BD").linac_phrase(date(2021, 12, 1)) == "3 linear accelerators (2016 figure)"
    trust_total = "the trust's 11 linear accelerators (2015 figure)"
    assert site(snapshot, "rt:SW36JJ").linac_phrase(date(2019, 6, 1)) == trust_total
    assert site(snapshot, "rt:LS97TF").linac_phrase(LETTER_DATE) is None  # 12, but undated
    assert site(snapshot, "rt:M204BX").linac_phrase(LETTER_DATE) is None  # undated trust total
    assert site(snapshot, "rt:AB252ZN").linac_phrase(LETTER_DATE) is None  # no count found
    one = dataclasses.replace(site(snapshot, "rt:SS00RY"), linacs=1)
    assert one.linac_phrase(LETTER_DATE) == "1 linear accelerator"


def test_a_linac_count_over_five_years_old_is_not_stated(snapshot: Snapshot) -> None:
    northampton = site(snapshot, "rt:NN15BD")  # "2016-12-06": five years old on 6 December 2021
    assert northampton.linacs_dated == date(2016, 12, 6)
    assert northampton.linac_phrase(date(2021, 12, 6)) == "3 linear accelerators (2016 figure)"
    assert northampton.linac_phrase(date(2021, 12, 7)) is None
    assert site(snapshot, "rt:SW36JJ").linac_phrase(LETTER_DATE) is None  # c.2015-16: from 1 January 2015
    carlisle = next(s for s in snapshot.sites if s.linacs_as_of == "2021-08")  # a month: from 1 August 2021
    assert carlisle.linacs_dated == date(2021, 8, 1)
    assert carlisle.linac_phrase(date(2026, 8, 1)) is not None and carlisle.linac_phrase(date(2026, 8, 2)) is None
    kent = next(s for s in snapshot.sites if s.linacs_as_of.startswith("c.2009-10"))  # a span of years, not a month
    assert kent.linacs_dated == date(2009, 1, 1)


def test_rank_and_confidence(snapshot: Snapshot) -> None:
    assert SITE_RANK["radiotherapy_centre"] < SITE_RANK["acute_hospital"] == SITE_RANK["acute_stroke_unit"]
    cdc = next(s for s in snapshot.sites if s.site_type == "community_diagnostic_centre" and s.has_imaging)
    assert cdc.rank == 2
    assert dataclasses.replace(cdc, has_imaging=False).rank == SITE_RANK["nhs_hospital_site"] == 3
    assert site(snapshot, "rt:SS00RY").confidence == "high" and not site(snapshot, "rt:SS00RY").low_confidence
    assert site(snapshot, "rt:SW36JJ").confidence == "medium" and site(snapshot, "rt:SW36JJ").low_confidence


def test_site_row_errors_name_the_line() -> None:
    row: dict[str, str | None] = dict.fromkeys(SITE_COLUMNS, "")
    row.update(site_id="rt:X", site_type="radiotherapy_centre", linacs="eight")
    with pytest.raises(DataError, match=r"^sites\.csv:9: linacs 'eight' is not a whole number$"):
        Site.from_row(row, where="sites.csv:9")
    row.update(linacs="8", has_imaging="yes")
    with pytest.raises(DataError, match=r"^sites\.csv:9: has_imaging 'yes' is not true or false$"):
        Site.from_row(row, where="sites.csv:9")


def test_nearest_agrees_with_a_full_great_circle_search_for_every_seat(snapshot: Snapshot) -> None:
    centres = [site for site in snapshot.sites if site.site_type == "radiotherapy_centre"]
    for seat in snapshot.constituencies.values():
        found = nearest(snapshot.sites_of_type("radiotherapy_centre"), seat)
        best = min(centres, key=lambda s: great_circle_km(*seat.measured_from, s.lat or 0.0, s.lon or 0.0))
        assert found.km == pytest.approx(great_circle_km(*seat.measured_from, best.lat or 0.0, best.lon or 0.0))
