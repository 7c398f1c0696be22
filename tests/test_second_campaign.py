"""A second campaign is a folder, not code: a different body's asks, rules and templates draft with no change."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from commands import run

from outreach.resources import default_campaign_dir

CAMPAIGN = """
[campaign]
id = "scanners-2027"
name = "Scanner replacement letters to Welsh MPs"
letter_date = "2027-01-15"
salutation_style = "honorific"
layout = "letter.typ"

[sender]
organisation = "Welsh Imaging Network"
address_lines = ["1 Example Street", "Cardiff", "CF10 1AA"]
signatory_name = "Chair of the Network"

[audience]
seats = ["all"]
posts = []

[[asks]]
id = "replace"
title = "Replace the oldest scanners"
summary = "Fund replacement of scanners past their service life."

[[asks]]
id = "staff"
title = "Staff the scanners"
summary = "Train radiographers and physicists to run them."

[[templates]]
name = "seat"
when = { kind = ["seat"] }

[[templates]]
name = "post"
when = { kind = ["minister", "shadow_minister"] }

[[rules]]
id = "everyone"
asks = ["replace", "staff"]
because = "both asks go to every Member"

[[rules]]
id = "no-site"
when = { local_site = false }
asks = ["staff"]
weight = 2
because = "without a local hospital, staffing the nearest one matters most"
"""

SEAT = """# Scanners for {{ recipient.constituency }}
We write to you as the Member for {{ recipient.constituency }} about scanning in {{ recipient.nation }}.
{% if local.top %}{{ local.top.name|sentence }} serves your constituents.{% else %}
The nearest radiotherapy centre is {{ local.nearest_centre.name }}, {{ local.nearest_centre.km }} km away.
{% endif %}

{% for ask in asks %}
- **{{ ask.title }}.** {{ ask.summary }}
{% endfor %}
"""


def make_campaign(tmp_path: Path) -> Path:
    folder = tmp_path / "scanners-2027"
    (folder / "templates" / "asks").mkdir(parents=True)
    (folder / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    (folder / "templates" / "seat.md.j2").write_text(SEAT, encoding="utf-8")
    (folder / "templates" / "post.md.j2").write_text("# Post\nA post letter.\n", encoding="utf-8")
    for ask in ("replace", "staff"):
        (folder / "templates" / "asks" / f"{ask}.md.j2").write_text("{{ ask.summary }}\n", encoding="utf-8")
    shutil.copy(default_campaign_dir() / "letter.typ", folder / "letter.typ")
    return folder


def test_a_second_campaign_drafts_without_code_changes(tmp_path: Path) -> None:
    folder = make_campaign(tmp_path)
    out = tmp_path / "out"
    run("draft", "--campaign", str(folder), "--nation", "Wales", "--out", str(out))
    with (out / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 32 and {row["template"] for row in rows} == {"seat"}
    assert {row["letter_date"] for row in rows} == {"2027-01-15"}
    no_site = [row for row in rows if not row["local_sites"]]
    assert no_site and all(row["asks"] == "staff;replace" for row in no_site)
    text = (out / rows[0]["markdown"]).read_text(encoding="utf-8")
    assert text.startswith("**Welsh Imaging Network**")
    assert "15 January 2027" in text and "Chair of the Network" in text
    assert f"We write to you as the Member for {rows[0]['constituency']} about scanning in Wales." in text
