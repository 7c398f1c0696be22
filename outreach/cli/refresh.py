"""`outreach refresh`: a new snapshot from Parliament's APIs (and postcodes.io), and what changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from outreach import console, settings
from outreach.cli.app import load_campaign, load_snapshot, user_errors
from outreach.cli.options import CampaignOption, JsonOption
from outreach.cli.output import print_json

if TYPE_CHECKING:
    from outreach.sources.diff import Who
    from outreach.sources.refresh import RefreshResult


def refresh(
    *,
    api_url: Annotated[
        str | None, typer.Option("--api-url", help="Members API origin (env OUTREACH_API_URL).", show_default=False)
    ] = None,
    committees_api_url: Annotated[
        str | None,
        typer.Option(
            "--committees-api-url", help="Committees API origin (env OUTREACH_COMMITTEES_API_URL).", show_default=False
        ),
    ] = None,
    questions_api_url: Annotated[
        str | None,
        typer.Option(
            "--questions-api-url",
            help="Written Questions API origin (env OUTREACH_QUESTIONS_API_URL).",
            show_default=False,
        ),
    ] = None,
    postcodes_url: Annotated[
        str | None,
        typer.Option("--postcodes-url", help="postcodes.io origin (env OUTREACH_POSTCODES_URL).", show_default=False),
    ] = None,
    max_rps: Annotated[float, typer.Option("--max-rps", min=0, help="Requests a second at most; 0 = uncapped.")] = 10,
    full: Annotated[bool, typer.Option("--full", help="Refetch every member's contact details.")] = False,
    verify_sites: Annotated[
        bool, typer.Option("--verify-sites", help="Check every site's constituency with postcodes.io.")
    ] = False,
    deadline: Annotated[
        float | None,
        typer.Option(
            "--deadline",
            min=0.001,
            help="Seconds the whole refresh may take; past them it stops, saving nothing "
            "(env OUTREACH_REFRESH_DEADLINE; default 900).",
            show_default=False,
        ),
    ] = None,
    accept_large_change: Annotated[
        bool,
        typer.Option(
            "--accept-large-change",
            help="Accept a list of MPs with seats empty that the API does not explain, or over 10% of seats "
            "changing MP at once (a general election).",
        ),
    ] = False,
    as_json: JsonOption = False,
    campaign: CampaignOption = None,
) -> None:
    """Fetch current MPs, contacts, ministers, shadow ministers, committees and records from Parliament into a snapshot.

    Writes a dated snapshot under $OUTREACH_HOME/snapshots/ atomically (a failed refresh leaves the one in use as
    it was, exit 3), then prints what changed: seats, new and departed MPs, parties, posts, contact details.
    Each member's record (careers, stated focus, registered interests touching the campaign's interest_terms) comes
    from the Members API, their written questions on the campaign's question_terms from the Written Questions API.
    Contact details are cached for 7 days per member, records for 30; --full refetches them all. A list of MPs that
    is short without the API saying why, or that changes over 10% of seats at once, is refused (exit 3) unless
    --accept-large-change.
    """
    from outreach.sources import refresh as refreshing
    from outreach.sources.http import Politeness, user_agent
    from outreach.sources.member_records import RecordTerms

    with user_errors():
        chosen = load_campaign(campaign)
        home = settings.home()
        previous = load_snapshot(uses_posts=False)
        origins = refreshing.Origins(
            members_api=settings.members_api(api_url),
            committees_api=settings.committees_api(committees_api_url),
            postcodes=settings.postcodes_api(postcodes_url),
            questions_api=settings.questions_api(questions_api_url),
        )
        with console.progress_bar() as progress:
            result = refreshing.refresh(
                home,
                previous,
                origins,
                committees=chosen.committees,
                terms=RecordTerms(chosen.question_terms, chosen.interest_terms),
                agent=user_agent(chosen.sender.organisation),
                full=full,
                verify_sites=verify_sites,
                accept_large_change=accept_large_change,
                deadline=settings.refresh_deadline(deadline),
                politeness=Politeness(max_rps=max_rps),
                progress=progress,  # type: ignore[arg-type]
            )
    if as_json:
        print_json(result.as_json())
        return
    _print_refresh(result)


def _print_refresh(result: RefreshResult) -> None:
    """Print a refresh's changes as tables, then where the new snapshot is."""
    changes = result.diff

    def who(side: Who | None) -> str:
        return f"{side.name} ({side.party})" if side else "vacant"

    sections: list[tuple[str, tuple[str, ...], list[tuple[object, ...]]]] = [
        (
            "Seats that changed hands",
            ("constituency", "before", "after"),
            [(r.constituency, who(r.before), who(r.after)) for r in changes.seats_changed],
        ),
        (
            "New MPs",
            ("id", "name", "party", "constituency", "new to the Commons", "by-election"),
            [
                (r.member_id, r.name, r.party, r.constituency, "yes" if r.is_new else "no", r.by_election_date or "")
                for r in changes.new_members
            ],
        ),
        (
            "Departed MPs",
            ("id", "name", "party", "constituency"),
            [(r.member_id, r.name, r.party, r.constituency) for r in changes.departed_members],
        ),
        (
            "Party changes",
            ("name", "constituency", "before", "after"),
            [(r.name, r.constituency, r.before, r.after) for r in changes.party_changes],
        ),
        (
            "Name changes",
            ("id", "field", "before", "after"),
            [(r.member_id, r.field, r.before, r.after) for r in changes.name_changes],
        ),
    ]
    for kind, label in (("government", "Ministers"), ("opposition", "Shadow ministers")):
        for posts, verb in ((changes.posts_appointed, "appointed"), (changes.posts_ended, "gone")):
            sections.append(
                (
                    f"{label} {verb}",
                    ("name", "post", "department", "since"),
                    [(r.name, r.post, r.department, r.start_date or "") for r in posts if r.kind == kind],
                )
            )
    sections.append(
        (
            "Posts retitled (same member and department)",
            ("name", "before", "after", "department"),
            [(r.name, r.before, r.post, r.department) for r in changes.posts_retitled],
        )
    )
    sections += [
        (
            "Changed contact details",
            ("name", "constituency", "field", "before", "after"),
            [(r.name, r.constituency, r.field, r.before or "", r.after or "") for r in changes.contact_changes],
        ),
        (
            "Site constituencies checked with postcodes.io",
            ("site", "postcode", "before", "after", "outcome"),
            [(r.name, r.postcode, r.before, r.after or "", r.outcome) for r in changes.site_corrections],
        ),
    ]
    for title, columns, rows in sections:
        if rows:
            console.out.print(console.table(f"{title} ({len(rows)})", columns, rows))
    if not changes.total:
        console.out.print("No changes against the snapshot in use.")
    fresh = result.snapshot
    console.out.print(
        f"Wrote {fresh.describe()}: {len(fresh.members)} MPs, {len(fresh.posts)} posts"
        + (f", {len(result.vacant_seats)} vacant seats" if result.vacant_seats else "")
        + f"; contact details fetched for {result.contacts_fetched}, cached for {result.contacts_cached}"
        + f"; records fetched for {result.records_fetched}, cached for {result.records_cached}"
        + f"; {result.questions} written questions on the campaign's terms"
        + f"; {sum(result.requests.values())} requests.",
        markup=False,
    )
