"""`outreach refresh` brings each member's record: Experience, Focus, RegisteredInterests and Spokespersons from the
Members API, written questions from the Written Questions API, against the local server on 127.0.0.1
(tests/parliament_server.py), and letters use them.

One cold refresh is made once per module and copied into each test's OUTREACH_HOME.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import commands
import pytest
from parliament_server import ParliamentServer, World, serving, world_from_snapshot

from outreach import campaign as campaigns
from outreach import snapshot as snapshots
from outreach.errors import ExitCode
from outreach.resources import default_campaign_dir, embedded_snapshot_dir
from outreach.sources.contacts import RECORDS_CACHE
from outreach.targeting import Selection, select

WHIP = 1603  # Lord Wilson of Sedgefield, a Lord in Waiting: the server makes him spokesperson for DHSC and DSIT
COMMONS_WHIP = 4871  # Christian Wakeford, a Lord Commissioner (Whip) in the Commons
RADIOGRAPHER = 4212  # Debbie Abrahams: the server lists a therapeutic radiographer's career for her
FORMER = 99_001  # a member no longer in the Commons: the server has them asking questions
ASKER = 5450  # Douglas Lumsden, new to this Parliament: given a written question on radiotherapy below


def run(server: ParliamentServer, *args: str, expect: ExitCode = ExitCode.OK) -> commands.Ran:
    origins = ("--api-url", server.url, "--committees-api-url", server.url, "--postcodes-url", server.url)
    return commands.run("refresh", *origins, "--questions-api-url", server.url, "--max-rps", "0", *args, expect=expect)


def fresh_world() -> World:
    world = world_from_snapshot(snapshots.load(embedded_snapshot_dir()))
    world.experience[RADIOGRAPHER] = [
        {"id": 77, "type": "Non political", "typeId": 2, "title": "Therapeutic radiographer",
         "organisation": "Leeds Teaching Hospitals NHS Trust", "startMonth": None, "startYear": 1994,
         "endMonth": None, "endYear": 2002},
    ]  # fmt: skip
    asked = {**world.questions[0], "id": 1_999_001, "askingMemberId": ASKER, "uin": "38211", "house": "Commons"}
    asked.update(
        heading="Radiotherapy: Finance",
        questionText="To ask the Secretary of State for Health and Social Care, what funding he has allocated to "
        "replace linear accelerators used for radiotherapy in 2026-27.",
        answeringBodyName="Department of Health and Social Care",
        dateTabled="2026-03-10T00:00:00",
    )
    world.questions.append(asked)
    return world


@dataclass
class Cold:
    home: Path
    stdout: str
    log: list[str]


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cold]:
    home = tmp_path_factory.mktemp("records-home")
    with serving(fresh_world()) as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_HOME", str(home))
        stdout, _ = run(server)
        yield Cold(home, stdout, server.requests())


@pytest.fixture
def refreshed(cold: Cold, outreach_home: Path) -> snapshots.Snapshot:
    shutil.copytree(cold.home, outreach_home, dirs_exist_ok=True)
    return snapshots.newest(outreach_home)


@pytest.fixture
def server() -> Iterator[ParliamentServer]:
    with serving(fresh_world()) as running:
        yield running


def test_a_cold_refresh_brings_each_kind_of_record_with_its_source(cold: Cold, refreshed: snapshots.Snapshot) -> None:
    kinds = {item.kind for item in refreshed.records}
    assert {"experience", "focus", "interest", "question", "spokesperson", "committee", "former_post"} <= kinds
    career = [item for item in refreshed.record_of(RADIOGRAPHER) if item.kind == "experience"]
    assert [(i.title, i.organisation, i.detail, i.source, i.reference) for i in career] == [
        (
            "Therapeutic radiographer",
            "Leeds Teaching Hospitals NHS Trust",
            "1994–2002",
            "Members API Experience",
            "experience 77",
        )
    ]
    # Registered interests: kept only where they touch the campaign's interest terms, deleted entries never.
    interests = [item for item in refreshed.records if item.kind == "interest"]
    assert interests and all(item.code for item in interests)
    assert not any("football" in item.detail or "since removed" in item.detail for item in interests)
    # Written questions: one search per campaign term, by current MPs and post holders, since the election.
    questions = [item for item in refreshed.records if item.kind == "question"]
    everyone = {m.member_id for m in refreshed.members} | {p.member_id for p in refreshed.posts}
    assert questions and all(item.member_id in everyone for item in questions)
    assert all(item.start_date and item.start_date >= date(2024, 7, 4) and item.reference for item in questions)
    assert FORMER not in {item.member_id for item in refreshed.records}
    searches = [line for line in cold.log if "/api/writtenquestions/questions" in line]
    terms = campaigns.load(default_campaign_dir()).question_terms
    assert sum("skip=0&" in line for line in searches) == len(terms)
    whip = [item for item in refreshed.record_of(WHIP) if item.kind == "spokesperson"]
    assert [(item.code, item.organisation) for item in whip] == [
        ("DHSC", "Department of Health and Social Care"),
        ("DSIT", "Department for Science, Innovation and Technology"),
    ]
    meta = json.loads((refreshed.path / snapshots.META_FILE).read_text(encoding="utf-8"))
    assert meta["record_terms"]["questions"] == list(terms) and meta["committee_ids"] == [81, 135]
    assert refreshed.record_terms["questions"] == terms and meta["questions_since"] == "2024-07-04"
    people = len(refreshed.members) + len({p.member_id for p in refreshed.posts if p.house == "Lords"})
    assert f"records fetched for {people}, cached for 0; {len(questions)} written questions" in cold.stdout
    assert sum("/Experience" in line for line in cold.log) == people


def test_lords_whips_join_the_default_audience_once_their_departments_are_known_and_their_letter_names_them(
    refreshed: snapshots.Snapshot, snapshot: snapshots.Snapshot, tmp_path: Path
) -> None:
    campaign = campaigns.load(default_campaign_dir())
    today = refreshed.posts_as_of or date.today()
    before = {t.member_id for t in select(snapshot, campaign, Selection(allow_stale_posts=True), today).targets}
    after = {t.member_id for t in select(refreshed, campaign, Selection(), today).targets}
    lords_whips = {p.member_id for p in refreshed.posts if p.department == "Whip Lords"}
    assert not lords_whips & before and lords_whips <= after
    assert COMMONS_WHIP not in after
    out = tmp_path / "outbox"
    commands.run("draft", "--member", str(WHIP), "--format", "md", "--out", str(out))
    row = commands.manifest(out)[0]
    letter = (out / row["markdown"]).read_text(encoding="utf-8")
    assert (
        "You answer there for the Department of Health and Social Care and the Department for Science, "
        "Innovation and Technology." in letter
    )
    assert "IPEM's asks of the Government" in letter and "Whips-House of Lords deliver" not in letter
    assert {"workforce", "ai"} <= set(row["asks"].split(";"))  # the health and science departments' asks


def test_a_draft_says_in_one_line_when_the_snapshot_lacks_the_campaigns_terms(
    refreshed: snapshots.Snapshot, tmp_path: Path
) -> None:
    lacking = "The snapshot holds no written questions on"
    _, stderr = commands.run("draft", "--new", "--limit", "1", "--format", "md", "--out", str(tmp_path / "a"))
    assert lacking not in stderr
    campaign = tmp_path / "campaign"
    shutil.copytree(default_campaign_dir(), campaign)
    toml = campaign / "campaign.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('  "radiotherapy",\n', '  "radiotherapy",\n  "proton beam",\n'),
        encoding="utf-8",
    )
    args = ("draft", "--new", "--limit", "1", "--format", "md", "--campaign", str(campaign))
    _, stderr = commands.run(*args, "--out", str(tmp_path / "b"))
    [line] = [line for line in stderr.splitlines() if lacking in line]
    assert "'proton beam'" in line and "'radiotherapy'" not in line and f"--campaign {campaign}" in line


def test_the_embedded_snapshot_says_it_holds_no_questions_or_committees(tmp_path: Path) -> None:
    _, stderr = commands.run("draft", "--new", "--limit", "1", "--format", "md", "--out", str(tmp_path / "o"))
    [line] = [line for line in stderr.splitlines() if "The snapshot holds no written questions" in line]
    assert "'radiotherapy', 'linear accelerator', 'MRI' and 8 more" in line and "committees 81, 135" in line


def test_an_incremental_refresh_fetches_only_new_and_old_records(
    refreshed: snapshots.Snapshot, server: ParliamentServer, outreach_home: Path
) -> None:
    cache = outreach_home.joinpath(*RECORDS_CACHE)
    aged = json.loads((cache / "172.json").read_text(encoding="utf-8"))
    aged["fetched"] = "2026-01-01T00:00:00+00:00"  # over 30 days old
    (cache / "172.json").write_text(json.dumps(aged), encoding="utf-8")
    server.world.experience[RADIOGRAPHER] = [{"id": 78, "title": "Nurse"}]  # cached: not seen until 30 days pass
    stdout, _ = run(server)
    fetched = {line.split("/")[3] for line in server.requests("/Experience")}
    assert fetched == {"172"}
    assert "records fetched for 1, cached for" in stdout
    fresh = snapshots.newest(outreach_home)
    assert [i.title for i in fresh.record_of(RADIOGRAPHER) if i.kind == "experience"] == ["Therapeutic radiographer"]
    assert len(server.requests("/api/writtenquestions/questions?")) >= 11  # questions are searched every time


def test_a_malformed_record_fails_the_refresh_with_one_line_and_leaves_the_snapshot_in_use(
    refreshed: snapshots.Snapshot, server: ParliamentServer, outreach_home: Path
) -> None:
    server.world.focus[RADIOGRAPHER] = [{"category": {"name": "Health"}, "focus": ["NHS"]}]
    (outreach_home.joinpath(*RECORDS_CACHE) / f"{RADIOGRAPHER}.json").unlink()
    _, stderr = run(server, expect=ExitCode.SOURCE)
    assert (
        stderr.strip()
        .splitlines()[-1]
        .endswith(f"/api/Members/{RADIOGRAPHER}/Focus: item 0: 'category' should be string or null, got object")
    )
    assert "Traceback" not in stderr
    assert snapshots.newest(outreach_home).path == refreshed.path
    assert not [p for p in (outreach_home / "snapshots").iterdir() if p.name.startswith(".")]
    assert not (outreach_home.joinpath(*RECORDS_CACHE) / f"{RADIOGRAPHER}.json").exists()


def test_a_letter_reminds_a_member_of_their_written_question_and_cites_it(
    refreshed: snapshots.Snapshot, tmp_path: Path
) -> None:
    out = tmp_path / "outbox"
    commands.run("draft", "--member", str(ASKER), "--format", "md", "--out", str(out))
    [row] = commands.manifest(out)
    letter = (out / row["markdown"]).read_text(encoding="utf-8")
    assert "Your written question of 10 March 2026 to the Department of Health and Social Care" in letter
    assert "“Radiotherapy: Finance” (UIN 38211)" in letter
    assert row["asks"].split(";")[0] == "equipment"
    assert "Written Questions API, 2026-03-10, 38211" in row["hooks"]


def test_the_interest_ranking_uses_the_careers_and_questions_a_refresh_brings(refreshed: snapshots.Snapshot) -> None:
    ranked = json.loads(commands.run("mps", "--sort", "interest", "--json").stdout)
    by_id = {mp["member_id"]: mp for mp in ranked}
    reasons = " ".join(str(reason) for reason in by_id[RADIOGRAPHER]["reasons"])
    assert "a former career close to MPCE" in reasons
    assert "asked written questions on MPCE subjects" in " ".join(str(r) for r in by_id[ASKER]["reasons"])
    kinds = {item["kind"] for item in by_id[RADIOGRAPHER]["record"]}
    assert "experience" in kinds and all(item["source"]["name"] for item in by_id[RADIOGRAPHER]["record"])
