"""The campaign report: a hex map of the 650 constituencies and the counts behind it, as static HTML and SVG.

`outreach report` reads the snapshot, the campaign, the contact log and (optionally) an outbox, and writes
`index.html` (four maps — contact, MPCE sites, party, asks — with legends and tables, inline CSS and SVG, no
script and no network) and `map.svg` (one of the maps, for slides; `--png` also renders it as `map.png`).
It never writes to the contact log, the snapshot or the outbox.

- `gather`: reading the snapshot, the contact log and an outbox into a `Report` (`model`);
- `hexmap`: the hex map's geometry and layout;
- `page`: index.html and map.svg from the Jinja templates in `templates/` (autoescape on), map.png by Typst.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from outreach.report.model import Measure, Report, summary

if TYPE_CHECKING:
    from outreach.report.gather import gather
    from outreach.report.hexmap import outline_edges
    from outreach.report.page import Written, html_page, map_svg, percent, write

# Loaded when first asked for (PEP 562): every command names `Measure` for `report --colour-by`, while only `report`
# needs the rest (and, through it, the targeting and the templates).
_LATER = {
    "gather": "gather",
    "outline_edges": "hexmap",
    "Written": "page",
    "html_page": "page",
    "map_svg": "page",
    "percent": "page",
    "write": "page",
}


def __getattr__(name: str) -> Any:
    if name not in _LATER:
        raise AttributeError(f"module 'outreach.report' has no attribute {name!r}")
    found = getattr(importlib.import_module(f"outreach.report.{_LATER[name]}"), name)
    globals()[name] = found  # in place of the submodule of the same name (gather) that the import just set here
    return found

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
