"""`outreach report`: the campaign report (hex maps, counts, replies, follow-ups) as a self-contained page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach import console
from outreach.cli.app import load_campaign, load_snapshot, today, user_errors
from outreach.cli.options import CampaignOption, OutOption
from outreach.cli.output import pairs
from outreach.report import Measure as ReportMeasure


def report(
    *,
    campaign: CampaignOption = None,
    out: OutOption = Path("report"),
    outbox: Annotated[
        Path | None,
        typer.Option(
            "--outbox", help="An outbox from 'outreach draft': its letters count as drafted, and are compared."
        ),
    ] = None,
    colour_by: Annotated[
        ReportMeasure, typer.Option("--colour-by", help="What map.svg colours the seats by.")
    ] = ReportMeasure.contact,
    png: Annotated[bool, typer.Option("--png", help="Also write map.png (for slides).")] = False,
) -> None:
    """Write the campaign report: index.html (hex maps, counts, replies, follow-ups) and map.svg, self-contained.

    index.html maps the 650 seats by contact state, MPCE sites, party and lead ask, with counts by state, ask,
    party, nation and new vs returning MPs, the reply rate, follow-ups due and (with --outbox) near-identical
    letters. It reads the contact log, snapshot and outbox and changes none of them.
    """
    from outreach import report as reporting

    with user_errors():
        chosen = load_campaign(campaign)
        snapshot = load_snapshot(uses_posts=False)
        gathered = reporting.gather(snapshot, chosen, today(), outbox=outbox)
        written = reporting.write(gathered, out, measure=colour_by, png=png)
    console.out.print(
        console.table(f"{chosen.name}: seats by contact state", ("state", "seats"), reporting.summary(gathered))
    )
    rate = gathered.reply_rate
    console.out.print(
        f"Letters sent {gathered.letters_sent}, replies {gathered.letters_replied}"
        + (f" ({reporting.percent(rate)})" if rate is not None else "")
        + f", follow-ups due {len(gathered.followups)}",
        markup=False,
    )
    if gathered.similarity is not None:
        found = gathered.similarity
        console.out.print(
            f"Near-identical letters: median similarity {found.median:.3f}, maximum {found.maximum:.3f}, "
            f"{pairs(len(found.above))} above {found.threshold:.2f}",
            markup=False,
        )
    paths = [written.index, written.map_svg] + ([written.map_png] if written.map_png else [])
    console.out.print(
        f"Wrote {', '.join(str(path) for path in paths)} (map coloured by {colour_by.value})", markup=False
    )
    console.out.print(f"Snapshot: {snapshot.describe()}", markup=False)
