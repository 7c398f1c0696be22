"""Looking things up before writing: `outreach preview`, `outreach mps` and `outreach sites`."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from outreach import console
from outreach.cli.app import load_campaign, load_snapshot, today, user_errors, warn_unsigned
from outreach.cli.options import AllowStalePostsOption, CampaignOption, JsonOption, NationOption, PartyOption
from outreach.cli.output import output_rows, print_letter_checks, print_notes
from outreach.errors import OutreachError
from outreach.sites import CentreChoice

if TYPE_CHECKING:
    from outreach.campaign import Campaign
    from outreach.members import Member
    from outreach.snapshot import Snapshot


def preview(
    target: Annotated[str, typer.Argument(help="Member id, name or constituency.")],
    *,
    campaign: CampaignOption = None,
    allow_stale_posts: AllowStalePostsOption = False,
) -> None:
    """Print one recipient's letter with the personalised words highlighted, then the asks and sites chosen and why."""
    from outreach import checks
    from outreach import draft as drafting
    from outreach.targeting import resolve_target

    with user_errors():
        chosen = load_campaign(campaign)
        warn_unsigned(chosen)
        snapshot = load_snapshot(uses_posts=True)
        selection = replace(resolve_target(snapshot, target), allow_stale_posts=allow_stale_posts)
        day = today()
        drafted = drafting.targets_for(snapshot, chosen, selection, day)
        print_notes(drafted.notes)
        merged = drafting.merge_all(drafted.targets, chosen, day)
        if not merged:  # a constituency with no MP: a refresh found the seat vacant
            raise OutreachError(f"no letter for '{target}': the seat has no MP in {snapshot.describe()}")
        checked = checks.run(merged, chosen)
    for item in merged:
        t = item.target
        console.out.rule(f"{t.letter_id} · template {t.template}")
        console.out.print(console.highlighted(item.marked))
        console.out.rule("why this letter says what it says")
        console.out.print(f"Template [bold]{escape(t.template)}[/]: {escape(t.template_reason)}")
        console.out.print(f"Salutation [bold]{escape(item.letter.salutation)}[/]: {escape(t.address.rule)}")
        for chosen_ask in t.asks:
            console.out.print(f"Ask [bold]{escape(chosen_ask.ask.id)}[/] (score {chosen_ask.score}):")
            for reason in chosen_ask.reasons:
                console.out.print(f"  - {reason}", markup=False)
        if t.hook is not None:
            console.out.print(f"Record: {t.hook.reason(chosen.file.name)}", markup=False)
            for fact in t.hook.cited():
                console.out.print(f"  - uses {fact}", markup=False)
        if t.local is not None:
            for rank, site in enumerate(t.local.sites[:3], 1):
                care = " — placed with low confidence: worded 'serving'" if site.low_confidence else ""
                console.out.print(
                    f"Site {rank}: {site.name} ({site.site_type}, {site.organisation}){care}", markup=False
                )
            if t.local.centre_choice is not None:
                _print_nearest(t.local.centre_choice)
            if not t.local.sites:
                console.out.print("No listed site in the constituency.")
        for figure in item.figures:
            console.out.print(f"Figure {figure.id} ({figure.nation}, {figure.date}): {figure.source}", markup=False)
        if t.flags:
            console.out.print(f"Flags: {', '.join(t.flags)}", markup=False)
        print_letter_checks(checked, t.letter_id)


def _print_nearest(choice: CentreChoice) -> None:
    """Print the radiotherapy centre a seat's letter names, how far it is, the rule that chose it and the point the
    distance is measured from."""
    near = choice.nearest
    console.out.print(
        f"Nearest radiotherapy centre: {near.site.name}, {near.km:.1f} km ({near.miles:.1f} miles)\n"
        f"  chosen as {choice.rule}; measured from the seat's {choice.measured_from}"
        + ("" if choice.confirmed else "\n  flag centre_unconfirmed: a person should check this centre"),
        markup=False,
    )


class MpsOrder(StrEnum):
    """How `outreach mps` orders the members."""

    interest = "interest"


