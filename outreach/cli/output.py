"""One output path for rows: a table for people, or `--json` from the domain types' own `as_json()`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from rich.console import RenderableType

from outreach import console

if TYPE_CHECKING:
    from outreach.checks import Results
    from outreach.merge import Merged

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


def print_checks(checked: Results, merged: Sequence[Merged]) -> None:
    """Print how many letters each failing letter check found, then each failure with its letter and recipient."""
    if not checked.failures:
        letters = f"{checked.letters:,} letter{'' if checked.letters == 1 else 's'}"
        console.out.print(f"Letter checks: all {len(checked.checks)} pass on {letters}", markup=False)
        return
    console.out.print(
        console.table(
            f"Letter checks failing ({len(checked.failed)} of {len(checked.checks)})",
            ("check", "letters", "what it asks"),
            [(check.id, checked.letters_failing(check.id), check.meaning) for check in checked.failed],
        )
    )
    # One plain line per failure, not a table: a campaign with a fault can fail hundreds of letters, and lines stay
    # quick to print and to search: check, letter id, recipient, what is wrong.
    names = {item.target.letter_id: item.target.name for item in merged}
    lines = [
        f"  {failure.check}  {failure.letter_id}{'  ' + names[failure.letter_id] if failure.letter_id in names else ''}"
        f": {failure.detail}"
        for failure in checked.listed()
    ]
    console.out.print("Letters failing checks:\n" + "\n".join(lines), markup=False, highlight=False)


def print_letter_checks(checked: Results, letter_id: str) -> None:
    """Print the letter checks one letter fails, or that it passes them all."""
    failures = checked.of(letter_id)
    if not failures:
        console.out.print(f"Letter checks: all {len(checked.checks)} pass", markup=False)
    for failure in failures:
        console.out.print(f"Check failed: {failure.check}: {failure.detail}", markup=False, style="bold red")


def print_notes(notes: Sequence[str]) -> None:
    """Print what a selection left out and why, one line each, on stderr."""
    for note in notes:
        console.err.print(note, style="yellow", markup=False, soft_wrap=True)
