"""`outreach refresh` against a hostile Members API (tests/parliament_server.py's hostile faults and `hostile()`).

Each refusal asserts the exit code, the one line (naming the request and the field, or the threshold and the
records), and that nothing was written: the snapshot in use stays the embedded one, no snapshot folder, no
staging folder. Where the data is merely ugly (script or formula text in a name) the refresh succeeds and keeps
the text as text. Issue 12, items 5 and 6.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import commands
import httpx
import pytest
from parliament_server import SCRIPT_NAMES, ParliamentServer, World, hostile, serving, world_from_snapshot

from outreach import snapshot as snapshots
from outreach.errors import ExitCode, SourceError
from outreach.resources import embedded_snapshot_dir
from outreach.sources.contacts import CONTACTS_CACHE
from outreach.sources.fields import Json
from outreach.sources.http import MAX_BODY, Deadline, DeadlinePassed, JsonClient, Politeness
from outreach.sources.plausible import LARGE_CHANGE_SHARE

SEARCH = "/api/Members/Search?House=1&IsCurrentMember=true"
EMBEDDED = snapshots.load(embedded_snapshot_dir())


def refresh(
    server: ParliamentServer, *args: str, expect: ExitCode = ExitCode.OK, env: dict[str, str] | None = None
) -> tuple[str, str]:
    """Run `outreach refresh` against the server, uncapped; return (stdout, stderr)."""
    origins = ("--api-url", server.url, "--committees-api-url", server.url, "--postcodes-url", server.url)
    origins += ("--questions-api-url", server.url)
    return commands.run("refresh", *origins, "--max-rps", "0", *args, expect=expect, env=env)


def refused(server: ParliamentServer, home: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Return the one error line of a refresh that must fail with exit 3 and write nothing."""
    stdout, stderr = refresh(server, *args, expect=ExitCode.SOURCE, env=env)
    lines = stderr.strip().splitlines()
    assert stdout == "" and "Traceback" not in stderr
    assert lines[-1].startswith("error: ")
    folder = home / snapshots.SNAPSHOTS_FOLDER
    assert not folder.exists() or list(folder.iterdir()) == []  # no snapshot, no staging folder
    assert snapshots.newest(home).kind == "embedded"
    return lines[-1].removeprefix("error: ")


@pytest.fixture
def world() -> World:
    return world_from_snapshot(EMBEDDED)


@pytest.fixture
def server(world: World) -> Iterator[ParliamentServer]:
    with serving(world) as running:
        yield running


# ---------------------------------------------------------------- item 6: bodies, types, deadline


def test_a_huge_body_is_refused_once_it_passes_the_cap(server: ParliamentServer, outreach_home: Path) -> None:
    server.fault("huge", "/api/Posts/GovernmentPosts", times=None, value=MAX_BODY + 4 * 65536)
    line = refused(server, outreach_home)
    assert line == (
        f"GET {server.url}/api/Posts/GovernmentPosts: the body is over the limit of {MAX_BODY:,} bytes "
        "(stopped reading)"
    )


@pytest.mark.parametrize(
    ("depth", "message"),
    [
        (40, "the JSON nests 40 levels deep, more than 32"),
        (200_000, "the JSON nests deeper than 32 levels"),  # deeper than Python's parser can go
    ],
    ids=["over-the-cap", "past-the-parser"],
)
def test_deep_nesting_is_one_line(server: ParliamentServer, outreach_home: Path, depth: int, message: str) -> None:
    server.fault("deep", "skip=20&take=20", value=depth)
    assert refused(server, outreach_home) == f"GET {server.url}{SEARCH}&skip=20&take=20: {message}"


@pytest.mark.parametrize(
    ("break_it", "request_path", "field", "problem"),
    [
        (
            lambda w: w.members[172].update(nameDisplayAs=["Diane", "Abbott"]),
            f"{SEARCH}&skip=0&take=20",
            "items[1].value.nameDisplayAs",
            "should be a string, got array",
        ),
        (
            lambda w: w.members[5131].update(latestParty=[{"name": "Labour"}]),
            f"{SEARCH}&skip=0&take=20",
            "items[0].value.latestParty",
            "should be an object, got array",
        ),
        (
            lambda w: w.members[4212].update(id="4212"),
            f"{SEARCH}&skip=0&take=20",
            "items[2].value.id",
            "should be a number, got string",
        ),
        (
            lambda w: w.members[172]["latestHouseMembership"].update(membershipStartDate="last Tuesday"),
            f"{SEARCH}&skip=0&take=20",
            "items[1].value.latestHouseMembership.membershipStartDate",
            "is not a date: 'last Tuesday'",
        ),
        (
            lambda w: w.government[0].update(name=17),
            "/api/Posts/GovernmentPosts",
            "[0].value.name",
            "should be a string, got number",
        ),
        (
            lambda w: w.opposition[0]["postHolders"][0].update(startDate=True),
            "/api/Posts/OppositionPosts",
            "[0].value.postHolders[0].startDate",
            "should be a string, got boolean",
        ),
    ],
    ids=["name-array", "party-array", "id-string", "date-text", "post-name-number", "start-date-boolean"],
)
def test_a_wrong_json_type_anywhere_is_one_line_naming_the_request_and_field(
    world: World,
    server: ParliamentServer,
    outreach_home: Path,
    break_it: object,
    request_path: str,
    field: str,
    problem: str,
) -> None:
    break_it(world)  # type: ignore[operator]
    assert refused(server, outreach_home) == f"GET {server.url}{request_path}: {field} {problem}"