def mps(
    *,
    new: Annotated[bool, typer.Option("--new", help="Only MPs new to this Parliament.")] = False,
    ministers: Annotated[bool, typer.Option("--ministers", help="Only MPs holding a post.")] = False,
    party: PartyOption = None,
    nation: NationOption = None,
    as_json: JsonOption = False,
    sort: Annotated[
        MpsOrder | None,
        typer.Option(
            "--sort",
            help="interest: rank members by how much their record and seat touch the campaign "
            "(\\[\\[interest]] in its campaign.toml), with the reasons.",
        ),
    ] = None,
    campaign: CampaignOption = None,
) -> None:
    """List the current MPs, one per seat, with party, e-mail and posts."""
    from outreach.targeting import members_matching

    with user_errors():
        snapshot = load_snapshot(uses_posts=ministers)
        chosen = load_campaign(campaign) if sort is MpsOrder.interest else None
    from outreach.targeting import Selection

    members = members_matching(snapshot, Selection(new=new, ministers=ministers, party=party, nation=nation))
    if chosen is not None:
        _mps_by_interest(snapshot, chosen, members, as_json=as_json)
        return
    output_rows(
        members,
        lambda m: m.as_json(snapshot.posts_of(m.member_id), snapshot.record_of(m.member_id)),
        as_json=as_json,
        table=lambda: console.table(
            f"{len(members)} MPs",
            ("id", "name", "constituency", "party", "", "e-mail", "posts"),
            [
                (
                    m.member_id,
                    m.name,
                    m.constituency,
                    m.party,
                    "new" if m.is_new else "",
                    m.email or "",
                    "; ".join(post.post for post in snapshot.posts_of(m.member_id)),
                )
                for m in members
            ],
        ),
    )


def _mps_by_interest(snapshot: Snapshot, campaign: Campaign, members: list[Member], *, as_json: bool) -> None:
    """Print the members ranked by the campaign's interest rules, each with its score and reasons."""
    from outreach import changes
    from outreach.targeting import by_interest

    with user_errors():
        changed = changes.reported(snapshot.posts_as_of, campaign.folder)
    ranked = by_interest(snapshot, campaign, members, changed)
    output_rows(
        ranked,
        lambda r: r.as_json(snapshot.posts_of(r.member.member_id), snapshot.record_of(r.member.member_id)),
        as_json=as_json,
        table=lambda: console.table(
            f"{len(ranked)} MPs by interest to {campaign.id}",
            ("rank", "id", "name", "constituency", "party", "interest", "why"),
            [
                (
                    rank,
                    r.member.member_id,
                    r.member.name,
                    r.member.constituency,
                    r.member.party,
                    f"{r.interest.score:g}",
                    r.why,
                )
                for rank, r in enumerate(ranked, 1)
            ],
        ),
    )


def sites(
    *,
    constituency: Annotated[str | None, typer.Option("--constituency", help="Name or ONS code.")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="Site type, e.g. radiotherapy_centre.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the NHS sites that matter to medical physics and clinical engineering, ranked, with linac counts."""
    from outreach.sites import in_constituency, listing_order, of_type
    from outreach.targeting import resolve_constituencies

    with user_errors():
        snapshot = load_snapshot(uses_posts=False)
        found = list(snapshot.sites)
        near = None
        if constituency:
            code = resolve_constituencies(snapshot, [constituency])[0]
            found, near = in_constituency(snapshot.sites, snapshot.constituencies[code])
        if type_:
            found = of_type(found, type_, known=snapshot.sites)
    seats = snapshot.constituencies
    output_rows(
        found,
        lambda s: s.as_json(seats[s.constituency_code].name if s.constituency_code in seats else None),
        as_json=as_json,
        table=lambda: console.table(
            f"{len(found)} sites",
            ("type", "name", "organisation", "constituency", "confidence", "linacs"),
            [
                (
                    s.site_type,
                    s.name,
                    s.organisation,
                    seats[s.constituency_code].name if s.constituency_code in seats else "",
                    s.confidence,
                    f"{s.linacs} ({s.linacs_as_of or 'undated'})" if s.linacs else "",
                )
                for s in listing_order(found)
            ],
        ),
    )
    if near is not None and not as_json:
        _print_nearest(near)
