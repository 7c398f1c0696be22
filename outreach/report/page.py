"""The report's files: index.html and map.svg rendered from Jinja templates (autoescape on), map.png by Typst.

Every value from the data (a member's name, a party, a campaign's title) reaches the markup through the
templates' autoescaping, so a name such as `<script>` or `Smith & Jones` shows as text. The page is
self-contained: inline CSS and SVG, no script, nothing fetched.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import jinja2

from outreach.errors import OutputError
from outreach.files import write_bytes_atomically
from outreach.ledger import OUTCOMES
from outreach.report.hexmap import map_view
from outreach.report.model import (
    STATE_GROUPS,
    Measure,
    Report,
    ask_counts,
    breakdown,
    contact_counts,
    group,
)

SIMILAR_PAIRS_SHOWN = 50  # the page lists the first pairs above the threshold; the count says how many in all


def percent(value: float | None) -> str:
    """Return a rate as people read it: '—' when undefined, one decimal place below 10% (2 of 774 is '0.3%')."""
    if value is None:
        return "—"
    return f"{value:.1%}" if 0 < value < 0.1 else f"{value:.0%}"


@functools.cache
def environment() -> jinja2.Environment:
    """Return the templates' environment: autoescaping every value, and failing on an undefined name."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("outreach.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["percent"] = percent
    return env


def map_svg(report: Report, measure: Measure) -> str:
    """Return map.svg: one hex map on its own, with its namespace, a white background and the legend beside it."""
    return environment().get_template("map.svg.j2").render(map=map_view(report, measure, standalone=True))


def _tables(report: Report) -> dict[str, Any]:
    """Return the rows of the page's tables, each row a sequence of cells (the first heads the row)."""
    pairs = report.similarity.above[:SIMILAR_PAIRS_SHOWN] if report.similarity else []
    return {
        "contact_rows": [(label, seats, others, seats + others) for _, label, seats, others in contact_counts(report)],
        "outcome_rows": [(outcome, report.outcomes.get(outcome, 0)) for outcome in OUTCOMES],
        "followup_rows": [
            (item.name, item.letter, item.channels, item.sent.isoformat() if item.sent else "", item.due.isoformat())
            for item in report.followups
        ],
        "state_groups": [label for _, label in STATE_GROUPS],
        "breakdowns": {
            key: [
                (name, counts["seats"], *(counts.get(state, 0) for state, _ in STATE_GROUPS))
                for name, counts in breakdown(report, key)
            ]
            for key in ("nation", "party", "new")
        },
        "ask_rows": [(title, chosen, lead, sent) for _, title, chosen, lead, sent in ask_counts(report)],
        "interest_rows": [
            (
                item.member.name,
                item.member.constituency,
                item.member.party,
                int(item.interest.score) if item.interest.score.is_integer() else item.interest.score,
                item.why,
            )
            for item in report.ranking
        ],
        "pair_rows": [
            (
                pair.first,
                report.letter_names.get(pair.first, ""),
                pair.second,
                report.letter_names.get(pair.second, ""),
                f"{pair.score:.3f}",
            )
            for pair in pairs
        ],
    }


def html_page(report: Report) -> str:
    """Return the whole report as one self-contained HTML page (inline CSS and SVG; no script, no network)."""
    template = environment().get_template("index.html.j2")
    return template.render(
        report=report,
        campaign=report.campaign,
        snapshot=report.snapshot,
        generated=report.generated.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        outbox=str(report.outbox) if report.outbox else None,
        logged=report.logged,
        seat_count=len(report.seats),
        seats_with_mp=sum(1 for seat in report.seats if seat.member is not None),
        written_to=sum(1 for seat in report.seats if seat.member and group(seat.contact) in ("replied", "sent")),
        maps=[map_view(report, measure, standalone=False) for measure in Measure],
        similarity=report.similarity,
        similarity_note=report.similarity_note,
        **_tables(report),
    )


def png_bytes(svg: str, ppi: int = 150) -> bytes:
    """Return a map's SVG rendered as PNG by Typst, page cut to the map."""
    import typst

    with tempfile.TemporaryDirectory(prefix="outreach-map-") as folder:
        root = Path(folder)
        (root / "map.svg").write_text(svg, encoding="utf-8")
        (root / "map.typ").write_text(
            '#set page(width: auto, height: auto, margin: 0pt, fill: white)\n#image("map.svg")\n', encoding="utf-8"
        )
        try:
            data = typst.compile(str(root / "map.typ"), root=str(root), format="png", ppi=ppi)
        except typst.TypstError as exc:  # a bug in the SVG we wrote, not the user's input
            raise RuntimeError(f"Typst could not render the map: {exc}") from exc
    if isinstance(data, list):  # one PNG per page; the map is one page
        data = data[0]
    return bytes(data)


@dataclass(frozen=True)
class Written:
    """The files a report wrote."""

    index: Path
    map_svg: Path
    map_png: Path | None


def write(report: Report, out: Path, *, measure: Measure, png: bool = False) -> Written:
    """Write index.html and map.svg (and map.png) into `out`, each file atomically; return their paths."""
    out = out.expanduser()
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the folder ({exc.strerror})") from None
    svg = map_svg(report, measure)
    picture = png_bytes(svg) if png else None
    write_bytes_atomically(out / "map.svg", svg.encode("utf-8"))
    if picture is not None:
        write_bytes_atomically(out / "map.png", picture)
    write_bytes_atomically(out / "index.html", html_page(report).encode("utf-8"))
    return Written(out / "index.html", out / "map.svg", out / "map.png" if picture is not None else None)