def test_a_contact_record_with_wrong_types_is_refused_before_it_is_cached(
    world: World, server: ParliamentServer, outreach_home: Path
) -> None:
    world.contacts[172][0]["email"] = {"address": "diane.abbott.office@parliament.uk"}
    line = refused(server, outreach_home)
    assert line == f"GET {server.url}/api/Members/172/Contact: value[0].email should be a string, got object"
    assert not outreach_home.joinpath(*CONTACTS_CACHE, "172.json").exists()  # never saved as a repr


def test_a_slow_drip_is_stopped_by_the_deadline_saying_what_was_fetched(
    server: ParliamentServer, outreach_home: Path
) -> None:
    # 64 bytes every 50 ms: every read arrives well inside the 30 s read timeout, the page would take 17 s.
    server.fault("drip", "skip=0&take=20", value=0.05)
    line = refused(server, outreach_home, "--deadline", "1.5")
    assert line.startswith(f"GET {server.url}{SEARCH}&skip=0&take=20: stopped at the refresh's deadline of 1.5 s")
    assert "; fetched by then: " in line and " requests; nothing saved, the snapshot in use is unchanged" in line


def test_the_deadline_comes_from_the_environment_and_a_bad_value_is_one_line(
    server: ParliamentServer, outreach_home: Path
) -> None:
    server.fault("drip", "skip=0&take=20", times=None, value=0.05)
    line = refused(server, outreach_home, env={"OUTREACH_REFRESH_DEADLINE": "1"})
    assert "stopped at the refresh's deadline of 1 s" in line
    stdout, stderr = refresh(server, expect=ExitCode.FAILURE, env={"OUTREACH_REFRESH_DEADLINE": "soon"})
    assert (
        stderr.strip().splitlines()[-1] == "error: OUTREACH_REFRESH_DEADLINE: 'soon' is not a number of seconds above 0"
    )


def test_a_retry_that_would_wait_past_the_deadline_fails_at_once_without_waiting() -> None:
    now = [0.0]
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        now[0] += 8.0  # each answer takes 8 s of the 10 s deadline
        return httpx.Response(503, text="busy", headers={"Content-Type": "text/plain"})

    deadline = Deadline(10, clock=lambda: now[0])
    politeness = Politeness(max_rps=0, backoff=4)
    origin = "https://members-api.parliament.uk"
    client = JsonClient(
        origin, politeness, transport=httpx.MockTransport(handler), sleep=slept.append, deadline=deadline
    )
    with pytest.raises(DeadlinePassed) as failure:
        client.get("/api/Posts/GovernmentPosts")
    assert str(failure.value) == (
        f"GET {origin}/api/Posts/GovernmentPosts: stopped at the refresh's deadline of 10 s "
        "(a retry would wait past it; the last try: HTTP 503 text/plain 'busy')"
    )
    assert slept == [] and client.requests == 1


def test_a_declared_length_over_the_cap_is_refused_unread() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"[]" + b" " * 2048, headers={"Content-Type": "application/json"})

    client = JsonClient("https://x.test", Politeness(max_rps=0, max_body=1024), transport=httpx.MockTransport(handler))
    with pytest.raises(
        SourceError, match=r"^GET https://x.test/a: the body is 2,050 bytes, more than the limit of 1,024$"
    ):
        client.get("/a")


def test_text_fields_that_are_lists_or_objects_are_refused_not_saved_as_a_repr() -> None:
    record = Json.of({"value": {"name": ["a", "b"], "party": {"name": "x"}}}, "GET https://x.test/m")
    value = record.obj("value")
    for key, got in (("name", "array"), ("party", "object")):
        with pytest.raises(SourceError) as failure:
            value.text(key)
        assert str(failure.value) == f"GET https://x.test/m: value.{key} should be a string, got {got}"


