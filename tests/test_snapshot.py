"""The embedded snapshot: current MPs, ministers, departments and sites, and clear errors on bad files."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from outreach import snapshot as snapshots
from outreach.errors import DataError
from outreach.members import Member
from outreach.resources import embedded_snapshot_dir
from outreach.snapshot import Snapshot

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def seat(snapshot: Snapshot, name: str) -> Member:
    """Return the MP for the constituency called `name`."""
    return next(member for member in snapshot.members if member.constituency == name)


# ---------------------------------------------------------------- provenance


def test_snapshot_is_dated_by_its_newest_source(snapshot: Snapshot) -> None:
    assert snapshot.kind == "embedded"
    assert snapshot.built == date(2026, 8, 13)  # the Clacton by-election, not the day it was built
    assert snapshot.posts_as_of == date(2026, 6, 19)
    assert snapshot.sources["members"] == "2026-06-27"
    assert snapshot.sources["contacts"] == "2026-05-03"
    assert snapshot.describe() == "embedded snapshot of 2026-08-13 (data/)"
    assert snapshot.posts_age_days(date(2026, 7, 19)) == 30


# ---------------------------------------------------------------- members


def test_one_member_per_seat(snapshot: Snapshot) -> None:
    assert len(snapshot.members) == 650
    assert len({m.constituency_code for m in snapshot.members}) == 650
    assert len({m.member_id for m in snapshot.members}) == 650
    assert {m.constituency_code for m in snapshot.members} == set(snapshot.constituencies)
    nations = [m.nation for m in snapshot.members]
    assert (
        nations.count("England"),
        nations.count("Scotland"),
        nations.count("Wales"),
        nations.count("Northern Ireland"),
    ) == (543, 57, 32, 18)
    assert [m.constituency for m in snapshot.members][:2] == ["Aberafan Maesteg", "Aberdeen North"]


def test_by_election_winners_replace_the_2024_winners(snapshot: Snapshot) -> None:
    runcorn = seat(snapshot, "Runcorn and Helsby")
    assert (runcorn.member_id, runcorn.name, runcorn.party) == (5403, "Sarah Pochin", "Reform UK")
    assert runcorn.by_election_date == date(2025, 5, 1)
    assert runcorn.is_new
    assert snapshot.member(5403) == runcorn

    clacton = seat(snapshot, "Clacton")  # re-contested 2026-08-13, after every other source
    assert (clacton.member_id, clacton.name, clacton.party) == (5091, "Nigel Farage", "Reform UK")
    assert clacton.by_election_date == date(2026, 8, 13)
    # Re-elected in his own seat: his service is dated from the start of his continuous membership, in 2024.
    assert clacton.member_since == date(2024, 7, 4)
    assert not clacton.is_new  # a sitting MP when he stood again

    makerfield = seat(snapshot, "Makerfield")
    assert makerfield.name == "Andy Burnham"
    assert makerfield.full_title == "Rt Hon Andy Burnham MP"  # DfE leaves out "MP"
    assert not makerfield.is_new  # a former MP
    assert makerfield.list_as == "Burnham, Andy"  # not in the May 2026 contacts: derived

    assert seat(snapshot, "Aberdeen South").name == "Douglas Lumsden"
    assert seat(snapshot, "Gorton and Denton").party == "Green Party"
    assert sum(1 for m in snapshot.members if m.by_election_date) == 6


def test_names_titles_and_welsh_spelling(snapshot: Snapshot) -> None:
    ynys_mon = snapshot.seat("W07000112")
    assert ynys_mon is not None and ynys_mon.constituency == "Ynys Môn"
    assert snapshot.constituencies["W07000112"].name == "Ynys Môn"
    assert seat(snapshot, "Montgomeryshire and Glyndŵr").nation == "Wales"

    starmer = seat(snapshot, "Holborn and St Pancras")
    assert starmer.name == "Sir Keir Starmer"
    assert starmer.full_title == "Rt Hon Sir Keir Starmer MP"
    whittingdale = seat(snapshot, "Maldon")
    assert whittingdale.list_as == "Whittingdale, Sir John"
    assert (whittingdale.first_name, whittingdale.surname) == ("John", "Whittingdale")
    assert whittingdale.gender == "M"
    assert whittingdale.member_since == date(1992, 4, 9)
    assert all(m.address_as is None for m in snapshot.members)  # no nameAddressAs offline


def test_dfe_email_wins_and_addresses(snapshot: Snapshot) -> None:
    thornberry = seat(snapshot, "Islington South and Finsbury")
    # The Members API lists thornberrye@ first; the newer DfE lookup gives the .mp address.
    assert thornberry.email == "emily.thornberry.mp@parliament.uk"
    assert thornberry.email_source == "dfe-2026-06-27"
    lewis = seat(snapshot, "New Forest East")  # "No email found" in DfE and none in the Members API
    assert lewis.email is None and lewis.email_source == ""

    blackman = seat(snapshot, "Aberdeen North")
    assert blackman.parliamentary_address == ("House of Commons", "London", "SW1A 0AA")
    assert blackman.constituency_office == ("70 Rosemount Place", "Aberdeen", "AB25 2XJ")
    corbyn = seat(snapshot, "Islington North")  # a "Constituency office" label without an address
    assert corbyn.constituency_office == ()
    assert all(m.parliamentary_address[-1] == "SW1A 0AA" for m in snapshot.members)


def test_parties_are_todays(snapshot: Snapshot) -> None:
    assert seat(snapshot, "East Wiltshire").party == "Reform UK"  # Danny Kruger, Conservative in 2024
    assert seat(snapshot, "Great Yarmouth").party == "Restore Britain"  # Rupert Lowe, Reform UK in 2024
    assert seat(snapshot, "Tewkesbury").party == "Independent"  # DfE (June) over Members API (May)
    islington_north = seat(snapshot, "Islington North")
    assert (islington_north.party, islington_north.party_abbreviation) == ("Your Party", "YP")
    parties = [m.party for m in snapshot.members]
    assert parties.count("Labour") + parties.count("Labour (Co-op)") == 403
    assert parties.count("Conservative") == 117
    assert parties.count("Reform UK") == 8
    assert parties.count("Sinn Féin") == 7
    assert parties.count("Speaker") == 1
    assert all(m.party_abbreviation for m in snapshot.members)


# ---------------------------------------------------------------- posts and departments


def test_government_posts_of_both_houses(snapshot: Snapshot) -> None:
    assert len(snapshot.posts) == 147
    lords = [p for p in snapshot.posts if p.house == "Lords"]
    assert len(lords) == 37
    merron = next(p for p in snapshot.posts if p.name == "Baroness Merron")
    assert (merron.house, merron.department) == ("Lords", "DHSC")
    hermer = next(p for p in snapshot.posts if p.name == "Lord Hermer")
    assert (hermer.post, hermer.rank, hermer.cabinet) == ("Attorney General", "SoS", False)  # attends only
    assert all(p.kind == "government" for p in snapshot.posts)

    (prime_minister,) = snapshot.posts_of(4514)
    assert (prime_minister.post, prime_minister.seniority) == ("Prime Minister", 0)
    assert prime_minister.cabinet
    lammy = snapshot.posts_of(206)
    assert [p.post for p in lammy] == ["Deputy Prime Minister", "Secretary of State for Justice and Lord Chancellor"]
    vallance = snapshot.posts_of(5363)  # one post shared by DSIT and DESNZ
    assert {p.department for p in vallance} == {"DSIT", "DESNZ"}
    assert snapshot.posts_of(5403) == ()
    health_secretary = next(p for p in snapshot.posts if p.post == "Secretary of State for Health and Social Care")
    assert health_secretary.name == "James Murray" and health_secretary.start_date == date(2026, 5, 14)


def test_departments(snapshot: Snapshot) -> None:
    desnz = snapshot.departments["DESNZ"]
    assert not desnz.confirmed and desnz.address_lines == () and desnz.postcode == ""
    dhsc = snapshot.departments["DHSC"]
    assert dhsc.confirmed
    assert dhsc.address_lines[-2:] == ("39 Victoria Street", "London") and dhsc.postcode == "SW1H 0EU"
    assert snapshot.departments["DfT"].email is None  # a contact form, not an e-mail address
    assert snapshot.departments["DSIT"].email == "correspondence@dsit.gov.uk"
    assert not snapshot.departments["DBT"].confirmed  # PARTLY CONFIRMED
    assert snapshot.departments["SG"].confirmed
    assert sum(d.confirmed for d in snapshot.departments.values()) == 19


# ---------------------------------------------------------------- sites


def test_sites_linacs_and_arthur(snapshot: Snapshot) -> None:
    sites = {site.site_id: site for site in snapshot.sites}
    assert len(sites) == len(snapshot.sites) == 1332
    shrewsbury = sites["rt:SY38XQ"]
    assert shrewsbury.name == "Lingen Davies Cancer Centre (Royal Shrewsbury Hospital)"
    assert (shrewsbury.linacs, shrewsbury.linacs_scope, shrewsbury.linacs_year) == (3, "centre", 2024)
    assert shrewsbury.linacs_as_of == "2024-05-30"
    assert shrewsbury.linacs_source_url.startswith("https://www.shropshirestar.com/")

    marsden = sites["rt:SW36JJ"]
    assert (marsden.linacs, marsden.linacs_scope, marsden.linacs_year) == (11, "trust_total", 2015)
    oldham = sites["rt:OL12JH"]  # a centre row beats The Christie's trust total
    assert (oldham.linacs, oldham.linacs_scope, oldham.role) == (2, "centre", "satellite")
    kent = sites["rt:ME169QQ"]
    assert (kent.linacs_as_of.startswith("c.2009-10"), kent.linacs_year) == (True, 2009)
    newcastle = sites["rt:NE77DN"]
    assert newcastle.linacs == 8 and newcastle.linacs_year is None  # undated: never cited
    assert sites["rt:W68RF"].replacement_2025 and not shrewsbury.replacement_2025

    (arthur,) = [site for site in snapshot.sites if site.site_type == "proposed_isotope_reactor"]
    assert arthur.constituency_code == "W07000096" and "Trawsfynydd" in arthur.name
    types = [site.site_type for site in snapshot.sites]
    assert types.count("radiotherapy_centre") == 74 and types.count("nhs_hospital_site") == 770
    assert all(site.constituency_code in snapshot.constituencies for site in snapshot.sites)
    assert sum(site.neuroscience_centre for site in snapshot.sites) == 24
    assert sum(site.has_imaging for site in snapshot.sites) == 164


# ---------------------------------------------------------------- errors and choosing a snapshot


@pytest.fixture
def copy_of_data(tmp_path: Path) -> Path:
    folder = tmp_path / "snap"
    shutil.copytree(embedded_snapshot_dir(), folder)
    return folder


def edit_line(path: Path, number: int, change: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    assert change in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(change, new, 1)
    path.write_text("\n".join(lines), encoding="utf-8")


def test_missing_column_names_file_and_line(copy_of_data: Path) -> None:
    edit_line(copy_of_data / "members.csv", 1, ",party,", ",faction,")
    with pytest.raises(DataError, match=r"^members\.csv:1: missing column 'party'$"):
        snapshots.load(copy_of_data)


def test_short_row_names_the_missing_column(copy_of_data: Path) -> None:
    path = copy_of_data / "members.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[40] = rows[40][:8]  # line 41 stops after gender
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    with pytest.raises(DataError, match=r"^members\.csv:41: missing column 'party'$"):
        snapshots.load(copy_of_data)


def test_malformed_member_id_names_the_line(copy_of_data: Path) -> None:
    path = copy_of_data / "members.csv"
    first = path.read_text(encoding="utf-8").split("\n")[11].split(",")[0]
    edit_line(path, 12, first + ",", "12a,")
    with pytest.raises(DataError, match=r"^members\.csv:12: member_id '12a' is not a whole number$"):
        snapshots.load(copy_of_data)


def test_bad_site_coordinate_and_missing_metadata(copy_of_data: Path) -> None:
    path = copy_of_data / "sites.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[1]["lat"] = "north"  # line 3
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(DataError, match=r"^sites\.csv:3: lat 'north' is not a number$"):
        snapshots.load(copy_of_data)
    (copy_of_data / "snapshot.json").unlink()
    with pytest.raises(DataError, match="snapshot.json: missing"):
        snapshots.load(copy_of_data)


def test_newest_prefers_the_latest_refresh(tmp_path: Path, copy_of_data: Path) -> None:
    assert snapshots.newest(None).kind == "embedded"
    assert snapshots.newest(tmp_path).kind == "embedded"  # no snapshots folder yet
    folder = tmp_path / "snapshots"
    for name, built in (("2026-10-01T090000", "2026-10-01"), ("2026-11-28T101500", "2026-11-28")):
        target = folder / name
        shutil.copytree(copy_of_data, target)
        meta = json.loads((target / "snapshot.json").read_text(encoding="utf-8"))
        meta.update(kind="refreshed", built=built)
        (target / "snapshot.json").write_text(json.dumps(meta), encoding="utf-8")
    (folder / "2026-12-01T000000").mkdir()  # an unfinished refresh: no snapshot.json
    chosen = snapshots.newest(tmp_path)
    assert (chosen.kind, chosen.built) == ("refreshed", date(2026, 11, 28))
    assert chosen.path.name == "2026-11-28T101500"
    assert chosen.describe() == f"refreshed snapshot of 2026-11-28 ({folder / '2026-11-28T101500'})"


@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="needs the shared source data")
def test_build_reproduces_data_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "scripts/build_data.py"), "--shared", str(SHARED), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    built = sorted(path.name for path in tmp_path.iterdir())
    # data/sources/ holds the builder's own inputs (not in ../shared), not its output
    assert built == sorted(path.name for path in (REPO / "data").iterdir() if path.name != "sources")
    for name in built:
        assert (tmp_path / name).read_bytes() == (REPO / "data" / name).read_bytes(), name
