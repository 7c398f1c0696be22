"""Record hooks: one sentence about the recipient's own record, chosen by the campaign's rules, sourced, asks first."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import commands
import pytest
from test_second_campaign import make_campaign

from outreach import snapshot as snapshots
from outreach.errors import ExitCode
from outreach.records import RECORDS_FILE
from outreach.resources import default_campaign_dir, embedded_snapshot_dir

HUNT = "1572"  # back-bench since 2024; Secretary of State for Health 2012-18 (IfG)
BURNHAM = "1427"  # Secretary of State for Health 2009-10; reported Prime Minister since 20 July 2026
WHATELY = "4527"  # Minister for Care and Mental Health 2020-21, Minister for Social Care 2022-24
NEWCOMER = "5173"  # Alex Baker, Aldershot: new in 2024, no record in the embedded snapshot
IFG = "Institute for Government Ministers Database"


@pytest.fixture(scope="module")
def every_letter(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, str]]]:
    """Every letter of `draft --all --allow-stale-posts`, offline, from the shipped campaign and embedded snapshot."""
    out = tmp_path_factory.mktemp("all") / "outbox"
    commands.run("draft", "--all", "--allow-stale-posts", "--format", "md", "--out", str(out))
    return out, commands.manifest(out)


def _letter(out: Path, rows: list[dict[str, str]], letter_id: str) -> tuple[dict[str, str], str]:
    row = next(row for row in rows if row["letter_id"] == letter_id)
    return row, (out / row["markdown"]).read_text(encoding="utf-8")


def test_a_back_bench_former_health_secretary_is_told_so_and_hears_workforce_and_regulation_first(
    every_letter: tuple[Path, list[dict[str, str]]],
) -> None:
    out, rows = every_letter
    row, text = _letter(out, rows, f"{HUNT}-seat")
    assert not row["posts"] and "office_changed" not in row["flags"]
    assert (
        "As Secretary of State for Health, then for Health and Social Care, from 2012 to 2018, you will know how much "
        "health services depend on the clinical scientists" in text
    )
    assert row["asks"].split(";")[:2] == ["workforce", "registration"]
    assert text.index("**Train and keep the people.**") < text.index("**Regulate clinical technologists.**")
    hooks = row["hooks"].split(";")
    assert hooks == [
        f"former-health-secretary: Secretary of State for Health (Department of Health), 2012-09-04 to 2018-01-08 "
        f"[{IFG}, 2026-06-19, 4bfd872d-0266-4f0f-8cbc-7e132f7e6b8d]",
        f"former-health-secretary: Secretary of State for Health and Social Care (Department of Health and Social "
        f"Care), 2018-01-08 to 2018-07-09 [{IFG}, 2026-06-19, ebb5c6e9-a79e-4a11-ab63-f7bc11270ef8]",
    ]
    # The reported Prime Minister is also a former Health Secretary: his letter is flagged, not the one to check.
    burnham, _ = _letter(out, rows, f"{BURNHAM}-seat")
    assert "office_changed" in burnham["flags"]


def test_posts_held_apart_are_each_dated(every_letter: tuple[Path, list[dict[str, str]]]) -> None:
    out, rows = every_letter
    _, text = _letter(out, rows, f"{WHATELY}-seat")
    assert (
        "As Minister for Care and Mental Health from 2020 to 2021, then Minister for Social Care from 2022 to 2024,"
        in text
    )


def _sentences(text: str) -> list[str]:
    body = text.split("\nDear ", 1)[-1]
    return [s for s in re.split(r"(?<=[.!?:])\s+", body) if s.strip()]


def test_no_letter_has_more_than_one_record_sentence_and_every_hook_has_a_source(
    every_letter: tuple[Path, list[dict[str, str]]],
) -> None:
    out, rows = every_letter
    snapshot = snapshots.load(embedded_snapshot_dir())
    hooked = 0
    for row in rows:
        text = (out / row["markdown"]).read_text(encoding="utf-8")
        about_record = [s for s in _sentences(text) if re.match(r"As .* (from|in) (19|20)\d\d", s)]
        if row["kind"] == "seat":
            titles = {item.title for item in snapshot.record_of(int(row["member_id"]))}
            about_record += [s for s in _sentences(text) if any(t in s for t in titles) and s not in about_record]
        assert len(about_record) <= 1, (row["letter_id"], about_record)
        for fact in filter(None, row["hooks"].split(";")):
            assert re.fullmatch(
                r"[a-z-]+: .+, \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d \[" + IFG + r", 2026-06-19, [0-9a-f-]{36}\]", fact
            )
        if row["hooks"]:
            hooked += 1
            assert len(about_record) == 1, row["letter_id"]
    assert hooked >= 15


@pytest.fixture
def with_question(outreach_home: Path) -> Path:
    """A copy of the embedded snapshot, as a refresh would leave it, with written questions in two members' records."""
    folder = outreach_home / snapshots.SNAPSHOTS_FOLDER / "2026-11-30T090000"
    shutil.copytree(embedded_snapshot_dir(), folder)
    meta = json.loads((folder / snapshots.META_FILE).read_text(encoding="utf-8"))
    (folder / snapshots.META_FILE).write_text(json.dumps({**meta, "kind": "refreshed"}), encoding="utf-8")
    question = (
        "{member},question,{title},Department of Health and Social Care,,,{day},,{text},"
        "Written Questions API,{uin},{day}"
    )
    rows = [
        question.format(
            member=NEWCOMER,
            title="Radiotherapy: Equipment",
            day="2025-03-12",
            text="To ask the Secretary of State for Health and Social Care what plans he has to replace linear "
            "accelerators that are more than ten years old.",
            uin="38211",
        ),
        question.format(member=NEWCOMER, title="Roads: Potholes", day="2025-06-02", text="Potholes.", uin="60001"),
        question.format(member=HUNT, title="Radiotherapy", day="2025-01-20", text="Radiotherapy waits.", uin="22001"),
    ]
    with (folder / RECORDS_FILE).open("a", encoding="utf-8") as handle:
        handle.write("\n".join(rows) + "\n")
    return folder


