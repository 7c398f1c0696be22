"""Letter checks over every letter the shipped campaign drafts (`--all` and the default audience), each check shown to
catch its fault when the fault is put into every letter; campaign checks and figures in a copy of the campaign."""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from commands import manifest, run
from test_second_campaign import make_campaign

from outreach import campaign as campaigns
from outreach import checks
from outreach import draft as drafting
from outreach.campaign import Campaign, Figure
from outreach.errors import ExitCode
from outreach.facts import TERRITORIAL_OFFICES
from outreach.letters import Block, Run
from outreach.merge import Merged
from outreach.resources import default_campaign_dir
from outreach.snapshot import Snapshot
from outreach.targeting import Selection, post_title

TODAY = date(2026, 12, 1)
BUILT_IN = [check.id for check in checks.BUILT_IN]
# Checks the shipped letters may still fail: none. The shipped campaign fails `draft --strict` on `unsigned` alone.
PENDING: set[str] = set()


def signed(campaign: Campaign) -> Campaign:
    """Return the campaign with a person named to sign its letters."""
    sender = dataclasses.replace(campaign.sender, signatory_name="A. Person", signatory_role="Head of Policy")
    return dataclasses.replace(campaign, sender=sender)


@pytest.fixture(scope="module")
def shipped() -> Campaign:
    return campaigns.load(default_campaign_dir())


def _letters(snapshot: Snapshot, campaign: Campaign, selection: Selection) -> list[Merged]:
    return drafting.merge_all(drafting.targets_for(snapshot, campaign, selection, TODAY).targets, campaign, TODAY)


@pytest.fixture(scope="module", params=["all", "audience"])
def letters(request: pytest.FixtureRequest, snapshot: Snapshot, shipped: Campaign) -> list[Merged]:
    """Every letter of `draft --all --allow-stale-posts`, then of `draft --allow-stale-posts` (the campaign's
    audience, post holders' letters included although the embedded snapshot's posts are over 60 days old)."""
    selection = Selection(all=request.param == "all", allow_stale_posts=True)
    merged = _letters(snapshot, shipped, selection)
    assert len(merged) > 400 and any(item.target.kind == "minister" for item in merged)
    return merged


def table_rows(stdout: str, title: str) -> list[list[str]]:
    """Return the cells of each row of a table the CLI printed, a wrapped cell's lines joined."""
    rows: list[list[str]] = []
    lines = stdout.splitlines()
    start = next(index for index, line in enumerate(lines) if line.strip().startswith(title))
    for line in lines[start + 1 :]:
        if "│" not in line:
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.split("│")]
        if cells[0] or not rows:
            rows.append(cells)
        else:
            rows[-1] = [" ".join(filter(None, (old, new))) for old, new in zip(rows[-1], cells, strict=True)]
    return rows


def failing(results: checks.Results, check_id: str) -> set[str]:
    return {failure.letter_id for failure in results.failing(check_id)}


def with_letter(item: Merged, **changes: object) -> Merged:
    """Return the letter with some of its fields changed, as a faulty template or address rule would make it."""
    return dataclasses.replace(item, letter=dataclasses.replace(item.letter, **changes))  # type: ignore[arg-type]


def with_sentence(item: Merged, sentence: str) -> Merged:
    """Return the letter with one more paragraph in its body."""
    return with_letter(item, blocks=(*item.letter.blocks, Block("paragraph", (Run(sentence),))))


def test_unsigned_is_every_letter_until_a_person_with_a_role_signs(letters: list[Merged], shipped: Campaign) -> None:
    results = checks.run(letters, shipped)
    assert failing(results, "unsigned") == {item.target.letter_id for item in letters}
    assert [failure.letter_id for failure in results.listed() if failure.check == "unsigned"] == [
        f"all {len(letters)} letters"
    ]
    signed_letters = [with_letter(item, sender=signed(shipped).sender) for item in letters]
    assert not failing(checks.run(signed_letters, signed(shipped)), "unsigned")


def test_a_post_named_twice_fails_in_every_letter(letters: list[Merged], shipped: Campaign) -> None:
    results = checks.run(letters, shipped)
    for item in letters:
        lines = item.letter.recipient_lines
        repeated = {line for line in lines if lines.count(line) > 1 and line in map(post_title, item.target.posts)}
        if repeated:
            assert item.target.letter_id in failing(results, "post-named-once")
    holders = [item for item in letters if item.target.posts and item.target.kind != "seat"]
    assert holders
    doubled = [
        with_letter(item, recipient_lines=(*item.letter.recipient_lines, post_title(item.target.posts[-1])))
        for item in holders
    ]
    assert failing(checks.run(doubled, shipped), "post-named-once") == {item.target.letter_id for item in holders}


