"""The campaign folder: the IPEM campaign reads whole; a broken one fails with one line naming file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from commands import run

from outreach import campaign as campaigns
from outreach.errors import DataError, ExitCode
from outreach.resources import default_campaign_dir


def copy_campaign(tmp_path: Path) -> Path:
    folder = tmp_path / "campaign"
    shutil.copytree(default_campaign_dir(), folder)
    return folder


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / "campaign.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_ipem_campaign_reads_whole() -> None:
    ipem = campaigns.load(default_campaign_dir())
    assert ipem.id == "ipem-2024"
    assert list(ipem.asks) == ["workforce", "registration", "isotopes", "ai", "net_zero", "equipment"]
    assert ipem.sender.address_lines[-1] == "YO24 1ES"
    assert {choice.name for choice in ipem.templates} == {
        "speaker",
        "abstentionist",
        "new_mp",
        "returning_mp",
        "minister",
        "shadow_minister",
    }
    assert (ipem.min_asks, ipem.max_asks) == (2, 3)
    assert ipem.audience.seats == ("new", "by_election")


def test_missing_field_names_the_field(tmp_path: Path) -> None:
    folder = copy_campaign(tmp_path)
    edit(folder, 'organisation = "Institute of Physics and Engineering in Medicine"\n', "")
    with pytest.raises(DataError, match=r"campaign.toml: missing field 'sender.organisation'"):
        campaigns.load(folder)


def test_unknown_condition_names_the_line(tmp_path: Path) -> None:
    folder = copy_campaign(tmp_path)
    edit(folder, 'department = ["DSIT"]', 'departmnet = ["DSIT"]')
    text = (folder / "campaign.toml").read_text(encoding="utf-8").splitlines()
    line = next(i for i, row in enumerate(text, 1) if 'id = "science-department"' in row) - 1
    with pytest.raises(DataError, match=rf"campaign.toml:{line}: rule 'science-department': unknown condition"):
        campaigns.load(folder)


def test_rule_naming_an_unknown_ask(tmp_path: Path) -> None:
    folder = copy_campaign(tmp_path)
    edit(folder, 'asks = ["ai", "isotopes"]', 'asks = ["ai", "isotope"]')
    with pytest.raises(DataError, match="names unknown ask 'isotope'"):
        campaigns.load(folder)


def test_template_choice_without_a_file(tmp_path: Path) -> None:
    folder = copy_campaign(tmp_path)
    (folder / "templates" / "speaker.md.j2").unlink()
    with pytest.raises(DataError, match=r"template 'speaker': no file .*speaker\.md\.j2"):
        campaigns.load(folder)


def test_bad_toml_is_one_line(tmp_path: Path) -> None:
    folder = copy_campaign(tmp_path)
    edit(folder, "[selection]", "[selection")
    with pytest.raises(DataError, match=r"campaign.toml: .*line"):
        campaigns.load(folder)


def test_fixed_letter_date(tmp_path: Path) -> None:
    folder = copy_campaign(tmp_path)
    edit(folder, 'letter_date = "today"', 'letter_date = "2026-12-01"')
    assert str(campaigns.load(folder).letter_date) == "2026-12-01"
    edit(folder, 'letter_date = "2026-12-01"', 'letter_date = "1 Dec"')
    with pytest.raises(DataError, match="letter_date must be YYYY-MM-DD"):
        campaigns.load(folder)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{{ 1/0 }}", "division by zero"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
        ('{% include "partials/about.md.j2" %}{% include "new_mp.md.j2" %}', "recursion"),
    ],
    ids=["division-by-zero", "python-internals", "recursive-include"],
)
def test_a_faulty_or_hostile_template_is_one_line_naming_template_and_line(
    tmp_path: Path, line: str, message: str
) -> None:
    folder = tmp_path / "campaign"
    shutil.copytree(default_campaign_dir(), folder)
    template = folder / "templates" / "new_mp.md.j2"
    lines = template.read_text(encoding="utf-8").splitlines()
    lines.insert(1, line)  # the second line of the template
    template.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, stderr = run(
        "draft", "--constituency", "Aberdeen South", "--campaign", str(folder), "--format", "md",
        "--out", str(tmp_path / "out"), expect=ExitCode.FAILURE,
    )  # fmt: skip
    [error] = stderr.strip().splitlines()[-1:]
    assert error.startswith(f"error: {template}:2: ") and message in error.lower(), error
    assert not (tmp_path / "out").exists()
