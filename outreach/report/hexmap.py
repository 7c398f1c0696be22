"""The hex map: where each of the 650 constituencies' cells goes, the nations' outlines, and a map's layout.

The hex map is Open Innovations' 2024 constituency hexjson (data/README.md), layout "odd-r": pointy-topped
hexagons, rows shifted right by half a hexagon when r is odd, and r counting *upwards* (their renderer,
oi.hexmap.js, draws a cell at y = -r), so Scotland has the largest r. Cell corners are computed on a lattice of
half-widths and half-sides, where every corner is a pair of whole numbers: edges shared by two cells then match
exactly, which is how a nation's outline is found (the edges of its cells that no neighbour in the same nation
shares).

`map_view` returns what one map shows, placed and measured; the markup is the template `templates/map.svg.j2`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from outreach.report.model import MEASURE_TITLES, Category, Measure, Report
from outreach.sites import Constituency

# Geometry: a cell's corners sit on a lattice of (half a hexagon's width, half its side), in pixels.
SIDE = 10.0
HALF_WIDTH = SIDE * math.sqrt(3) / 2
HALF_SIDE = SIDE / 2
CORNERS = ((0, -2), (1, -1), (1, 1), (0, 2), (-1, 1), (-1, -1))  # clockwise from the top, in lattice units
MARGIN = 12.0
TITLE_HEIGHT = 40.0
LEGEND_WIDTH = 330.0
LEGEND_CHARACTER_WIDTH = 7.5  # a generous average at 14px, to tell whether labels fit two columns
LEGEND_ROW = 22  # the legend's line height, in pixels


def lattice(constituency: Constituency) -> tuple[int, int]:
    """Return a cell's centre in lattice units: odd rows shifted right by half a cell, r counting upwards."""
    return 2 * constituency.hex_q + (constituency.hex_r & 1), -3 * constituency.hex_r


@dataclass(frozen=True)
class Frame:
    """Where the map's lattice sits in the picture, and the size of the map itself."""

    left: int  # lattice x of the leftmost corner
    top: int  # lattice y of the topmost corner
    map_width: float
    map_height: float

    def point(self, x: int, y: int) -> tuple[float, float]:
        """Return the picture coordinates (pixels) of a lattice point."""
        return (MARGIN + (x - self.left) * HALF_WIDTH, TITLE_HEIGHT + MARGIN + (y - self.top) * HALF_SIDE)


def frame(constituencies: Iterable[Constituency]) -> Frame:
    """Return the frame that holds every cell of the map, below the title."""
    centres = [lattice(c) for c in constituencies]
    left, right = min(x for x, _ in centres) - 1, max(x for x, _ in centres) + 1
    top, bottom = min(y for _, y in centres) - 2, max(y for _, y in centres) + 2
    return Frame(left, top, (right - left) * HALF_WIDTH, (bottom - top) * HALF_SIDE)


def number(value: float) -> str:
    """Return a coordinate as SVG text: at most two decimals, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def hex_path(where: Frame, constituency: Constituency) -> str:
    """Return the SVG path data of one constituency's hexagon."""
    x, y = where.point(*lattice(constituency))
    return (
        f"M{number(x)} {number(y - SIDE)}l{number(HALF_WIDTH)} {number(HALF_SIDE)}v{number(SIDE)}"
        f"l-{number(HALF_WIDTH)} {number(HALF_SIDE)}-{number(HALF_WIDTH)}-{number(HALF_SIDE)}v-{number(SIDE)}z"
    )