# ---------------------------------------------------------------- item 5: a short or largely changed list


def test_a_truncated_member_list_is_refused_then_accepted_with_the_flag(
    world: World, server: ParliamentServer, outreach_home: Path
) -> None:
    cut = hostile(world, "truncated_list")
    line = refused(server, outreach_home)
    seats = {EMBEDDED.member(member_id).constituency_code: member_id for member_id in cut}  # type: ignore[union-attr]
    first = EMBEDDED.member(seats[min(seats)])  # the unexplained seats are named in ONS code order
    assert line.startswith(
        "refresh refused: the Members API lists 550 current MPs for 650 seats, 100 short, and only 0 of the empty "
        "seats are known vacancies; 100 seats lost their MP without the API recording an end of membership: "
        f"{first.constituency}: {first.name} ({first.member_id}); "  # type: ignore[union-attr]
    )
    assert line.endswith(
        "and 97 more; if Parliament really changed this much (a general election), run again with "
        "--accept-large-change; the snapshot in use is unchanged"
    )
    assert server.requests("/Contact") == []  # refused before any contact record was fetched

    stdout, stderr = refresh(server, "--accept-large-change", "--json")
    report = json.loads(stdout)
    assert report["snapshot"]["members"] == 550 and len(report["vacant_seats"]) == 100


def test_a_vacancy_the_api_explains_passes_and_one_it_does_not_is_refused(
    world: World, server: ParliamentServer, outreach_home: Path
) -> None:
    del world.members[4357]  # Kirsty Blackman, Aberdeen North: not listed, membership not ended
    line = refused(server, outreach_home)
    assert "and only 0 of the empty seats are known vacancies; 1 seats lost their MP" in line
    assert "Aberdeen North: Kirsty Blackman (4357); if Parliament really changed this much" in line
    world.histories[4357] = [
        {"house": 1, "membershipStartDate": "2015-05-07T00:00:00", "membershipEndDate": "2026-11-20T00:00:00"}
    ]
    stdout, stderr = refresh(server, "--json")
    assert json.loads(stdout)["vacant_seats"] == [EMBEDDED.member(4357).constituency_code]  # type: ignore[union-attr]


def _replace_members(world: World, count: int) -> None:
    """Give the first `count` seats (by member id) a new member, as an election would."""
    for member_id in sorted(world.members)[:count]:
        value = world.members.pop(member_id)
        new_id = 90_000 + member_id
        world.members[new_id] = {**value, "id": new_id, "nameDisplayAs": f"New Member {member_id}"}
        world.people[new_id] = world.members[new_id]
        world.contacts[new_id] = world.contacts[member_id]
        world.histories[new_id] = [{"house": 1, "membershipStartDate": "2026-11-26T00:00:00"}]


def test_more_than_a_tenth_of_seats_changing_at_once_is_refused_naming_the_threshold(
    world: World, server: ParliamentServer, outreach_home: Path
) -> None:
    allowed = int(650 * LARGE_CHANGE_SHARE)
    _replace_members(world, allowed + 1)
    line = refused(server, outreach_home)
    assert line.startswith(f"refresh refused: {allowed + 1} of 650 seats (10%) would change MP at once, more than 10% ")
    assert f"({allowed} seats): " in line and "→ New Member " in line and "--accept-large-change" in line


def test_a_tenth_of_seats_changing_is_accepted(world: World, server: ParliamentServer, outreach_home: Path) -> None:
    _replace_members(world, int(650 * LARGE_CHANGE_SHARE))
    stdout, stderr = refresh(server, "--json")
    assert len(json.loads(stdout)["changes"]["new_members"]) == 65


@pytest.mark.parametrize(
    ("make", "message"),
    [
        ("listed twice", "member 172 (Ms Diane Abbott) is listed 2 times"),
        ("two seats", "member 172 (Ms Diane Abbott) is listed for two seats: "),
        ("seat with two members", "the Members API lists two current members for Aberdeen North: "),
    ],
)
def test_a_list_that_contradicts_itself_is_refused_even_with_the_flag(
    world: World, server: ParliamentServer, outreach_home: Path, make: str, message: str
) -> None:
    copy = json.loads(json.dumps(world.members[172]))
    if make == "two seats":
        copy["latestHouseMembership"]["membershipFromId"] = world.members[4357]["latestHouseMembership"][
            "membershipFromId"
        ]
    if make == "seat with two members":
        world.members[4359]["latestHouseMembership"] = dict(world.members[4357]["latestHouseMembership"])
    else:
        world.members[99_999] = copy  # served as a second item with id 172
    for flags in ((), ("--accept-large-change",)):
        line = refused(server, outreach_home, *flags)
        assert line.startswith("refresh refused: ") and message in line
        assert line.endswith(
            "--accept-large-change cannot accept a list that contradicts itself; the snapshot in use is unchanged"
        )


