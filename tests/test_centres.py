"""Issue 11, item 4 and the linac-age rule of item 5, asserted over every letter of `outreach draft --all`: the words a
letter uses for a hospital come from the list that names it, and no linac count over five years old is stated."""

from __future__ import annotations

import csv
import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from commands import manifest, run

from outreach.merge import category
from outreach.resources import embedded_snapshot_dir
from outreach.sites import Site, great_circle_km, local_sites, serving_centre
from outreach.snapshot import CONSTITUENCY_COLUMNS, Snapshot, load
from outreach.sources.embedded import inside as _inside  # the builder's own test of a point against a boundary

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# A site's count ("the trust's 11 linear accelerators (2021 figure)"); the campaign's national figures say "about 20".
LINAC_COUNT = re.compile(r"(?<!about )(?<!\d)(?:the trust's )?\d+ linear accelerators?(?: \(\d{4} figure\))?")


@pytest.fixture(scope="module")
def every_letter(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict[str, str], str]]:
    """Return each letter of `draft --all` (Markdown only) with its manifest row."""
    out = tmp_path_factory.mktemp("centres") / "outbox"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_HOME", str(tmp_path_factory.mktemp("centres-home")))
        run("draft", "--all", "--allow-stale-posts", "--format", "md", "--out", str(out))
    rows = manifest(out)
    assert len([row for row in rows if row["kind"] == "seat"]) == 650
    return [(row, (out / row["markdown"]).read_text(encoding="utf-8")) for row in rows]


def sentences(text: str) -> list[str]:
    """Return a letter's sentences (and lines), Markdown emphasis removed."""
    return [part for part in SENTENCE_END.split(text.replace("**", "")) if part.strip()]


def test_no_letter_states_a_linac_count_over_five_years_old(
    every_letter: list[tuple[dict[str, str], str]], snapshot: Snapshot
) -> None:
    """Every stated linac count is the one a named radiotherapy site may state on the letter's date."""
    centres = [site for site in snapshot.sites if site.site_type == "radiotherapy_centre"]
    stale_on_some_letter = 0
    stated = 0
    for row, text in every_letter:
        letter_date = date.fromisoformat(row["letter_date"])
        stale_on_some_letter += sum(1 for site in centres if site.linacs and site.linac_count_too_old(letter_date))
        for sentence in sentences(text):
            for phrase in LINAC_COUNT.findall(sentence):
                named = [site for site in centres if site.letter_name.casefold() in sentence.casefold()]
                assert named, (row["letter_id"], sentence)
                source = [site for site in named if site.linac_phrase(letter_date) == phrase]
                assert source, (row["letter_id"], sentence)
                for site in source:  # and, counted here again, not over five years old
                    dated = site.linacs_dated
                    assert dated and date(dated.year + 5, dated.month, min(dated.day, 28)) >= letter_date, phrase
                stated += 1
    assert stated > 50 and stale_on_some_letter > 0  # counts are stated, and some in the data are too old to be


def _named(site: Site, sentence: str) -> bool:
    return site.letter_name.casefold() in sentence.casefold()


def test_a_hospital_is_called_only_what_its_source_says(
    every_letter: list[tuple[dict[str, str], str]], snapshot: Snapshot
) -> None:
    """'major acute' only of a hospital the compiled list calls so; stroke words only of the 2019 stroke list's
    hospitals; no emergency department or round-the-clock CT claimed anywhere (no source in the data says so)."""
    major = [site for site in snapshot.sites if site.site_type == "acute_hospital" and site.notes.startswith("major")]
    stroke = [site for site in snapshot.sites if site.site_type == "acute_stroke_unit"]
    said = {"major acute": 0, "stroke team": 0}
    for row, text in every_letter:
        for sentence in sentences(text):
            lowered = sentence.casefold()
            assert "emergency department" not in lowered and "a&e" not in lowered, (row["letter_id"], sentence)
            assert "round-the-clock ct" not in lowered, (row["letter_id"], sentence)
            if "major acute" in lowered:
                said["major acute"] += 1
                assert any(_named(site, sentence) for site in major), (row["letter_id"], sentence)
            if "acute stroke team" in lowered:
                said["stroke team"] += 1
                assert any(_named(site, sentence) and category(site) in sentence for site in stroke), (
                    row["letter_id"],
                    sentence,
                )
    assert all(said.values()), said


