"""The outreach command line: each command resolves its settings, calls the core and renders the answer.

`app` (the Typer app, shared helpers) and `options` (the options several commands share) are used by one module
per command group; a new command goes in its group's module and is registered here, in `outreach --help` order.
"""

from __future__ import annotations

from outreach.cli import contacts, draft, inbox, lookup, refresh, report
from outreach.cli.app import app, main

for command in (
    draft.draft,
    lookup.preview,
    lookup.mps,
    lookup.sites,
    contacts.send,
    inbox.inbox,
    contacts.reply,
    contacts.followups,
    report.report,
    contacts.suppress,
    refresh.refresh,
):
    app.command()(command)
app.add_typer(contacts.log_app, name="log")

__all__ = ["app", "main"]