def _nation(item: Merged) -> str:
    target = item.target
    if target.kind == "seat":
        assert target.constituency is not None
        return target.constituency.nation
    return TERRITORIAL_OFFICES.get(target.posts[0].department, "UK")


def test_every_letter_records_the_figures_it_states_and_no_other(letters: list[Merged]) -> None:
    stated = 0
    for item in letters:
        body = checks.body_text(item.letter).casefold()
        figures = item.figures
        assert all(figure.text.casefold() in body for figure in figures), item.target.letter_id
        stated += bool(figures)
    assert stated > 50


def test_a_figure_of_another_nation_fails_in_every_letter(letters: list[Merged], shipped: Campaign) -> None:
    results = checks.run(letters, shipped)
    for item in letters:
        wrong = [f for f in item.figures if f.nation not in ("UK", _nation(item)) and _nation(item) != "UK"]
        assert (item.target.letter_id in failing(results, "figure-nation")) == bool(wrong), item.target.letter_id
    said = Figure("said", "in England in 2025, 100 scanners", "England", "a source", TODAY, 1)
    unsaid = Figure("unsaid", "in 2025, 100 scanners", "England", "a source", TODAY, 1)
    uk = Figure("uk", "in 2025, 400 scanners in the UK", "UK", "a source", TODAY, 1)
    for figure in (said, unsaid, uk):
        planted = [dataclasses.replace(item, figures=(figure,)) for item in letters]
        found = failing(checks.run(planted, shipped), "figure-nation")
        for item in letters:
            nation = _nation(item)
            expected = figure is unsaid and nation != "England" or figure is said and nation not in ("UK", "England")
            assert (item.target.letter_id in found) == expected, (figure.id, item.target.letter_id)


def test_a_linac_count_over_five_years_old_fails_in_every_letter(
    letters: list[Merged], shipped: Campaign, snapshot: Snapshot
) -> None:
    results = checks.run(letters, shipped)
    for item in letters:
        years = [int(year) for year in re.findall(r"\((\d{4}) figure\)", checks.body_text(item.letter))]
        if any(TODAY.year - year > 5 for year in years):
            assert item.target.letter_id in failing(results, "stale-linac-count")
    old = next(s for s in snapshot.sites_of_type("radiotherapy_centre") if s.linacs and (s.linacs_year or 9999) < 2020)
    new = next(s for s in snapshot.sites_of_type("radiotherapy_centre") if s.linacs and (s.linacs_year or 0) >= 2024)
    for site, fails in ((old, True), (new, False)):
        planted = []
        for item in letters:
            local = item.target.local or item.target.home
            if local is None:
                continue
            target = dataclasses.replace(item.target, local=dataclasses.replace(local, sites=(site,)))
            sentence = f"{site.letter_name} treats patients on {site.linacs} linear accelerators."
            planted.append(dataclasses.replace(with_sentence(item, sentence), target=target))
        assert len(planted) > 300
        found = failing(checks.run(planted, shipped), "stale-linac-count")
        if fails:
            assert found == {item.target.letter_id for item in planted}
        else:
            assert found == failing(results, "stale-linac-count") & found


def test_each_office_has_its_salutation_and_no_one_their_display_name(letters: list[Merged], shipped: Campaign) -> None:
    results = checks.run(letters, shipped)
    for item in letters:
        member = item.target.member
        if item.target.kind != "minister" and member is not None and item.letter.salutation == f"Dear {member.name}":
            assert item.target.letter_id in failing(results, "salutation")
    ministers = [item for item in letters if item.target.kind == "minister"]
    secretaries = [item for item in ministers if item.target.posts[0].post.startswith("Secretary of State")]
    assert secretaries and ministers
    wrong = [with_letter(item, salutation="Dear Minister") for item in secretaries]
    assert failing(checks.run(wrong, shipped), "salutation") == {item.target.letter_id for item in secretaries}
    seats = [item for item in letters if item.target.kind == "seat"]
    named = [with_letter(item, salutation=f"Dear {item.target.member.name}") for item in seats]  # type: ignore[union-attr]
    assert failing(checks.run(named, shipped), "salutation") == {item.target.letter_id for item in seats}
    friendly = dataclasses.replace(shipped, salutation_style="first_name")
    assert not failing(checks.run(named, friendly), "salutation")


def test_the_shipped_campaign_fails_strict_on_unsigned_and_pending_work_alone(tmp_path: Path) -> None:
    out = tmp_path / "outbox"
    stdout, stderr = run("draft", "--strict", "--format", "md", "--out", str(out), expect=ExitCode.FAILURE)
    assert not out.exists()
    line = stderr.strip().splitlines()[-1]
    found = re.search(r"fail \d+ checks? \(([^)]*)\); nothing was written", line)
    assert found, line
    failed = set(found.group(1).split(", "))
    assert "unsigned" in failed and failed - {"unsigned"} <= PENDING
    assert re.search(
        r"^  unsigned  all \d+ letters: \S*campaign\.toml:\d+: the signatory is a team, not a person "
        r"\('Policy and Public Affairs Team', with no role\)",
        stdout,
        re.M,
    )


