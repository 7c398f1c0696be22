"""One output path for rows: a table for people, or `--json` from the domain types' own `as_json()`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from rich.console import RenderableType

from outreach import console

T = TypeVar("T")


def print_json(value: object) -> None:
    """Print a value on stdout as indented JSON, non-ASCII characters kept."""
    print(json.dumps(value, ensure_ascii=False, indent=1))


def output_rows(
    items: Sequence[T],
    to_json: Callable[[T], Mapping[str, object]],
    *,
    as_json: bool,
    table: Callable[[], RenderableType],
) -> None:
    """Print the items as a bare JSON array (one `as_json()` object each) or, for people, the table."""
    if as_json:
        print_json([to_json(item) for item in items])
    else:
        console.out.print(table())


def pairs(count: int) -> str:
    """Return '1 pair' or 'N pairs', N with thousands separators."""
    return f"{count:,} pair" if count == 1 else f"{count:,} pairs"
