"""The options several commands share, each declared once with one help text (sqlite-utils' `output_options`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

DAY_FORMATS = ["%Y-%m-%d"]  # every day a command takes is written YYYY-MM-DD

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]

CampaignOption = Annotated[
    Path | None,
    typer.Option("--campaign", help="Campaign folder (campaign.toml, templates, layout). Default: IPEM 2024."),
]

# The contact log keeps campaigns by id; a folder is read for its campaign.toml's id.
CampaignIdOption = Annotated[
    str | None,
    typer.Option(
        "--campaign",
        help="Campaign: an id (ipem-2024) or a campaign folder. Default: every campaign "
        "('log add': the default campaign).",
    ),
]

OutOption = Annotated[Path, typer.Option("--out", help="Folder to write into.")]

MembersOption = Annotated[list[str] | None, typer.Option("--member", help="A member: id or name (repeatable).")]

MemberOption = Annotated[str | None, typer.Option("--member", help="Only this member: id or name.")]

NationOption = Annotated[str | None, typer.Option("--nation", help="Only this nation, e.g. Wales.")]

PartyOption = Annotated[str | None, typer.Option("--party", help="Only this party (name or abbreviation).")]

LimitOption = Annotated[int | None, typer.Option("--limit", min=1, help="At most N letters, in manifest order.")]

DayOption = Annotated[
    datetime | None, typer.Option("--date", formats=DAY_FORMATS, help="The day, YYYY-MM-DD. Default: today.")
]

AllowStalePostsOption = Annotated[
    bool,
    typer.Option(
        "--allow-stale-posts",
        help="Also draft post holders' letters when the snapshot's posts are over 60 days old (flagged stale_posts).",
    ),
]

StrictOption = Annotated[
    bool, typer.Option("--strict", help="Fail (exit 1, nothing written) if any letter fails a letter check.")
]