def copy_campaign(tmp_path: Path, signatory: bool = True, extra: str = "") -> Path:
    folder = tmp_path / "ipem-copy"
    shutil.copytree(default_campaign_dir(), folder)
    toml = folder / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    if signatory:
        text = text.replace('signatory_name = "Policy and Public Affairs Team"', 'signatory_name = "A. Person"')
        text = text.replace('signatory_role = ""', 'signatory_role = "Head of Policy"')
        text = text.replace('email = ""', 'email = "policy@example.org"', 1)
        text = text.replace('phone = ""', 'phone = "01632 960000"', 1)  # an Ofcom number reserved for drama
    toml.write_text(text + extra, encoding="utf-8")
    return folder


def test_a_signed_copy_passes_every_check_but_pending_work(tmp_path: Path) -> None:
    folder = copy_campaign(tmp_path)
    out = tmp_path / "outbox"
    expect = ExitCode.FAILURE if PENDING else ExitCode.OK
    stdout, stderr = run(
        "draft", "--strict", "--campaign", str(folder), "--format", "md", "--out", str(out), expect=expect
    )
    if not PENDING:
        assert "Letter checks: all" in stdout and manifest(out)
        everyone = tmp_path / "everyone"
        stdout, _ = run(
            "draft", "--strict", "--all", "--allow-stale-posts", "--campaign", str(folder), "--format", "md",
            "--out", str(everyone),
        )  # fmt: skip
        assert "Letter checks: all" in stdout and len(manifest(everyone)) == 774
        return
    assert not out.exists()
    failed = set(re.search(r"\(([^)]*)\); nothing was written", stderr).group(1).split(", "))  # type: ignore[union-attr]
    assert failed <= PENDING and "unsigned" not in failed


CHECK = """
[[checks]]
id = "no-ipem"
when = { template = ["new_mp"], nation = ["Wales"] }
must_not_match = "\\\\bIPEM\\\\b"
message = "a letter to a new Welsh MP never says IPEM"
"""


def test_a_campaign_check_lists_its_letters_and_strict_refuses(tmp_path: Path) -> None:
    folder = copy_campaign(tmp_path, extra=CHECK)
    out = tmp_path / "outbox"
    stdout, _ = run(
        "draft", "--all", "--nation", "Wales", "--campaign", str(folder), "--format", "md", "--out", str(out)
    )
    seats = [row for row in manifest(out) if row["kind"] == "seat"]
    assert len(seats) == 32 and {row["nation"] for row in seats} == {"Wales"}
    new = [row for row in seats if row["template"] == "new_mp"]
    assert 0 < len(new) < len(seats)
    listed = [line for line in stdout.splitlines() if line.startswith("  no-ipem  ")]
    assert listed == [f"  no-ipem  {row['letter_id']}  {row['name']}: says 'IPEM'" for row in new]
    line = (folder / "campaign.toml").read_text(encoding="utf-8").splitlines().index('id = "no-ipem"')
    meaning = f"a letter to a new Welsh MP never says IPEM (campaign.toml:{line})"
    assert ["no-ipem", str(len(new)), meaning] in table_rows(stdout, "Letter checks failing")
    b = tmp_path / "b"
    _, stderr = run(
        "draft",
        "--strict",
        "--all",
        "--nation",
        "Wales",
        "--campaign",
        str(folder),
        "--out",
        str(b),
        expect=ExitCode.FAILURE,
    )
    assert "no-ipem" in stderr and not b.exists()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('must_not_match = "(unclosed"', "'must_not_match' is not a regular expression"),
        ('must_match = "x"\nshould_match = "y"', "unknown key 'should_match'"),
        ('when = { nationn = ["Wales"] }\nmust_match = "x"', "unknown condition 'nationn'"),
        ("", "give 'must_match' or 'must_not_match'"),
    ],
)
def test_a_bad_campaign_check_names_its_line(tmp_path: Path, entry: str, message: str) -> None:
    folder = copy_campaign(tmp_path, extra=f'\n[[checks]]\nid = "bad"\nmessage = "m"\n{entry}\n')
    lines = (folder / "campaign.toml").read_text(encoding="utf-8").splitlines()
    line = len(lines) - lines[::-1].index("[[checks]]")
    _, stderr = run("draft", "--campaign", str(folder), "--out", str(tmp_path / "out"), expect=ExitCode.FAILURE)
    assert len(stderr.strip().splitlines()) == 1
    assert f"campaign.toml:{line}: check 'bad': {message}" in stderr


