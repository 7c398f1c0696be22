"""Who to write to first: `outreach mps --sort interest` and the report rank members by the campaign's [[interest]]."""

from __future__ import annotations

import json
import re
from pathlib import Path

import commands
from commands import MP_FIELDS
from test_second_campaign import make_campaign

HUNT = 1572
BURNHAM = 1427
BARCLAY = 4095  # Secretary of State for Health and Social Care 2022-23, Minister for Health 2018


def test_mps_sort_interest_ranks_members_with_reasons_and_their_sourced_record() -> None:
    mps = json.loads(commands.run("mps", "--sort", "interest", "--json").stdout)
    assert len(mps) == 650 and all(set(mp) >= MP_FIELDS | {"interest", "reasons"} for mp in mps)
    scores = [mp["interest"] for mp in mps]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[100] > 0 == scores[-1]
    top = mps[0]
    assert top["member_id"] == BARCLAY and top["interest"] == 11
    assert top["reasons"][0] == (
        "a former Secretary of State for Health: Secretary of State for Health and Social Care (2022-2023) (+6)"
    )
    assert "a major acute hospital or a diagnostic centre with imaging in the seat (+1)" in top["reasons"]
    hunt = next(mp for mp in mps if mp["member_id"] == HUNT)
    assert hunt["interest"] == 7 and mps.index(hunt) < 10
    health = [item for item in hunt["record"] if item["code"] in ("DH", "DHSC")]
    assert health and all(item["source"]["name"] == "Institute for Government Ministers Database" for item in health)
    seat_only = next(mp for mp in mps if mp["reasons"] and not mp["record"])
    assert seat_only["reasons"][0].endswith("in the seat (+2)") or seat_only["reasons"][0].endswith("(+1)")
    # The reported Prime Minister ranks as a former Health Secretary, with his change of office for a person to see.
    burnham = next(mp for mp in mps if mp["member_id"] == BURNHAM)
    assert burnham["office_changed"] == [
        "2026-07-20 Andy Burnham: took office (as Leader of the Labour Party and Prime Minister)"
    ]
    assert hunt["office_changed"] == []
    nobody = mps[-1]
    assert nobody["interest"] == 0 and nobody["reasons"] == []


def test_the_table_shows_rank_score_and_why() -> None:
    stdout = commands.run("mps", "--sort", "interest", "--nation", "Wales").stdout
    assert "32 MPs by interest to ipem-2024" in stdout and "Liz Saville" in stdout
    assert all(column in stdout for column in ("rank", "interest", "why"))
    # ARTHUR is proposed at Trawsfynydd: Dwyfor Meirionnydd's member ranks for it.
    mps = json.loads(commands.run("mps", "--sort", "interest", "--nation", "Wales", "--json").stdout)
    saville = next(mp for mp in mps if mp["constituency"] == "Dwyfor Meirionnydd")
    assert "ARTHUR, the proposed isotope reactor, is in the seat (+2)" in saville["reasons"]


def test_another_campaign_weighs_its_own_interest(tmp_path: Path) -> None:
    folder = make_campaign(tmp_path)
    with (folder / "campaign.toml").open("a", encoding="utf-8") as handle:
        handle.write(
            '\n[[interest]]\nid = "wales-office"\nrecord = "former_post"\nmatch = { code = ["Wal"] }\nweight = 5\n'
            'because = "a former Wales Office minister"\n'
        )
    mps = json.loads(
        commands.run("mps", "--sort", "interest", "--json", "--nation", "Wales", "--campaign", str(folder)).stdout
    )
    assert mps[0]["name"] == "Dame Nia Griffith" and mps[0]["interest"] == 5
    assert mps[0]["reasons"] == [
        "a former Wales Office minister: Parliamentary Under-Secretary of State (2024-2025) (+5)"
    ]
    assert all(mp["interest"] == 0 for mp in mps[1:])


def test_the_report_has_the_ranking_beside_the_map(outreach_home: Path, tmp_path: Path) -> None:
    commands.run("report", "--out", str(tmp_path))
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="interest">') :]
    section = section[: section.index("</section>")]
    assert re.search(r"<caption[^>]*>The 20 members whose record and seat touch the campaign most", section)
    assert '<th scope="col">member</th>' in section
    rows = re.findall(
        r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td><td>[^<]+</td><td class="number">(\d+)</td>', section
    )
    assert len(rows) == 20 and rows[0] == ("Steve Barclay", "North East Cambridgeshire", "11")
    assert page.index('id="interest"') < page.index("<h2>Contact</h2>")
    assert '<th scope="row">Andy Burnham</th>' in section and "office changed: 2026-07-20 Andy Burnham" in section


def test_the_help_of_sort_names_the_campaign_table_it_uses() -> None:
    """The table's name is shown as written, not read as terminal markup (which showed "[]")."""
    stdout, _ = commands.run("mps", "--help")
    assert "[[interest]]" in " ".join(stdout.split())
