"""The campaign report: a hex map of the 650 constituencies and the counts behind it, as static HTML and SVG.

`outreach report` reads the snapshot, the campaign, the contact log and (optionally) an outbox, and writes
`index.html` (four maps — contact, MPCE sites, party, asks — with legends and tables, inline CSS and SVG, no
script and no network) and `map.svg` (one of the maps, for slides; `--png` also renders it as `map.png`).
It never writes to the contact log, the snapshot or the outbox.

- `gather`: reading the snapshot, the contact log and an outbox into a `Report` (`model`);
- `hexmap`: the hex map's geometry and layout;
- `page`: index.html and map.svg from the Jinja templates in `templates/` (autoescape on), map.png by Typst.
"""

from outreach.report.gather import gather
from outreach.report.hexmap import outline_edges
from outreach.report.model import Measure, Report, summary
from outreach.report.page import Written, html_page, map_svg, percent, write

__all__ = [
    "Measure",
    "Report",
    "Written",
    "gather",
    "html_page",
    "map_svg",
    "outline_edges",
    "percent",
    "summary",
    "write",
]