def test_a_campaign_check_cannot_take_a_built_in_checks_id(tmp_path: Path) -> None:
    folder = copy_campaign(tmp_path, extra='\n[[checks]]\nid = "unsigned"\nmessage = "m"\nmust_match = "x"\n')
    lines = (folder / "campaign.toml").read_text(encoding="utf-8").splitlines()
    _, stderr = run("draft", "--campaign", str(folder), "--out", str(tmp_path / "out"), expect=ExitCode.FAILURE)
    assert f"campaign.toml:{len(lines) - 3}: check 'unsigned': that id is a built-in check's" in stderr
    assert not (tmp_path / "out").exists()


def test_a_bad_figure_names_its_line(tmp_path: Path) -> None:
    folder = copy_campaign(
        tmp_path, extra='\n[figures.wrong]\ntext = "x"\nnation = "Cornwall"\nsource = "s"\ndate = 2020-01-01\n'
    )
    line = (folder / "campaign.toml").read_text(encoding="utf-8").splitlines().index("[figures.wrong]") + 1
    _, stderr = run("draft", "--campaign", str(folder), "--out", str(tmp_path / "out"), expect=ExitCode.FAILURE)
    assert f"campaign.toml:{line}: figure 'wrong': unknown nation 'Cornwall'" in stderr


def test_an_unknown_figure_names_the_template_line(tmp_path: Path) -> None:
    folder = copy_campaign(tmp_path)
    partial = folder / "templates" / "asks" / "equipment.md.j2"
    lines = partial.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if 'figure("old_linacs_2022")' in line)
    partial.write_text("\n".join(lines).replace('figure("old_linacs_2022")', 'figure("old_linacs")') + "\n")
    _, stderr = run("draft", "--campaign", str(folder), "--out", str(tmp_path / "out"), expect=ExitCode.FAILURE)
    assert f"equipment.md.j2:{number}: unknown figure 'old_linacs'" in stderr and "Traceback" not in stderr


def test_the_manifest_names_the_figures_each_letter_states(tmp_path: Path) -> None:
    out = tmp_path / "outbox"
    run("draft", "--ministers", "--allow-stale-posts", "--format", "md", "--out", str(out))
    rows = manifest(out)
    campaign = campaigns.load(default_campaign_dir())
    for row in rows:
        text = " ".join((out / row["markdown"]).read_text(encoding="utf-8").split()).casefold()
        named = {figure_id for figure_id, figure in campaign.figures.items() if figure.text.casefold() in text}
        assert set(filter(None, row["figures"].split(";"))) == named, row["letter_id"]
    assert any(row["figures"] for row in rows)


def test_preview_shows_each_letters_figures_and_check_results(tmp_path: Path) -> None:
    folder = copy_campaign(tmp_path, signatory=False)
    minister = folder / "templates" / "minister.md.j2"
    minister.write_text(minister.read_text(encoding="utf-8") + '\n{{ figure("old_linacs_2022")|sentence }}.\n')
    stdout, _ = run("preview", "Rachel Reeves", "--allow-stale-posts", "--campaign", str(folder))
    figure = "Figure old_linacs_2022 (England, 2022-03-31): NHS England and NHS Improvement's estimate"
    assert sum(line.startswith(figure) for line in stdout.splitlines()) == 1
    stdout, _ = run("preview", "Aberdeen South")
    said = " ".join(stdout.split())
    assert "Check failed: unsigned: " in said
    assert "the signatory is a team, not a person ('Policy and Public Affairs Team', with no role)" in said


def test_a_second_campaign_gets_the_same_protection(tmp_path: Path) -> None:
    folder = make_campaign(tmp_path)
    toml = folder / "campaign.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8")
        + '\n[figures.english_scanners]\ntext = "in 2025 there were 100 MRI scanners"\nnation = "England"\n'
        + 'source = "a source"\ndate = 2025-01-01\n'
        + CHECK.replace("IPEM", "scanning").replace('template = ["new_mp"], ', ""),
        encoding="utf-8",
    )
    seat = folder / "templates" / "seat.md.j2"
    seat.write_text(seat.read_text(encoding="utf-8") + '\n{{ figure("english_scanners")|sentence }}.\n')
    stdout, stderr = run(
        "draft",
        "--strict",
        "--campaign",
        str(folder),
        "--nation",
        "Wales",
        "--out",
        str(tmp_path / "o"),
        expect=ExitCode.FAILURE,
    )
    assert not (tmp_path / "o").exists()
    assert "(figure-nation, unsigned, no-ipem)" in stderr
    lines = stdout.splitlines()
    assert (
        "  figure-nation  all 32 letters: figure 'english_scanners' is about England, in a letter about Wales" in lines
    )