def test_a_member_who_asked_about_radiotherapy_is_reminded_of_it_and_hears_the_equipment_ask(
    with_question: Path, tmp_path: Path
) -> None:
    out = tmp_path / "outbox"
    commands.run("draft", "--member", NEWCOMER, "--member", HUNT, "--format", "md", "--out", str(out))
    rows = commands.manifest(out)
    row, text = _letter(out, rows, f"{NEWCOMER}-seat")
    assert (
        "Your written question of 12 March 2025 to the Department of Health and Social Care, on “Radiotherapy: "
        "Equipment” (UIN 38211), goes to the heart of what our members do" in text
    )
    assert "Potholes" not in text and row["asks"].split(";")[0] == "equipment"
    assert row["hooks"] == (
        "radiotherapy-question: Radiotherapy: Equipment (Department of Health and Social Care) 38211, 2025-03-12 "
        "[Written Questions API, 2025-03-12, 38211]"
    )
    # A former Health Secretary who also asked about radiotherapy: the first hook in campaign.toml, one sentence.
    hunt, hunt_text = _letter(out, rows, f"{HUNT}-seat")
    assert hunt["hooks"].startswith("former-health-secretary:") and "written question" not in hunt_text
    shown = commands.run("preview", NEWCOMER).stdout
    assert "Record: hook 'radiotherapy-question' (campaign.toml:" in shown
    assert "the equipment ask answers their own question" in shown
    assert "uses radiotherapy-question: Radiotherapy: Equipment" in shown


def test_another_campaign_chooses_its_own_hooks(tmp_path: Path) -> None:
    folder = make_campaign(tmp_path)
    (folder / "templates" / "hooks").mkdir()
    (folder / "templates" / "hooks" / "wales.md.j2").write_text(
        "You know the Wales Office from the inside: you were {{ hook.held }}.\n", encoding="utf-8"
    )
    (folder / "templates" / "seat.md.j2").write_text(
        (folder / "templates" / "seat.md.j2")
        .read_text(encoding="utf-8")
        .replace("{% for ask", "{% if hook %}{% include hook.partial %}{% endif %}\n\n{% for ask"),
        encoding="utf-8",
    )
    with (folder / "campaign.toml").open("a", encoding="utf-8") as handle:
        handle.write(
            '\n[[hooks]]\nid = "wales-office"\nrecord = "former_post"\nmatch = { code = ["Wal"] }\n'
            'asks = ["replace"]\npartial = "hooks/wales.md.j2"\nbecause = "a former Wales Office minister"\n'
        )
    out = tmp_path / "out"
    commands.run("draft", "--campaign", str(folder), "--nation", "Wales", "--format", "md", "--out", str(out))
    rows = commands.manifest(out)
    hooked = [row for row in rows if row["hooks"]]
    assert [row["name"] for row in hooked] == ["Dame Nia Griffith"]
    text = (out / hooked[0]["markdown"]).read_text(encoding="utf-8")
    assert (
        "you were Parliamentary Under-Secretary of State at the Office of the Secretary of State for Wales from 2024 "
        "to 2025." in text
    )
    assert hooked[0]["asks"] == "replace;staff" and hooked[0]["hooks"].startswith("wales-office: ")


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ('record = "rumour"', "unknown record kind 'rumour' (known: former_post, committee"),
        ('record = "former_post"\nmatch = { rank = ["SoS"] }', "unknown match 'rank' (known: code, role, words)"),
        ('record = "former_post"\nasks = ["flying"]', "hook 'x' names unknown ask 'flying'"),
        ('record = "former_post"\nwhen = { shoe_size = ["9"] }', "hook 'x': unknown condition 'shoe_size'"),
        ('record = "former_post"\npartial = "hooks/none.md.j2"', "hook 'x': no partial"),
    ],
)
def test_a_bad_hook_is_one_line_naming_the_file_and_line(tmp_path: Path, hook: str, message: str) -> None:
    folder = tmp_path / "campaign"
    shutil.copytree(default_campaign_dir(), folder)
    text = (folder / "campaign.toml").read_text(encoding="utf-8")
    line = text.count("\n") + 2
    fields = dict(line.split(" = ", 1) for line in hook.splitlines())
    table = {"id": '"x"', "partial": '"hooks/health_post.md.j2"', "because": '"why"', **fields}
    with (folder / "campaign.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[[hooks]]\n" + "\n".join(f"{key} = {value}" for key, value in table.items()) + "\n")
    _, stderr = commands.run("draft", "--campaign", str(folder), "--out", str(tmp_path / "o"), expect=ExitCode.FAILURE)
    assert f"campaign.toml:{line}: " in stderr and message in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_the_manifest_has_a_hooks_column_before_enclosures() -> None:
    from outreach.outbox import MANIFEST_COLUMNS

    assert MANIFEST_COLUMNS[MANIFEST_COLUMNS.index("hooks") + 1] == "enclosures"
    with (embedded_snapshot_dir() / RECORDS_FILE).open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle))[:3] == ["member_id", "kind", "title"]
