"""The contact log from the command line: log, log add, reply, followups, suppress, and draft skipping sent letters."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from commands import manifest, run

from outreach.errors import ExitCode
from outreach.ledger import DATABASE_FILE, Ledger
from outreach.resources import default_campaign_dir

INTERFACE_FIELDS = [
    "letter_id",
    "member_id",
    "name",
    "campaign",
    "channel",
    "state",
    "message_id",
    "sent_at",
    "asks",
    "content_sha256",
    "reply_outcome",
    "reply_date",
]
# Wera Hobhouse (Bath), Sir James Cleverly (Braintree), Sir Keir Starmer (a seat letter and a minister's letter).
DRAFTED = ["4366-seat", "4514-minister", "4602-seat"]  # one letter each: Keir Starmer's post letter speaks of his seat


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real outbox of four letters, drafted once for the module under its own OUTREACH_HOME."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_HOME", str(tmp_path_factory.mktemp("draft-home")))
        out = tmp_path_factory.mktemp("drafted") / "outbox"
        run(
            "draft", "--allow-stale-posts", "--member", "4366", "--member", "Keir Starmer", "--member", "Wera Hobhouse",
            "--format", "md",
            "--out", str(out),
        )  # fmt: skip
        yield out


@pytest.fixture
def outbox(drafted: Path, tmp_path: Path) -> Path:
    """A copy of the drafted outbox that a test may change."""
    return Path(shutil.copytree(drafted, tmp_path / "outbox"))


def log_json(*filters: str) -> list[dict[str, object]]:
    stdout, _ = run("log", "--json", *filters)
    return json.loads(stdout)  # type: ignore[no-any-return]


def test_log_help_and_log_add_help_are_both_clear() -> None:
    stdout, _ = run("log", "--help")
    text = " ".join(stdout.split())
    assert "List the contact log" in text and "--since" in text and "add" in text
    stdout, _ = run("log", "add", "--help")
    text = " ".join(stdout.split())
    assert "Record letters sent by post or by hand" in text and "--from-manifest" in text
    assert "--since" not in text


def test_an_empty_log_creates_no_file(outreach_home: Path) -> None:
    assert log_json() == []
    stdout, stderr = run("log")
    assert "0 contacts" in stdout and "nothing has been logged" in stderr
    stdout, _ = run("followups")
    assert "0 letters due" in stdout
    assert not (outreach_home / DATABASE_FILE).exists()


def test_log_add_from_manifest_logs_the_printed_batch_once(outbox: Path) -> None:
    stdout, _ = run("log", "add", "--from-manifest", str(outbox), "--date", "2026-10-01", "--reference", "RM1")
    assert "Logged 3 letters sent by post on 2026-10-01" in stdout
    logged = {row["letter_id"]: row for row in log_json()}
    assert sorted(logged) == DRAFTED
    for row in manifest(outbox):
        entry = logged[row["letter_id"]]
        assert list(entry)[: len(INTERFACE_FIELDS)] == INTERFACE_FIELDS
        assert entry["campaign"] == row["campaign"] == "ipem-2024"
        assert (entry["channel"], entry["state"], entry["message_id"]) == ("post", "sent", None)
        assert entry["member_id"] == int(row["member_id"]) and entry["name"] == row["name"]
        assert entry["asks"] == row["asks"].split(";")
        assert entry["content_sha256"] == hashlib.sha256((outbox / row["markdown"]).read_bytes()).hexdigest()
        assert entry["recipient"] == row["address"] and entry["postal_reference"] == "RM1"
        assert str(entry["sent_at"]).startswith("2026-10-01T")
    # Logging the same batch again reports every letter and adds none.
    stdout, stderr = run("log", "add", "--from-manifest", str(outbox), "--date", "2026-10-02")
    assert "Logged 0 letters" in stdout and "3 already in the log" in stdout
    assert "already logged: ipem-2024/4602-seat (post) (sent)" in stderr
    assert len(log_json()) == 3


def test_a_malformed_manifest_row_names_the_line_and_logs_nothing(outbox: Path) -> None:
    rows = (outbox / "manifest.csv").read_text(encoding="utf-8").splitlines()
    rows[3] = rows[3].replace("4514-minister,4514,", "4514-minister,Keir,", 1)
    (outbox / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    _, stderr = run("log", "add", "--from-manifest", str(outbox), expect=ExitCode.FAILURE)
    assert stderr.strip().splitlines() == [f"error: {outbox / 'manifest.csv'}:4: member_id 'Keir' is not a number"]
    assert log_json() == []
    # A missing letter file is refused the same way, before anything is written.
    (outbox / "manifest.csv").write_text("\n".join(rows).replace("Keir", "4514") + "\n", encoding="utf-8")
    next((outbox / "letters").glob("4602-seat*.md")).unlink()
    _, stderr = run("log", "add", "--from-manifest", str(outbox), expect=ExitCode.FAILURE)
    assert "manifest.csv:2: letter file letters/4602-seat-bath.md is missing" in stderr
    assert log_json() == []


def test_log_add_one_letter_by_hand(tmp_path: Path) -> None:
    letter = tmp_path / "letter.md"
    letter.write_text("Dear Sir Keir,\n", encoding="utf-8")
    stdout, _ = run(
        "log", "add", "Keir Starmer", "--letter", "minister", "--channel", "other", "--date", "2026-11-03",
        "--to", "handed over at a reception", "--asks", "workforce;ai", "--file", str(letter),
    )  # fmt: skip
    assert "Logged ipem-2024/4514-minister (other) to Sir Keir Starmer, sent 2026-11-03" in stdout
    [entry] = log_json()
    assert (entry["letter_id"], entry["channel"], entry["asks"]) == ("4514-minister", "other", ["workforce", "ai"])
    assert entry["content_sha256"] == hashlib.sha256(b"Dear Sir Keir,\n").hexdigest()
    _, stderr = run("log", "add", "4514", "--letter", "minister", "--channel", "other")
    assert "already logged: ipem-2024/4514-minister (other) (sent)" in stderr
    assert len(log_json()) == 1


@pytest.mark.parametrize(
    ("args", "error"),
    [(("Kier Starmr",), "did you mean"), (("4514", "--channel", "fax"), "unknown channel 'fax'")],
    ids=["member-near-miss", "unknown-channel"],
)
def test_log_add_refuses_bad_input_and_logs_nothing(args: tuple[str, ...], error: str) -> None:
    _, stderr = run("log", "add", *args, expect=ExitCode.FAILURE)
    assert error in stderr
    assert log_json() == []


def seed_log() -> None:
    """A log with an e-mail sent, one queued, one uncertain, and a letter posted in another campaign."""
    with Ledger.open_default() as ledger:
        for member_id, name in ((4602, "Wera Hobhouse"), (4366, "Sir James Cleverly"), (4514, "Sir Keir Starmer")):
            ledger.enqueue(
                campaign="ipem-2024",
                letter_id=f"{member_id}-seat",
                channel="email",
                member_id=member_id,
                name=name,
                recipient=f"{member_id}@parliament.uk",
                asks=("equipment", "workforce"),
                content_sha256="ab" * 32,
                message_id=f"<{member_id}-seat@ipem.ac.uk>",
            )
        ledger.begin_sending("ipem-2024", "4602-seat", "email")
        ledger.mark_sent("ipem-2024", "4602-seat", "email", sent_at=datetime(2026, 11, 2, 10, tzinfo=UTC))
        ledger.begin_sending("ipem-2024", "4366-seat", "email")
        ledger.settle_interrupted()
        ledger.record(
            campaign="ipem-2020",
            letter_id="4602-seat",
            channel="post",
            member_id=4602,
            name="Wera Hobhouse",
            recipient="House of Commons",
            asks=("workforce",),
            content_sha256="cd" * 32,
            sent_at=datetime(2024, 3, 1, 12, tzinfo=UTC),
        )


def test_log_filters_json_and_csv() -> None:
    seed_log()
    assert len(log_json()) == 4
    assert [(r["campaign"], r["letter_id"]) for r in log_json("--member", "Wera Hobhouse")] == [
        ("ipem-2020", "4602-seat"),
        ("ipem-2024", "4602-seat"),
    ]
    assert [r["letter_id"] for r in log_json("--member", "4366")] == ["4366-seat"]
    assert [r["letter_id"] for r in log_json("--state", "uncertain")] == ["4366-seat"]
    assert [r["campaign"] for r in log_json("--since", "2025-01-01", "--state", "sent")] == ["ipem-2024"]
    assert len(log_json("--campaign", "ipem-2024")) == 3
    assert len(log_json("--campaign", str(default_campaign_dir()))) == 3  # a folder: its campaign.toml's id
    [sent] = log_json("--state", "sent", "--campaign", "ipem-2024")
    assert (sent["sent_at"], sent["message_id"], sent["asks"]) == (
        "2026-11-02T10:00:00+00:00",
        "<4602-seat@ipem.ac.uk>",
        ["equipment", "workforce"],
    )
    stdout, _ = run("log", "--csv", "--campaign", "ipem-2024", "--state", "sent")
    [row] = list(csv.DictReader(io.StringIO(stdout)))
    assert list(row)[: len(INTERFACE_FIELDS)] == INTERFACE_FIELDS
    assert (row["letter_id"], row["asks"], row["reply_outcome"]) == ("4602-seat", "equipment;workforce", "")
    stdout, _ = run("log", "--member", "Sir James Cleverly")
    assert "1 contacts in ipem-2024" in stdout and "uncertain" in stdout


@pytest.mark.parametrize(
    ("args", "expect", "error"),
    [
        (("--state", "posted"), ExitCode.FAILURE, "unknown state 'posted'"),
        (("--since", "1 Nov 2026"), ExitCode.USAGE, ""),
        (("--json", "--csv"), ExitCode.FAILURE, "choose one"),
    ],
    ids=["unknown-state", "since-not-a-day", "json-and-csv"],
)
def test_log_refuses_bad_filters(args: tuple[str, ...], expect: ExitCode, error: str) -> None:
    seed_log()
    _, stderr = run("log", *args, expect=expect)
    assert error in stderr


def test_reply_and_followups_across_the_may_bank_holidays(outbox: Path) -> None:
    # Posted Thursday 9 April 2026: with the early May (4 May) bank holiday the 20th working day is Friday 8 May.
    run("log", "add", "--from-manifest", str(outbox), "--date", "2026-04-09")
    # The same day Keir Starmer was also handed a seat letter at his surgery: he now has two letters.
    run("log", "add", "4514", "--letter", "seat", "--channel", "other", "--date", "2026-04-09")
    stdout, _ = run("followups", "--as-of", "2026-05-08")
    assert "0 letters due a follow-up on 2026-05-08" in stdout
    stdout, _ = run("followups", "--as-of", "2026-05-11", "--json")
    due = json.loads(stdout)
    assert sorted(entry["letter_id"] for entry in due) == sorted([*DRAFTED, "4514-seat"])
    assert {entry["reply_due"] for entry in due} == {"2026-05-08"}
    # Keir Starmer had two letters: the reply must say which it answers.
    _, stderr = run("reply", "Keir Starmer", "--outcome", "meeting", "--date", "2026-04-20", expect=ExitCode.FAILURE)
    assert "choose one with --letter" in stderr
    stdout, _ = run(
        "reply", "Keir Starmer", "--letter", "minister", "--outcome", "meeting", "--date", "2026-04-20",
        "--note", "Meeting with the PPS offered",
    )  # fmt: skip
    assert "Recorded reply (meeting, 2026-04-20) from Sir Keir Starmer to ipem-2024/4514-minister" in stdout
    run("reply", "4602", "--outcome", "acknowledgement", "--date", "2026-04-14")
    stdout, _ = run("followups", "--as-of", "2026-05-11", "--json")
    assert sorted(entry["letter_id"] for entry in json.loads(stdout)) == ["4366-seat", "4514-seat"]
    [minister] = [entry for entry in log_json("--member", "4514") if entry["letter_id"] == "4514-minister"]
    assert (minister["reply_outcome"], minister["reply_date"], minister["reply_note"]) == (
        "meeting",
        "2026-04-20",
        "Meeting with the PPS offered",
    )
    _, stderr = run("reply", "4366", "--outcome", "delighted", expect=ExitCode.FAILURE)
    assert "unknown outcome 'delighted'" in stderr


def test_reply_with_no_log_says_so(outreach_home: Path) -> None:
    _, stderr = run("reply", "4602", "--outcome", "none", expect=ExitCode.FAILURE)
    assert "the contact log is empty" in stderr
    assert not (outreach_home / DATABASE_FILE).exists()


def test_suppress_list_and_remove() -> None:
    stdout, _ = run("suppress", "Wera Hobhouse", "--reason", "asked by e-mail, 2026-11-20")
    assert "Suppressed Wera Hobhouse (4602): asked by e-mail, 2026-11-20" in stdout
    stdout, _ = run("suppress")
    assert "1 suppressed members" in stdout and "Wera Hobhouse" in stdout
    _, stderr = run("suppress", "4366", expect=ExitCode.FAILURE)
    assert "--reason" in stderr
    stdout, _ = run("suppress", "4602", "--remove")
    assert "Removed member 4602" in stdout
    _, stderr = run("suppress", "4602", "--remove", expect=ExitCode.FAILURE)
    assert "not on the suppression list" in stderr
    stdout, _ = run("suppress")
    assert "0 suppressed members" in stdout


def draft(out: Path, *extra: str, expect: ExitCode = ExitCode.OK) -> tuple[str, str]:
    return run(
        "draft", "--allow-stale-posts", "--member", "4366", "--member", "Keir Starmer", "--member", "Wera Hobhouse",
        "--format", "md",
        "--out", str(out), *extra, expect=expect,
    )  # fmt: skip


def test_draft_with_no_log_skips_nothing_and_creates_no_file(outreach_home: Path, tmp_path: Path) -> None:
    stdout, _ = draft(tmp_path / "out")
    assert [row["letter_id"] for row in manifest(tmp_path / "out")] == ["4602-seat", "4366-seat", "4514-minister"]
    assert "Skipped" not in stdout
    assert not (outreach_home / DATABASE_FILE).exists()


def test_draft_skips_letters_sent_or_uncertain_in_this_campaign(tmp_path: Path) -> None:
    seed_log()  # ipem-2024: 4602-seat sent, 4366-seat uncertain, 4514-seat queued; ipem-2020: 4602-seat posted
    stdout, _ = draft(tmp_path / "out")
    assert [row["letter_id"] for row in manifest(tmp_path / "out")] == ["4514-minister"]
    assert "Skipped 2 letters already sent (or uncertain) in ipem-2024" in stdout and "--include-sent" in stdout
    stdout, _ = draft(tmp_path / "all", "--include-sent")
    assert len(manifest(tmp_path / "all")) == 3 and "Skipped" not in stdout
    # --limit counts the letters still to draft, not those left out.
    draft(tmp_path / "one", "--limit", "1")
    assert [row["letter_id"] for row in manifest(tmp_path / "one")] == ["4514-minister"]


def test_draft_leaves_out_suppressed_members_and_says_when_nothing_is_left(tmp_path: Path) -> None:
    run("suppress", "Keir Starmer", "--reason", "asked not to be written to")
    stdout, _ = draft(tmp_path / "out", "--include-sent")
    assert [row["letter_id"] for row in manifest(tmp_path / "out")] == ["4602-seat", "4366-seat"]
    assert "Skipped 1 letter to suppressed members" in stdout
    _, stderr = run(
        "draft", "--allow-stale-posts", "--member", "Keir Starmer", "--format", "md", "--out", str(tmp_path / "none"),
        expect=ExitCode.FAILURE,
    )
    assert "nothing to draft: Skipped 1 letter to suppressed members" in stderr
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize(
    "args",
    [("log",), ("followups",), ("suppress",), ("reply", "4602", "--outcome", "none")],
    ids=["log", "followups", "suppress", "reply"],
)
def test_a_newer_log_is_refused_by_every_command_with_one_line(outreach_home: Path, args: tuple[str, ...]) -> None:
    newer_log(outreach_home)
    _, stderr = run(*args, expect=ExitCode.FAILURE)
    assert len(stderr.strip().splitlines()) == 1 and "schema version 99 is newer" in stderr


def test_a_newer_log_is_refused_by_draft(outreach_home: Path, tmp_path: Path) -> None:
    newer_log(outreach_home)
    _, stderr = draft(tmp_path / "out", expect=ExitCode.FAILURE)
    assert "schema version 99 is newer" in stderr


def newer_log(home: Path) -> None:
    """Write a contact log stamped by a newer outreach (schema version 99)."""
    import sqlite3

    raw = sqlite3.connect(home / DATABASE_FILE)
    raw.execute("PRAGMA user_version = 99")
    raw.close()


def test_a_minister_written_to_in_another_office_is_named_not_written_to_again(tmp_path: Path) -> None:
    # Lucy Rigby was written to when she held another post; she is now Chief Secretary to the Treasury.
    run(
        "log", "add", "5333", "--letter", "minister", "--date", "2026-09-01",
        "--to", "Lucy Rigby MP | Economic Secretary to the Treasury | HM Treasury",
    )  # fmt: skip
    # Rachel Reeves was written to as Chancellor, which she still is.
    run(
        "log", "add", "4031", "--letter", "minister", "--date", "2026-09-01",
        "--to", "Rt Hon Rachel Reeves MP | Chancellor of the Exchequer | HM Treasury",
    )  # fmt: skip
    stdout, _ = run(
        "draft", "--allow-stale-posts", "--member", "5333", "--member", "4031", "--member", "4602", "--format", "md",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert [row["letter_id"] for row in manifest(tmp_path / "out")] == ["4602-seat"]
    text = " ".join(stdout.split())
    assert "Skipped 2 letters already sent" in text
    assert "Office changed since written to, not written to again: Lucy Rigby (5333-minister)." in text
    assert "Rachel Reeves (4031-minister)" not in text


def test_a_users_own_known_change_leaves_the_letter_out_and_a_bad_row_names_its_line(
    outreach_home: Path, tmp_path: Path
) -> None:
    header = "date,member_mnis_id,name,change,post,status,source\n"
    (outreach_home / "known_changes.csv").write_text(
        header + "2026-09-01,5450,Douglas Lumsden,took office,Parliamentary Private Secretary,reported,a local paper\n",
        encoding="utf-8",
    )
    _, stderr = run("draft", "--new", "--nation", "Scotland", "--format", "md", "--out", str(tmp_path / "new"))
    letters = [row["letter_id"] for row in manifest(tmp_path / "new")]
    assert "5450-seat" in letters  # named explicitly (--new), flagged rather than left out
    assert "office_changed" in next(r for r in manifest(tmp_path / "new") if r["letter_id"] == "5450-seat")["flags"]
    _, stderr = run("draft", "--format", "md", "--out", str(tmp_path / "audience"))
    assert "5450-seat" not in [row["letter_id"] for row in manifest(tmp_path / "audience")]
    assert "2026-09-01 Douglas Lumsden: took office (Parliamentary Private Secretary)" in " ".join(stderr.split())
    (outreach_home / "known_changes.csv").write_text(header + "1 Sept,5450,x,took office,,,a source\n", "utf-8")
    _, stderr = run("draft", "--format", "md", "--out", str(tmp_path / "bad"), expect=ExitCode.FAILURE)
    assert f"error: {outreach_home / 'known_changes.csv'}:2: date '1 Sept' is not YYYY-MM-DD" in stderr
    assert not (tmp_path / "bad").exists()