def _seat_letters(every_letter: list[tuple[dict[str, str], str]]) -> list[tuple[dict[str, str], str]]:
    return [(row, text) for row, text in every_letter if row["kind"] == "seat"]


def test_every_named_centre_is_one_the_seats_network_names_or_is_flagged(
    every_letter: list[tuple[dict[str, str], str]], snapshot: Snapshot
) -> None:
    names = {site.site_id: site.letter_name for site in snapshot.sites}
    named = flagged = 0
    for row, text in _seat_letters(every_letter):
        if not row["nearest_centre"]:
            continue
        named += 1
        seat = snapshot.constituencies[row["constituency_code"]]
        mapped = {names[site_id] for site_id in seat.network_centres}
        if "centre_unconfirmed" in row["flags"].split(";"):
            flagged += 1
        else:
            assert row["nearest_centre"] in mapped, (row["constituency"], row["nearest_centre"], mapped)
            assert seat.network_confidence in ("high", "medium") and seat.point_method != "area_centroid"
        assert row["nearest_centre"][1:] in text, row["letter_id"]
    assert named > 300 and 0 < flagged < 40, (named, flagged)


# Seats whose centre the issue and the networks' own pages settle, by the words of the centre's name in the letter.
SERVED_BY = {
    "Orkney and Shetland": "Aberdeen Royal Infirmary",  # NHS Orkney and NHS Shetland refer to Aberdeen
    "Ynys Môn": "Ysbyty Glan Clwyd",  # Betsi Cadwaladr: the North Wales Cancer Treatment Centre
    "Glenrothes and Mid Fife": "Western General Hospital",  # NHS Fife is in SCAN: the Edinburgh Cancer Centre
    "Montgomeryshire and Glyndŵr": "Royal Shrewsbury Hospital",  # north Powys: Shrewsbury serves mid Wales
    "Isle of Wight East": "Queen Alexandra Hospital",  # Wessex: Portsmouth, the nearest of its three centres
    "Isle of Wight West": "Queen Alexandra Hospital",
}


def test_island_and_border_seats_name_the_centre_that_serves_them(
    every_letter: list[tuple[dict[str, str], str]],
) -> None:
    by_seat = {row["constituency"]: (row, text) for row, text in _seat_letters(every_letter)}
    for seat, hospital in SERVED_BY.items():
        row, text = by_seat[seat]
        assert hospital in row["nearest_centre"], (seat, row["nearest_centre"])
        assert "centre_unconfirmed" not in row["flags"], seat
        if row["nation"] != "England":  # the board's own centre, not merely the nearest
            assert "nearest radiotherapy centre" not in text and "radiotherapy centre is" in text, seat
    for seat in ("Argyll, Bute and South Lochaber", "Dunfermline and Dollar"):  # straddling networks: flagged
        assert "centre_unconfirmed" in by_seat[seat][0]["flags"]
    for seat in ("Belfast East", "Belfast North", "North Down", "Newry and Armagh"):  # no population point in NI
        row, text = by_seat[seat]
        assert "centre_unconfirmed" in row["flags"] and "Belfast City Hospital" in row["nearest_centre"]
        assert "nearest radiotherapy centre" not in text  # the mapping names it; only its distance is unconfirmed


def test_every_radiotherapy_centre_in_a_seat_is_named_in_its_letter(
    every_letter: list[tuple[dict[str, str], str]], snapshot: Snapshot
) -> None:
    seats_with_two = 0
    for row, text in _seat_letters(every_letter):
        centres = [s for s in local_sites(snapshot.sites, row["constituency_code"]) if s.rank == 0]
        seats_with_two += len(centres) > 1
        for site in centres:
            assert site.letter_name[1:] in text, (row["constituency"], site.letter_name)
    assert seats_with_two >= 1  # Chelsea and Fulham: Charing Cross and the Royal Marsden
    for row, text in every_letter:  # a post holder's letter names the centres of their own seat too
        if row["kind"] != "seat" and row["constituency_code"]:
            for site in local_sites(snapshot.sites, row["constituency_code"]):
                if site.rank == 0:
                    assert site.letter_name[1:] in text, (row["letter_id"], site.letter_name)