def outline_edges(cells: Iterable[tuple[int, int]]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Return the outline of a set of cells (lattice centres) as directed corner-to-corner edges, clockwise.

    An edge two cells of the set share appears once in each direction; those cancel, and what is left is
    the boundary of the set: its coast and its borders with other sets.
    """
    edges: set[tuple[tuple[int, int], tuple[int, int]]] = set()
    for cx, cy in cells:
        corners = [(cx + dx, cy + dy) for dx, dy in CORNERS]
        for start, end in zip(corners, corners[1:] + corners[:1], strict=True):
            if (end, start) in edges:
                edges.discard((end, start))
            else:
                edges.add((start, end))
    return sorted(edges)


def outline_path(where: Frame, cells: Iterable[tuple[int, int]]) -> str:
    """Return the SVG path data drawing the outline of a set of cells, edges chained into runs."""
    following: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for start, end in outline_edges(cells):
        following.setdefault(start, []).append(end)
    parts: list[str] = []
    while following:
        start = next(iter(following))
        point = start
        x, y = where.point(*point)
        parts.append(f"M{number(x)} {number(y)}")
        while point in following:
            nexts = following[point]
            after = nexts.pop()
            if not nexts:
                del following[point]
            x, y = where.point(*after)
            parts.append(f"L{number(x)} {number(y)}" if after != start else "Z")
            point = after
            if after == start:
                break
    return "".join(parts)


@dataclass(frozen=True)
class SeatCell:
    """One seat's hexagon as drawn: its code, category, colour, path data and tooltip."""

    code: str
    category: str
    colour: str
    path: str
    tooltip: str


@dataclass(frozen=True)
class LegendEntry:
    """One legend entry, placed: the category and where its swatch and label go."""

    category: Category
    x: str
    y: int
    text_x: str


@dataclass(frozen=True)
class MapView:
    """One hex map, measured and placed, for the template to draw."""

    measure: Measure
    standalone: bool  # map.svg on its own (namespace, white background, legend right) or inline in the page
    width: str
    height: str
    label: str  # the accessible name: what the map shows and every category's count
    title: str
    heading: str  # the legend's heading
    seats: list[SeatCell]
    nations: list[tuple[str, str]]  # (nation, outline path data), by nation
    legend_x: str
    legend_y: str
    legend: list[LegendEntry]
    note_y: int
    note: str  # the snapshot the map was drawn from

    @property
    def counts(self) -> list[tuple[str, int]]:
        """Return the legend as table rows: each category and its number of seats (the map's text alternative)."""
        return [(entry.category.label, entry.category.count) for entry in self.legend]


def map_view(report: Report, measure: Measure, *, standalone: bool) -> MapView:
    """Return one hex map, laid out: a titled cell per seat, nation outlines, and the legend with counts.

    `standalone` (map.svg, for slides) puts the legend to the right. In the page, where two maps share the
    width, the legend goes below the map (in two columns when the labels fit), so that it is shown at a
    readable size.
    """
    where = frame(seat.constituency for seat in report.seats)
    legend = report.categories(measure)
    colours = {entry.key: entry.colour for entry in legend}
    rows, column_width = len(legend), LEGEND_WIDTH
    if standalone:
        legend_x, legend_y = MARGIN * 2 + where.map_width, TITLE_HEIGHT + 8
        full_width = MARGIN * 2 + where.map_width + LEGEND_WIDTH
        full_height = max(TITLE_HEIGHT + MARGIN * 2 + where.map_height, legend_y + 14 + rows * LEGEND_ROW + 30)
    else:
        longest = max((len(f"{entry.label} ({entry.count})") for entry in legend), default=0)
        column_width = where.map_width / 2
        if longest * LEGEND_CHARACTER_WIDTH + 24 <= column_width:
            rows = -(-len(legend) // 2)
        legend_x, legend_y = MARGIN, TITLE_HEIGHT + MARGIN * 2 + where.map_height + 8
        full_width = MARGIN * 2 + where.map_width
        full_height = legend_y + 14 + rows * LEGEND_ROW + 30
    placed = []
    for index, entry in enumerate(legend):
        column, row = divmod(index, rows)
        placed.append(
            LegendEntry(entry, number(column * column_width), 14 + row * LEGEND_ROW, number(column * column_width + 22))
        )
    nations: dict[str, list[tuple[int, int]]] = {}
    for seat in report.seats:
        nations.setdefault(seat.constituency.nation, []).append(lattice(seat.constituency))
    return MapView(
        measure=measure,
        standalone=standalone,
        width=number(full_width),
        height=number(full_height),
        label=f"Hex map of the {len(report.seats)} constituencies coloured by {MEASURE_TITLES[measure].lower()}: "
        + "; ".join(f"{entry.label} {entry.count}" for entry in legend),
        # On its own (a slide) the map names its campaign; in the HTML page the page heading does.
        title=f"{MEASURE_TITLES[measure]} — {report.campaign.name}" if standalone else MEASURE_TITLES[measure],
        heading=MEASURE_TITLES[measure],
        seats=[
            SeatCell(
                code=seat.constituency.code,
                category=(key := report.category(seat, measure)),
                colour=colours[key],
                path=hex_path(where, seat.constituency),
                tooltip=report.tooltip(seat),
            )
            for seat in report.seats
        ],
        nations=[(nation, outline_path(where, cells)) for nation, cells in sorted(nations.items())],
        legend_x=number(legend_x),
        legend_y=number(legend_y),
        legend=placed,
        note_y=14 + rows * LEGEND_ROW + 18,
        note=report.snapshot.describe(),
    )
