"""Members' records in the embedded snapshot: former government posts from the IfG Ministers Database, each sourced."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import commands
import pytest

from outreach import snapshot as snapshots
from outreach.errors import DataError
from outreach.records import KINDS, RECORDS_FILE
from outreach.resources import embedded_snapshot_dir

HUNT = 1572  # Sir Jeremy Hunt: Secretary of State for Health 2012-2018, back bench since 2024
STREETING = 4504  # Wes Streeting: Secretary of State for Health and Social Care 2024-07-05 to 2026-05-14
KINNOCK = 4359  # Stephen Kinnock: Minister for Care since 2024-07-08 (a current post, not a record)


@pytest.fixture(scope="module")
def embedded() -> snapshots.Snapshot:
    return snapshots.load(embedded_snapshot_dir())


def test_a_former_health_secretary_has_his_posts_with_dates_and_source(embedded: snapshots.Snapshot) -> None:
    health = [item for item in embedded.record_of(HUNT) if item.code in ("DH", "DHSC")]
    assert [(i.title, i.role, str(i.start_date), str(i.end_date)) for i in health] == [
        ("Secretary of State for Health", "SoS", "2012-09-04", "2018-01-08"),
        ("Secretary of State for Health and Social Care", "SoS", "2018-01-08", "2018-07-09"),
    ]
    assert health[0].organisation == "Department of Health"
    assert health[0].cites() == "Institute for Government Ministers Database, 2026-06-19, " + health[0].reference
    assert not embedded.posts_of(HUNT)  # a back-bencher now
    streeting = [i for i in embedded.record_of(STREETING) if i.kind == "former_post"]
    assert [(i.title, str(i.end_date)) for i in streeting] == [
        ("Secretary of State for Health and Social Care", "2026-05-14")
    ]


def test_only_ended_posts_are_records_and_each_has_a_source(embedded: snapshots.Snapshot) -> None:
    assert len(embedded.records) > 500
    current = {(post.member_id, post.post, post.department) for post in embedded.posts}
    people = {m.member_id for m in embedded.members} | {p.member_id for p in embedded.posts}
    for item in embedded.records:
        assert item.kind in KINDS and item.source and item.reference and item.source_date
        assert item.member_id in people
        assert item.end_date is not None and item.start_date is not None and item.start_date <= item.end_date
        assert (item.member_id, item.title, item.code) not in current, item
    assert any(post.post == "Minister for Care" for post in embedded.posts_of(KINNOCK))
    assert not any(item.title == "Minister for Care" for item in embedded.record_of(KINNOCK))


def test_mps_json_carries_each_members_record_with_its_source() -> None:
    mps = {mp["member_id"]: mp for mp in json.loads(commands.run("mps", "--json").stdout)}
    hunt = mps[HUNT]["record"]
    assert {"kind": "former_post", "title": "Secretary of State for Health", "code": "DH"}.items() <= hunt[1].items()
    assert hunt[1]["source"]["name"] == "Institute for Government Ministers Database"
    assert hunt[1]["start_date"] == "2012-09-04" and hunt[1]["end_date"] == "2018-01-08"
    assert all(item["source"]["name"] and item["source"]["date"] for mp in mps.values() for item in mp["record"])
    # A member new to this Parliament can have held office only in it (Zubir Ahmed, a health minister in 2025-26).
    newcomers = [mp for mp in mps.values() if mp["is_new"]]
    assert sum(not mp["record"] for mp in newcomers) > 300
    assert all(item["start_date"] >= "2024-07-05" for mp in newcomers for item in mp["record"])


def test_a_bad_record_is_one_error_naming_the_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "snapshot"
    shutil.copytree(embedded_snapshot_dir(), folder)
    lines = (folder / RECORDS_FILE).read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("former_post", "rumour", 1)
    (folder / RECORDS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"^records\.csv:4: kind 'rumour' is not one of former_post, committee"):
        snapshots.load(folder)


def test_a_snapshot_from_before_records_loads_with_none(tmp_path: Path) -> None:
    folder = tmp_path / "snapshot"
    shutil.copytree(embedded_snapshot_dir(), folder)
    (folder / RECORDS_FILE).unlink()
    loaded = snapshots.load(folder)
    assert loaded.records == () and loaded.record_of(HUNT) == ()
