"""The near-identical check: exact Jaccard on word 5-gram shingles of bodies, in `draft` and on IPEM's letters."""

from __future__ import annotations

import itertools
import re
from datetime import date
from pathlib import Path

import pytest
from commands import manifest, run

from outreach import draft as drafting
from outreach import similarity
from outreach.campaign import load as load_campaign
from outreach.errors import ExitCode
from outreach.merge import Merged
from outreach.resources import default_campaign_dir
from outreach.snapshot import Snapshot
from outreach.targeting import Selection, resolve_constituencies, resolve_members

TODAY = date(2026, 11, 28)
# Two Lords in Waiting: the same post in the same whips' office, no seat, no other post. Nothing in the data tells
# their letters apart, which makes them the campaign's own pair of near-identical letters.
LORDS_IN_WAITING = ("5386", "1603")  # Lord Katz, Lord Wilson of Sedgefield


def selection(snapshot: Snapshot, *, members: tuple[str, ...] = (), seats: tuple[str, ...] = ()) -> Selection:
    return Selection(
        members=tuple(resolve_members(snapshot, list(members))),
        constituencies=tuple(resolve_constituencies(snapshot, list(seats))),
    )


def merged_letters(snapshot: Snapshot, chosen: Selection) -> list[Merged]:
    campaign = load_campaign(default_campaign_dir())
    return drafting.merge_all(drafting.targets_for(snapshot, campaign, chosen, TODAY).targets, campaign, TODAY)


def letter_body(item: Merged) -> str:
    return similarity.body(item.letter.markdown, item.letter.salutation, item.letter.closing)


def test_jaccard_counts_word_five_grams_exactly() -> None:
    # {a b c d e, b c d e f} against {a b c d e, b c d e g}: one shingle shared of three.
    assert similarity.jaccard("A b c d e f.", "a b, c d e g") == pytest.approx(1 / 3)
    assert similarity.jaccard("one two three four five", "one two three four five") == 1.0
    assert similarity.jaccard("one two three four five", "six seven eight nine ten") == 0.0
    assert similarity.shingles("**Train** and keep the people") == {("train", "and", "keep", "the", "people")}


def test_body_runs_from_salutation_to_sign_off(snapshot: Snapshot) -> None:
    (item,) = merged_letters(snapshot, selection(snapshot, seats=("Bangor Aberconwy",)))
    text = letter_body(item)
    assert text.startswith(f"{item.letter.salutation},")
    assert text.rstrip().endswith(f"{item.letter.closing},")
    for line in (*item.letter.recipient_lines, *item.letter.sender.address_lines, item.letter.date_text):
        assert line not in text  # letterhead, date and address block are left out
    # The same body under another address and date is the same letter.
    moved = item.letter.markdown.replace(item.letter.recipient_lines[0], "Another Name MP")
    assert similarity.body(moved, item.letter.salutation, item.letter.closing) == text


def test_two_deliberately_near_identical_letters_are_caught(snapshot: Snapshot) -> None:
    first, second = merged_letters(snapshot, selection(snapshot, seats=("Bangor Aberconwy", "Dwyfor Meirionnydd")))
    real = {first.target.letter_id: letter_body(first), second.target.letter_id: letter_body(second)}
    # A copy of the first letter with only the recipient's name and seat changed: a mail merge, not a tailored letter.
    member = first.target.member
    assert member is not None
    copy = (
        real[first.target.letter_id]
        .replace(member.constituency, "Clwyd North")
        .replace(first.letter.salutation, "Dear Gill German")
    )
    found = similarity.compare({**real, "copy-seat": copy})
    assert found.letters == 3 and found.pairs == 3
    assert [(pair.first, pair.second) for pair in found.above] == [(first.target.letter_id, "copy-seat")]
    assert found.above[0].score > 0.85
    assert found.maximum == found.above[0].score
    # The two real letters, one of them about ARTHUR in the seat itself, are told apart.
    assert similarity.jaccard(*real.values()) < 0.85


