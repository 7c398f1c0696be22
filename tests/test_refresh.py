"""`outreach refresh` end to end, against a real HTTP server on 127.0.0.1 serving the 650 real MPs.

The server is tests/parliament_server.py.

One cold refresh (with faults injected) is made once per module and copied into each test's OUTREACH_HOME, so a
test starts from "refreshed once" and pays only for the refreshes it is about.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import commands
import pytest
from commands import MP_FIELDS
from parliament_server import ParliamentServer, World, member_value, serving, world_from_snapshot

from outreach import snapshot as snapshots
from outreach.errors import ExitCode
from outreach.resources import embedded_snapshot_dir
from outreach.sources.contacts import CONTACTS_CACHE
from outreach.sources.http import Politeness
from outreach.sources.refresh import Origins, refresh

NO_CONTACTS = 4212  # Debbie Abrahams: served an empty contact record
RENAMED = 5131  # Jack Abbott: nameDisplayAs changes before the first refresh


def run(
    server: ParliamentServer, *args: str, home: Path | None = None, expect: ExitCode = ExitCode.OK
) -> tuple[str, str]:
    origins = ("--api-url", server.url, "--committees-api-url", server.url, "--postcodes-url", server.url)
    origins += ("--questions-api-url", server.url)
    env = {"OUTREACH_HOME": str(home)} if home else None
    return commands.run("refresh", *origins, "--max-rps", "0", *args, env=env, expect=expect)


cli = commands.run


def fresh_world() -> World:
    world = world_from_snapshot(snapshots.load(embedded_snapshot_dir()))
    world.contacts[NO_CONTACTS] = []
    renamed = world.members[RENAMED]
    renamed.update(nameDisplayAs="Jack Abbott-Renamed", nameFullTitle="Jack Abbott-Renamed MP")
    return world


@dataclass
class ColdRefresh:
    home: Path
    stdout: str
    stderr: str
    log: list[str]


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory) -> ColdRefresh:
    """One cold refresh with a fault of each recoverable kind on the way."""
    home = tmp_path_factory.mktemp("cold-home")
    with serving(fresh_world()) as server:
        server.fault("no_charset", "/api/Members/Search?House=1&IsCurrentMember=true&skip=0")
        server.fault("text_500", "/api/Members/172/Contact")
        server.fault("reset", "/api/Members/4359/Contact")
        server.fault("too_many", "/api/Posts/OppositionPosts", value=1)
        stdout, stderr = run(server, home=home)
        return ColdRefresh(home, stdout, stderr, server.requests())


@pytest.fixture
def refreshed(cold: ColdRefresh, outreach_home: Path) -> Path:
    """This test's OUTREACH_HOME, holding the cold refresh's snapshot and contact cache."""
    shutil.copytree(cold.home, outreach_home, dirs_exist_ok=True)
    return outreach_home


@pytest.fixture
def server() -> Iterator[ParliamentServer]:
    with serving(fresh_world()) as running:
        yield running


def snapshot_folders(home: Path) -> list[str]:
    return sorted(entry.name for entry in (home / "snapshots").iterdir())


def test_cold_refresh_survives_the_quirks_and_fetches_every_contact_once(cold: ColdRefresh) -> None:
    contacts = [line for line in cold.log if line.endswith("/Contact")]
    assert len(set(contacts)) == 650
    # Retried after a text/plain 500 and after a connection reset; every other contact fetched once.
    assert contacts.count("GET /api/Members/172/Contact") == 2
    assert contacts.count("GET /api/Members/4359/Contact") == 2
    assert len(contacts) == 652
    assert sum("/api/Posts/OppositionPosts" in line for line in cold.log) == 2  # 429 then the answer
    searches = [line for line in cold.log if "/api/Members/Search" in line]
    assert len(searches) == 33  # 650 members in pages of 20; the last page's page.next points at itself
    assert "Shadow ministers appointed (9)" in cold.stdout
    assert "contact details fetched for 650, cached for 0" in cold.stdout
    assert len(snapshot_folders(cold.home)) == 1


def test_mps_json_after_a_refresh_lists_the_650_with_refreshed_fields(refreshed: Path) -> None:
    stdout, stderr = cli("mps", "--json")
    assert "refreshed snapshot of" in stderr
    mps = json.loads(stdout)
    assert len(mps) == 650 and all(set(mp) >= MP_FIELDS for mp in mps)
    by_id = {mp["member_id"]: mp for mp in mps}
    assert by_id[RENAMED]["name"] == "Jack Abbott-Renamed"
    # The empty contact record keeps the previous snapshot's e-mail (and is recorded as a known gap).
    embedded = snapshots.load(embedded_snapshot_dir()).member(NO_CONTACTS)
    assert embedded is not None and embedded.email and by_id[NO_CONTACTS]["email"] == embedded.email
    shadow = by_id[4032]["posts"]
    assert shadow == [
        {
            "name": "Shadow Secretary of State for Health and Social Care",
            "department": "Department of Health and Social Care",
            "kind": "opposition",
        }
    ]
    assert by_id[4124]["committees"] == ["Science, Innovation and Technology Committee"]
    assert sum(bool(mp["committees"]) for mp in mps) >= 20
    folder = Path(snapshot_folders(refreshed)[0])
    gaps = (refreshed / "snapshots" / folder / "known_gaps.csv").read_text(encoding="utf-8")
    assert "contact_record_empty,Debbie Abrahams" in gaps and "ministers_stale" not in gaps


def test_draft_uses_refreshed_names_address_as_parties_and_writes_shadow_ministers_letters(
    refreshed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "outbox"
    stdout, stderr = cli("draft", "--ministers", "--member", str(RENAMED), "--format", "md", "--out", str(out))
    with (out / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    shadows = [row for row in rows if row["kind"] == "shadow_minister"]
    assert len(shadows) == 9 and {row["template"] for row in shadows} == {"shadow_minister"}
    andrew = next(row for row in shadows if row["member_id"] == "4032")
    assert andrew["posts"] == "Shadow Secretary of State for Health and Social Care"
    # Personal (a shadow holds no office of state), by the nameAddressAs the server gives him.
    assert andrew["salutation"] == "Dear Mr Andrew"
    assert {"workforce", "equipment"} <= set(andrew["asks"].split(";"))  # the health-department rule
    letter = (out / andrew["markdown"]).read_text(encoding="utf-8")
    assert "as Shadow Secretary of State for Health and Social Care" in letter
    renamed = next(row for row in rows if row["member_id"] == str(RENAMED))
    assert renamed["name"] == "Jack Abbott-Renamed"
    # nameAddressAs wins for the salutation where the API gives it (here "Mr Abbott" for member 5131).
    assert renamed["salutation"] == "Dear Mr Abbott"


def test_a_refresh_records_committee_seats_and_chairs_and_keeps_the_former_posts(refreshed: Path) -> None:
    snapshot = snapshots.newest(refreshed)
    chair = [item for item in snapshot.record_of(4124) if item.kind == "committee"]
    assert [(item.title, item.role, item.code, item.source) for item in chair] == [
        ("Science, Innovation and Technology Committee", "Chair", "135", "Committees API")
    ]
    committees = {item.member_id for item in snapshot.records if item.kind == "committee"}
    assert committees == {m.member_id for m in snapshot.members if m.committees}
    # No live source brings former posts: the embedded ones are carried over, item for item.
    embedded = snapshots.load(embedded_snapshot_dir())
    assert [i for i in snapshot.records if i.kind == "former_post"] == list(embedded.records)


def test_a_committee_members_letter_acknowledges_the_committee_and_weighs_its_asks(
    refreshed: Path, tmp_path: Path
) -> None:
    stdout, stderr = cli("preview", "4124")
    # Dame Chi Onwurah chairs the committee: the Committees API's isChair, kept in her record.
    assert "As Chair of the Science, Innovation and Technology Committee, you follow closely" in stdout
    assert "rule 'science-committee'" in stdout and "Record: hook 'science-committee'" in stdout
    assert "Ask ai" in stdout


def test_the_diff_reports_by_elections_party_changes_posts_contacts_and_a_vacant_seat(
    refreshed: Path, server: ParliamentServer, tmp_path: Path
) -> None:
    world = server.world
    previous = snapshots.newest(refreshed)
    seat_of = {member.member_id: member for member in previous.members}
    # A by-election in Aberafan Maesteg, won by someone who sat before (not new) ...
    stephen = seat_of[4359]
    returning = member_value(stephen)
    returning.update(id=4099, nameDisplayAs="Jo Former", nameListAs="Former, Jo", nameFullTitle="Jo Former MP")
    returning["latestHouseMembership"] = {
        **returning["latestHouseMembership"],
        "membershipStartDate": "2026-10-01T00:00:00",
    }
    del world.members[4359]
    world.members[4099] = returning
    world.contacts[4099] = [{"type": "Parliamentary office", "line1": "House of Commons", "postcode": "SW1A 0AA"}]
    world.histories[4099] = [
        {"house": 1, "membershipFrom": "Old Seat", "membershipStartDate": "2010-05-06T00:00:00"},
        {"house": 1, "membershipFrom": stephen.constituency, "membershipStartDate": "2026-10-01T00:00:00"},
    ]
    # ... a party change, a changed e-mail, a vacant seat, a new minister and a shadow minister gone.
    world.members[4357]["latestParty"] = {"id": 8, "name": "Independent", "abbreviation": "Ind"}
    world.contacts[4124][0]["email"] = "chi.onwurah.office@parliament.uk"
    vacated = seat_of[4212]
    del world.members[4212]
    # A seat falls vacant as the Members API records it: the member's Commons membership has ended, with a reason.
    world.histories[4212] = [
        {
            "house": 1,
            "membershipFrom": vacated.constituency,
            "membershipStartDate": "2010-05-06T00:00:00",
            "membershipEndDate": "2026-11-02T00:00:00",
            "membershipEndReason": "Resignation (Chiltern Hundreds)",
        }
    ]
    world.post(
        "government", 900, "Minister for Patient Safety", "Department of Health and Social Care", [(5131, "2026-11-20")]
    )
    world.opposition = [post for post in world.opposition if post["name"] != "Shadow Home Secretary"]

    # --full: a changed e-mail of a member whose name and party stayed is only seen once the cache is bypassed.
    stdout, stderr = run(server, "--full", "--json")
    report = json.loads(stdout)
    assert report["contacts_fetched"] == 649 and len(server.requests("/Contact")) == 649  # --full: every one
    changes = report["changes"]
    seats = {row["constituency"]: row for row in changes["seats_changed"]}
    assert seats[stephen.constituency]["before"]["member_id"] == 4359
    assert seats[stephen.constituency]["after"] == {"member_id": 4099, "name": "Jo Former", "party": "Labour"}
    assert seats[vacated.constituency]["after"] is None
    assert report["vacant_seats"] == [vacated.constituency_code]
    assert changes["new_members"] == [
        {
            "member_id": 4099,
            "name": "Jo Former",
            "party": "Labour",
            "constituency": stephen.constituency,
            "is_new": False,  # a by-election winner who sat before is not new
            "by_election_date": "2026-10-01",
        }
    ]
    assert {row["member_id"] for row in changes["departed_members"]} == {4359, 4212}
    assert changes["party_changes"] == [
        {
            "member_id": 4357,
            "name": "Kirsty Blackman",
            "party": "Independent",
            "constituency": "Aberdeen North",
            "before": "Scottish National Party",
            "after": "Independent",
        }
    ]
    appointed = [(row["kind"], row["post"], row["member_id"]) for row in changes["posts_appointed"]]
    assert appointed == [("government", "Minister for Patient Safety", 5131)]
    assert [(row["post"], row["member_id"]) for row in changes["posts_ended"]] == [("Shadow Home Secretary", 4503)]
    assert {(row["member_id"], row["field"], row["after"]) for row in changes["contact_changes"]} == {
        (4124, "email", "chi.onwurah.office@parliament.uk")
    }

    # Every command now uses the new snapshot: 649 MPs, and letters still draft with a seat empty.
    stdout, stderr = cli("mps", "--json")
    mps = {mp["member_id"]: mp for mp in json.loads(stdout)}
    assert len(mps) == 649 and mps[4099]["by_election_date"] == "2026-10-01" and mps[4099]["is_new"] is False
    assert mps[5131]["posts"][0]["name"] == "Minister for Patient Safety"
    out = tmp_path / "outbox"
    stdout, stderr = cli("draft", "--format", "md", "--out", str(out))
    with (out / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert "4099-seat" in {row["letter_id"] for row in rows}
    assert vacated.constituency_code not in {row["constituency_code"] for row in rows if row["kind"] == "seat"}
    stdout, stderr = cli("preview", vacated.constituency, expect=ExitCode.FAILURE)
    assert f"no letter for '{vacated.constituency}': the seat has no MP" in stderr


def test_the_printed_diff_is_tables(refreshed: Path, server: ParliamentServer) -> None:
    server.world.members[4357]["latestParty"] = {"id": 8, "name": "Independent", "abbreviation": "Ind"}
    stdout, stderr = run(server)
    assert "Party changes (1)" in stdout
    assert "Kirsty Blackman" in stdout and "Scottish National Party" in stdout and "Independent" in stdout
    assert "contact details fetched for 1, cached for 649" in stdout  # her party changed


def test_a_failed_refresh_exits_3_with_one_line_and_leaves_the_snapshot_in_use(
    refreshed: Path, server: ParliamentServer
) -> None:
    before = snapshot_folders(refreshed)
    in_use = snapshots.newest(refreshed).describe()
    server.fault("truncated", "skip=40&take=20")
    stdout, stderr = run(server, expect=ExitCode.SOURCE)
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: GET {server.url}/api/Members/Search?House=1&IsCurrentMember=true&skip=40")
    assert "invalid JSON" in lines[-1] and "truncated" in lines[-1]
    assert "Traceback" not in stderr and stdout == ""
    assert snapshot_folders(refreshed) == before  # no new snapshot, no temporary folder left behind
    assert snapshots.newest(refreshed).describe() == in_use


def test_a_failure_after_everything_was_fetched_still_leaves_no_snapshot(
    refreshed: Path, server: ParliamentServer
) -> None:
    before = snapshot_folders(refreshed)
    server.fault("text_500", "/postcodes", times=None)
    server.world.postcodes.clear()
    politeness = Politeness(max_rps=0, attempts=2, backoff=0.01)
    origins = Origins(server.url, server.url, server.url, server.url)
    with pytest.raises(Exception) as failure:
        refresh(refreshed, snapshots.newest(refreshed), origins, verify_sites=True, politeness=politeness)
    assert type(failure.value).__name__ == "SourceError" and failure.value.exit_code == ExitCode.SOURCE  # type: ignore[attr-defined]
    assert str(failure.value) == (
        f"POST {server.url}/postcodes: HTTP 500 text/plain 'error code: 500' (gave up after 2 attempts)"
    )
    assert snapshot_folders(refreshed) == before


def test_incremental_refresh_refetches_only_new_renamed_switched_and_old_contacts(
    refreshed: Path, server: ParliamentServer
) -> None:
    stdout, stderr = run(server)
    assert server.requests("/Contact") == []  # nothing changed: every contact from the cache
    assert "No changes against the snapshot in use." in stdout

    world = server.world
    world.members[4357]["nameDisplayAs"] = "Kirsty Blackman-Renamed"
    world.members[4359]["latestParty"] = {"id": 8, "name": "Independent", "abbreviation": "Ind"}
    newcomer = dict(world.members[4212], id=5999, nameDisplayAs="Sam Newcomer", nameListAs="Newcomer, Sam")
    newcomer["latestHouseMembership"] = {
        **newcomer["latestHouseMembership"],
        "membershipStartDate": "2026-11-01T00:00:00",
    }
    del world.members[4212]
    world.members[5999] = newcomer
    world.contacts[5999] = []
    world.histories[5999] = [{"house": 1, "membershipStartDate": "2026-11-01T00:00:00"}]
    cached = refreshed.joinpath(*CONTACTS_CACHE, "4124.json")
    record = json.loads(cached.read_text(encoding="utf-8"))
    record["fetched"] = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    cached.write_text(json.dumps(record), encoding="utf-8")
    server.clear_log()

    stdout, stderr = run(server, "--json")
    fetched = sorted(server.requests("/Contact"))
    assert fetched == [f"GET /api/Members/{member_id}/Contact" for member_id in (4124, 4357, 4359, 5999)]
    assert server.requests("/api/Members/History") == ["GET /api/Members/History?ids=5999"]
    report = json.loads(stdout)
    assert (report["contacts_fetched"], report["contacts_cached"]) == (4, 646)
    new = report["changes"]["new_members"]
    assert [(row["member_id"], row["is_new"], row["by_election_date"]) for row in new] == [(5999, True, "2026-11-01")]


def test_verify_sites_corrects_constituencies_from_postcodes_and_records_each_disagreement(
    refreshed: Path, server: ParliamentServer
) -> None:
    snapshot = snapshots.newest(refreshed)
    amersham = next(site for site in snapshot.sites if site.site_id == "cdc2025:001")
    arthur = next(site for site in snapshot.sites if site.site_id == "arthur:trawsfynydd")
    server.world.postcodes["HP70JD"] = ("E14001063", "Aldershot")
    server.world.postcodes["LL414DT"] = None
    stdout, stderr = run(server, "--verify-sites", "--json")
    corrections = {row["site_id"]: row for row in json.loads(stdout)["changes"]["site_corrections"]}
    sharing = {site.site_id for site in snapshot.sites if site.postcode in ("HP7 0JD", "LL41 4DT")}
    assert set(corrections) == sharing  # every site at those postcodes, each recorded
    assert {key: corrections[key] for key in (amersham.site_id, arthur.site_id)} == {
        amersham.site_id: {
            "site_id": amersham.site_id,
            "name": amersham.name,
            "postcode": "HP7 0JD",
            "before": "E14001162",
            "after": "E14001063",
            "outcome": "corrected",
        },
        arthur.site_id: {
            "site_id": arthur.site_id,
            "name": arthur.name,
            "postcode": "LL41 4DT",
            "before": "W07000096",
            "after": None,
            "outcome": "postcode_unknown",
        },
    }
    unique_postcodes = len({site.postcode.replace(" ", "") for site in snapshot.sites if site.postcode})
    assert len(server.requests("POST /postcodes")) == -(-unique_postcodes // 100)  # at most 100 a request
    latest = snapshots.newest(refreshed)
    assert next(s for s in latest.sites if s.site_id == amersham.site_id).constituency_code == "E14001063"
    assert next(s for s in latest.sites if s.site_id == arthur.site_id).constituency_code == "W07000096"
    with (latest.path / "site_checks.csv").open(encoding="utf-8", newline="") as handle:
        checks = {row["site_id"]: row["outcome"] for row in csv.DictReader(handle)}
    assert checks[amersham.site_id] == "corrected" and checks[arthur.site_id] == "postcode_unknown"
    assert set(checks) == sharing
    stdout, stderr = cli("sites", "--constituency", "Aldershot", "--json")
    assert amersham.site_id in {site["site_id"] for site in json.loads(stdout)}


def test_a_stalled_response_is_retried_after_the_timeout(refreshed: Path, server: ParliamentServer) -> None:
    server.fault("stall", "skip=20&take=20", value=2)
    politeness = Politeness(max_rps=0, timeout=0.5, backoff=0.01)
    origins = Origins(server.url, server.url, server.url, server.url)
    result = refresh(refreshed, snapshots.newest(refreshed), origins, politeness=politeness)
    assert len(server.requests("skip=20&take=20")) == 2
    assert len(result.snapshot.members) == 650 and result.contacts_fetched == 0


def test_a_post_retitled_in_the_same_department_is_not_an_appointment_and_keeps_its_rank(
    refreshed: Path, server: ParliamentServer
) -> None:
    # The embedded snapshot carries IfG's titles; Parliament names the same job by its rank and department.
    smyth = next(post for post in server.world.government if post["name"] == "Minister for Secondary Care")
    smyth["name"] = smyth["hansardName"] = "Minister of State (Department of Health and Social Care)"
    stdout, stderr = run(server, "--json")
    changes = json.loads(stdout)["changes"]
    assert changes["posts_appointed"] == [] and changes["posts_ended"] == []
    assert [(row["member_id"], row["before"], row["post"]) for row in changes["posts_retitled"]] == [
        (4444, "Minister for Secondary Care", "Minister of State (Department of Health and Social Care)")
    ]
    (post,) = snapshots.newest(refreshed).posts_of(4444)
    assert (post.department, post.rank) == ("DHSC", "MoS")
