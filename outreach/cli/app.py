"""The Typer app and what every command shares: user_errors(), today, loading the snapshot and the campaign."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import NoReturn

import typer
from rich.markup import escape

from outreach import campaign as campaigns
from outreach import console, settings
from outreach import snapshot as snapshots
from outreach.errors import OutreachError
from outreach.safetext import clean

app = typer.Typer(
    help="Draft tailored letters to MPs, ministers and shadow ministers, and keep the record of who was written to.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn an expected failure into one line on stderr and its exit code."""
    try:
        yield
    except OutreachError as exc:
        _fail(exc)
    except Exception as exc:
        from outreach.ledger import schema

        # The ledger turns its own faults into LedgerError; one met outside it still names the log, not a traceback.
        if not (isinstance(exc, sqlite3.Error) and schema.is_fault(exc)):
            raise
        _fail(schema.fault(settings.home() / schema.DATABASE_FILE, exc))


def _fail(exc: OutreachError) -> NoReturn:
    """Print an expected failure as one line on stderr and exit with its code."""
    # The message may quote a source (a name, a server's reply): one line, no escape sequence reaches the terminal.
    console.err.print(f"[bold red]error:[/] {escape(clean(str(exc)))}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code) from None


def today() -> date:
    """Return today's date: the one place the commands read the clock for a day."""
    return date.today()


def load_snapshot(*, uses_posts: bool) -> snapshots.Snapshot:
    """Return the newest snapshot, saying on stderr which one, and how old its ministers are."""
    from outreach.targeting import STALE_POSTS_DAYS

    snapshot = snapshots.newest(settings.home())
    console.err.print(f"Using {snapshot.describe()}", style="dim", markup=False)
    if uses_posts:
        age = snapshot.posts_age_days(today())
        if age is not None and age > STALE_POSTS_DAYS:
            console.err.print(
                f"warning: ministers' posts are {age} days old (as at {snapshot.posts_as_of}); "
                "run 'outreach refresh' for current posts",
                style="yellow",
            )
    return snapshot


def load_campaign(folder: Path | None) -> campaigns.Campaign:
    """Return the campaign in `folder`, or the default campaign (IPEM 2024) when none is given."""
    from outreach.resources import default_campaign_dir

    return campaigns.load(folder or default_campaign_dir())


def warn_unsigned(campaign: campaigns.Campaign) -> None:
    """Say on stderr, in one line, when no person signs the letters (or the signature gives no way to reply)."""
    problem = campaign.sender.unsigned() or campaign.sender.missing_contact()
    if problem:
        console.err.print(f"warning: {problem}", style="yellow", markup=False, highlight=False, soft_wrap=True)


def main() -> None:
    """Run the command line."""
    app(prog_name="outreach")