def test_matrix_figures_equal_pairwise_jaccard(snapshot: Snapshot) -> None:
    seats = ("Aberafan Maesteg", "Neath and Swansea East", "Glasgow East", "Glasgow South", "Belfast North")
    letters = merged_letters(snapshot, selection(snapshot, members=("Stephen Kinnock", "Lord Katz"), seats=seats))
    bodies = {item.target.letter_id: letter_body(item) for item in letters}
    found = similarity.compare(bodies, threshold=0.0)
    by_pair = {(pair.first, pair.second): pair.score for pair in found.above}
    assert len(by_pair) == found.pairs == len(bodies) * (len(bodies) - 1) // 2
    for first, second in itertools.combinations(bodies, 2):
        assert by_pair[(first, second)] == pytest.approx(similarity.jaccard(bodies[first], bodies[second]), abs=1e-12)


def test_draft_lists_near_identical_pairs_and_strict_distinct_refuses(tmp_path: Path) -> None:
    out = tmp_path / "outbox"
    members = [arg for member in LORDS_IN_WAITING for arg in ("--member", member)]
    stdout, stderr = run(
        "draft",
        "--allow-stale-posts",
        *members,
        "--format",
        "md",
        "--out",
        str(out),
        "--strict-distinct",
        expect=ExitCode.FAILURE,
    )
    assert "--strict-distinct: 1 pair of letters are more than 0.85 alike" in stderr
    assert "5386-minister" in stdout and "1603-minister" in stdout
    assert not out.exists()  # nothing written

    stdout, stderr = run("draft", "--allow-stale-posts", *members, "--format", "md", "--out", str(out))
    assert "maximum 1.000; 1 pair above 0.85" in " ".join(stdout.split())
    assert sorted(row["letter_id"] for row in manifest(out)) == ["1603-minister", "5386-minister"]


def test_the_ipem_campaign_has_no_near_identical_letters(tmp_path: Path) -> None:
    out = tmp_path / "audience"
    stdout, stderr = run("draft", "--allow-stale-posts", "--format", "md", "--out", str(out), "--strict-distinct")
    assert "0 pairs above 0.85" in " ".join(stdout.split())
    assert len(manifest(out)) > 400


def test_every_seat_and_post_holder_differs_but_the_lords_in_waiting(snapshot: Snapshot) -> None:
    campaign = load_campaign(default_campaign_dir())
    letters = drafting.merge_all(
        drafting.targets_for(snapshot, campaign, Selection(all=True, allow_stale_posts=True), TODAY).targets,
        campaign,
        TODAY,
    )
    found = drafting.distinctness(letters)
    assert found.letters == len(letters) > 750
    assert found.median < 0.5
    posts = {item.target.letter_id: {post.post for post in item.target.posts} for item in letters}
    in_waiting = {"Lord in Waiting", "Baroness in Waiting"}
    for pair in found.above:  # only whips in waiting, whose departmental duties the data does not name
        assert posts[pair.first] <= in_waiting and posts[pair.second] <= in_waiting, pair


def test_the_report_shows_the_figures_and_names_the_near_identical_pair(tmp_path: Path) -> None:
    out, report = tmp_path / "outbox", tmp_path / "report"
    members = [arg for member in (*LORDS_IN_WAITING, "Llinos Medi") for arg in ("--member", member)]
    run("draft", "--allow-stale-posts", *members, "--format", "md", "--out", str(out))
    stdout, stderr = run("report", "--outbox", str(out), "--out", str(report))
    assert "maximum 1.000, 1 pair above 0.85" in " ".join(stdout.split())
    page = (report / "index.html").read_text(encoding="utf-8")
    figures = re.search(r'<p id="similarity">(.*?)</p>', page, re.S)
    assert figures is not None
    text = re.sub(r"<[^>]+>", "", figures.group(1))
    assert text.startswith("3 letters, 3 pairs compared") and "maximum 1.000; 1 pair above 0.85" in text
    table = re.search(r'<table id="similar-pairs">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert table is not None
    rows = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row) for row in re.findall(r"<tr>(.*?)</tr>", table.group(1))]
    assert rows == [["5386-minister", "Lord Katz", "1603-minister", "Lord Wilson of Sedgefield", "1.000"]]