# ---------------------------------------------------------------- ugly but valid data


def test_script_and_formula_text_in_names_is_kept_as_text(
    world: World, server: ParliamentServer, outreach_home: Path
) -> None:
    hostile(world, "script_and_formula")
    stdout, stderr = refresh(server, "--json")
    names = {
        row["member_id"]: row["after"]
        for row in json.loads(stdout)["changes"]["name_changes"]
        if row["field"] == "name"
    }
    assert names == SCRIPT_NAMES
    stdout, stderr = commands.run("mps", "--json")
    listed = {mp["member_id"]: mp["name"] for mp in json.loads(stdout)}
    assert {member_id: listed[member_id] for member_id in SCRIPT_NAMES} == SCRIPT_NAMES


# ---------------------------------------------------------------- SIGKILL


KILLS = 6


def _whole(folder: Path) -> int:
    """Return the members of a snapshot folder, once it loads and its snapshot.json's counts match its files."""
    loaded = snapshots.load(folder)
    counts = json.loads((folder / snapshots.META_FILE).read_text(encoding="utf-8"))["counts"]
    assert counts["members"] == len(loaded.members) and counts["posts"] == len(loaded.posts)
    return len(loaded.members)


def _leftovers(home: Path) -> list[str]:
    """Return the staging folders and temporary files a killed refresh can leave in `home`."""
    staging = [entry.name for entry in (home / snapshots.SNAPSHOTS_FOLDER).glob(".refresh-*")]
    return staging + [part.name for part in (home / "cache").rglob(".*.part")]


def _wait_for_staging(home: Path, process: subprocess.Popen[bytes], limit: float) -> None:
    """Return once a refresh has begun writing its snapshot (a staging folder exists), it ended, or `limit` passed."""
    ends = time.monotonic() + limit
    folder = home / snapshots.SNAPSHOTS_FOLDER
    while time.monotonic() < ends and process.poll() is None:
        if folder.is_dir() and any(folder.glob(".refresh-*")):
            return
        time.sleep(0.001)


def test_a_refresh_killed_at_random_moments_leaves_the_old_or_a_new_whole_snapshot(
    world: World, server: ParliamentServer, tmp_path: Path
) -> None:
    """SIGKILL `outreach refresh --full` again and again: the snapshot in use is always whole, old or new; the next
    finished run leaves no staging folder or temporary file behind.

    Kills land at a random moment of the run (fetching, caching contact records), or just after the snapshot's
    staging folder appears (writing, checking, renaming).
    """
    home = tmp_path / "home"
    env = {**os.environ, "OUTREACH_HOME": str(home)}
    origins = ["--api-url", server.url, "--committees-api-url", server.url, "--postcodes-url", server.url]
    origins += ["--questions-api-url", server.url]
    command = [sys.executable, "-m", "outreach", "refresh", *origins, "--max-rps", "0", "--full"]
    started = time.monotonic()
    subprocess.run(command, env=env, check=True, capture_output=True)
    whole = time.monotonic() - started
    seed = int(os.environ.get("OUTREACH_CRASH_SEED", random.randrange(1 << 30)))
    print(f"refresh crash test seed: {seed} (rerun with OUTREACH_CRASH_SEED={seed}); a whole run {whole:.1f} s")
    chance = random.Random(seed)
    outcomes = Counter[str]()
    for kill in range(KILLS):
        before = snapshots.newest(home).path
        world.members[4357]["latestParty"] = {"id": 8, "name": f"Independent {kill}", "abbreviation": "Ind"}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if kill % 2:
            _wait_for_staging(home, process, limit=2 * whole)
            time.sleep(chance.uniform(0, 0.5))
        else:
            time.sleep(chance.uniform(0, whole))
        process.send_signal(signal.SIGKILL)
        process.wait()
        in_use = snapshots.newest(home)
        outcomes["new" if in_use.path != before else "old"] += 1
        assert in_use.kind == "refreshed" and _whole(in_use.path) == 650
        for folder in (home / snapshots.SNAPSHOTS_FOLDER).iterdir():
            if not folder.name.startswith(".") and folder.is_dir():
                _whole(folder)  # every snapshot a later command could pick is whole
    print(f"after {KILLS} kills the snapshot in use was: {dict(outcomes)}")
    subprocess.run(command, env=env, check=True, capture_output=True)
    assert _leftovers(home) == []
    newest = snapshots.newest(home)
    assert _whole(newest.path) == 650 and newest.member(4357).party == f"Independent {KILLS - 1}"  # type: ignore[union-attr]