ISLAND_SEATS = ("Orkney and Shetland", "Na h-Eileanan an Iar", "Ynys Môn", "Isle of Wight East", "Isle of Wight West")
SHARED_BOUNDARIES = Path(__file__).resolve().parents[2] / "shared" / "data/geography/pcon2024_boundaries_buc.geojson"


@pytest.mark.skipif(not SHARED_BOUNDARIES.is_file(), reason=f"{SHARED_BOUNDARIES} (ONS boundaries) is not present")
def test_distances_are_measured_from_the_seats_own_land(snapshot: Snapshot) -> None:
    """Every seat's mean point is used only where it lies inside the seat's own boundary (clipped to the coast), so
    never at sea; elsewhere the inhabited medoid, a populated small area's own point, is used."""
    shapes = json.loads(SHARED_BOUNDARIES.read_text(encoding="utf-8"))["features"]
    off_land = []
    for feature in shapes:
        seat = snapshot.constituencies[feature["properties"]["PCON24CD"]]
        lat, lon = seat.measured_from
        checked = seat.point_method in ("population_weighted", "postcode_mean") or seat.name in ISLAND_SEATS
        if checked and not _inside(lon, lat, feature["geometry"]):
            off_land.append(seat.name)
    assert off_land == []
    assert sum(seat.point_method == "area_centroid" for seat in snapshot.constituencies.values()) == 18  # NI only


def test_island_seats_are_measured_from_where_their_people_live(snapshot: Snapshot) -> None:
    """Orkney and Shetland's mean lies at sea between the groups; the Western Isles' between Lewis and Harris."""
    hospitals = {site.name: site for site in snapshot.sites if site.site_type == "acute_hospital"}
    for seat_name, hospital in (
        ("Orkney and Shetland", "The Balfour, Kirkwall"),
        ("Na h-Eileanan an Iar", "Western Isles Hospital, Stornoway"),
    ):
        seat = next(seat for seat in snapshot.constituencies.values() if seat.name == seat_name)
        town = hospitals[hospital]
        assert seat.point_method == "inhabited_medoid"
        assert town.lat is not None and town.lon is not None
        assert great_circle_km(*seat.measured_from, town.lat, town.lon) < 30, seat_name  # Eday, for Orkney


def test_a_snapshot_without_points_or_networks_keeps_the_centroid_and_flags(tmp_path: Path) -> None:
    """A snapshot refreshed before the columns existed still loads; its nearest centres are unconfirmed."""
    folder = tmp_path / "old"
    shutil.copytree(embedded_snapshot_dir(), folder, ignore=shutil.ignore_patterns("sources"))
    path = folder / "constituencies.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, CONSTITUENCY_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    old = load(folder)
    seat = next(seat for seat in old.constituencies.values() if seat.name == "Ynys Môn")
    assert seat.measured_from == (seat.lat, seat.lon) and seat.network_centres == ()
    choice = serving_centre(old.sites, seat)
    assert not choice.confirmed and "no network mapping" in choice.rule and "centroid" in choice.measured_from


def test_an_english_seat_served_past_a_nearer_centre_names_its_alliance(
    every_letter: list[tuple[dict[str, str], str]],
) -> None:
    """Salisbury's alliance (SWAG) holds Swindon, not Southampton, which is nearer: the letter says both truths."""
    row, text = next((row, text) for row, text in _seat_letters(every_letter) if row["constituency"] == "Salisbury")
    assert "Great Western Hospital" in row["nearest_centre"]
    assert "nearest radiotherapy centre in the Somerset, Wiltshire, Avon and Gloucestershire Cancer Alliance" in text


def test_preview_and_sites_say_which_rule_chose_the_centre_and_the_point_measured_from() -> None:
    stdout, _ = run("preview", "Orkney and Shetland")
    assert "Nearest radiotherapy centre: Aberdeen radiotherapy (Anchor Centre)" in stdout
    assert "NHS Orkney" in stdout and "inhabited medoid" in stdout and "centre_unconfirmed" not in stdout
    stdout, _ = run("sites", "--constituency", "Belfast East")
    assert "Northern Ireland Cancer Centre" in stdout and "centroid of its area" in stdout
    assert "flag centre_unconfirmed" in stdout
    stdout, _ = run("sites", "--constituency", "Ynys Môn")
    assert "North Wales Cancer Treatment Centre" in stdout and "population-weighted point" in stdout
