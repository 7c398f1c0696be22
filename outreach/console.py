"""Terminal output: the stdout and stderr consoles, tables and progress. Only the CLI imports this.

What comes from data is cleaned of control characters and terminal escapes before it is printed (`safetext.clean`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from outreach.safetext import MARK_CLOSE, MARK_OPEN, clean

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Table:
    """Return a plain table for people to read."""
    result = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for column in columns:
        result.add_column(column)
    for row in rows:
        # Data, never markup; and never a terminal escape or control character from a source (outreach.safetext).
        result.add_row(*(Text("" if cell is None else clean(str(cell), newlines=True)) for cell in row))
    return result


def counts(title: str, label: str, counter: Counter[str], total: int | None = None) -> Table:
    """Return a two-column table of counts, largest first."""
    rows: list[tuple[str, object]] = [(key, value) for key, value in counter.most_common()]
    if total is not None:
        rows.append(("total", total))
    return table(title, (label, "letters"), rows)


def highlighted(marked: str) -> Text:
    """Return marked Markdown as rich text, personalised words highlighted."""
    text = Text()
    position = 0
    marked = clean(marked, newlines=True)
    while True:
        start = marked.find(MARK_OPEN, position)
        if start < 0:
            text.append(marked[position:])
            return text
        end = marked.find(MARK_CLOSE, start)
        text.append(marked[position:start])
        text.append(marked[start + 1 : end].replace(MARK_OPEN, ""), style="bold black on yellow")
        position = end + 1


@contextmanager
def progress_bar() -> Iterator[object]:
    """Yield a progress callback (stage, done, total) drawing a transient bar on stderr, when it is a terminal."""
    if not err.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done)

    with bar:
        yield update
