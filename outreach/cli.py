"""The outreach command line: each command resolves its settings, calls the core and renders the answer."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from outreach import campaign as campaigns
from outreach import console, settings
from outreach import snapshot as snapshots
from outreach.errors import OutreachError
from outreach.targeting import STALE_POSTS_DAYS, Selection

app = typer.Typer(
    help="Draft tailored letters to MPs, ministers and shadow ministers, and keep the record of who was written to.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

CampaignOption = Annotated[
    Path | None,
    typer.Option("--campaign", help="Campaign folder (campaign.toml, templates, layout). Default: IPEM 2024."),
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn an expected failure into one line on stderr and its exit code."""
    try:
        yield
    except OutreachError as exc:
        console.err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


def _today() -> date:
    return date.today()


def _load_snapshot(*, uses_posts: bool) -> snapshots.Snapshot:
    """Return the newest snapshot, saying on stderr which one, and how old its ministers are."""
    snapshot = snapshots.newest(settings.home())
    console.err.print(f"Using {snapshot.describe()}", style="dim", markup=False)
    if uses_posts:
        age = snapshot.posts_age_days(_today())
        if age is not None and age > STALE_POSTS_DAYS:
            console.err.print(
                f"warning: ministers' posts are {age} days old (as at {snapshot.posts_as_of}); "
                "run 'outreach refresh' for current posts",
                style="yellow",
            )
    return snapshot


def _load_campaign(folder: Path | None) -> campaigns.Campaign:
    from outreach.resources import default_campaign_dir

    return campaigns.load(folder or default_campaign_dir())


@app.command()
def draft(
    *,
    all_: Annotated[bool, typer.Option("--all", help="Every seat and every current post holder.")] = False,
    new: Annotated[bool, typer.Option("--new", help="Seat letters to MPs new to this Parliament.")] = False,
    ministers: Annotated[
        bool, typer.Option("--ministers", help="Letters to post holders (ministers, shadows).")
    ] = False,
    member: Annotated[list[str] | None, typer.Option("--member", help="A member: id or name (repeatable).")] = None,
    constituency: Annotated[
        list[str] | None,
        typer.Option("--constituency", help="A constituency: name or ONS code (repeatable)."),
    ] = None,
    nation: Annotated[str | None, typer.Option("--nation", help="Only seats in this nation, e.g. Wales.")] = None,
    party: Annotated[str | None, typer.Option("--party", help="Only this party (name or abbreviation).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N letters, in manifest order.")] = None,
    format_: Annotated[str, typer.Option("--format", help="Comma-separated: md, pdf, docx.")] = "md,pdf",
    out: Annotated[Path, typer.Option("--out", help="Outbox folder to write.")] = Path("outbox"),
    force: Annotated[bool, typer.Option("--force", help="Replace an outbox that already holds files.")] = False,
    campaign: CampaignOption = None,
) -> None:
    """Draft the campaign's letters into an outbox: Markdown and PDF per letter, a print PDF and manifest.csv.

    With no selection it drafts the campaign's audience (for IPEM 2024: new MPs, by-election winners, ministers
    and shadow ministers); --all drafts a letter for every seat and every post holder.
    """
    from outreach import draft as drafting
    from outreach.targeting import resolve_constituencies, resolve_members

    with user_errors():
        formats = drafting.parse_formats(format_)
        chosen = _load_campaign(campaign)
        snapshot = _load_snapshot(uses_posts=True)
        selection = Selection(
            all=all_,
            new=new,
            ministers=ministers,
            members=resolve_members(snapshot, member or []),
            constituencies=resolve_constituencies(snapshot, constituency or []),
            nation=nation,
            party=party,
            limit=limit,
        )
        today = _today()
        targets = drafting.targets_for(snapshot, chosen, selection, today)
        if not targets:
            raise OutreachError("no letters match that selection")
        with console.progress_bar() as progress:
            merged = drafting.merge_all(targets, chosen, today, progress)  # type: ignore[arg-type]
            result = drafting.write(merged, chosen, out, formats=formats, force=force, progress=progress)  # type: ignore[arg-type]
    _print_summary(result, snapshot)


def _print_summary(result: Any, snapshot: snapshots.Snapshot) -> None:
    rows = result.rows
    templates = Counter(row["template"] for row in rows)
    asks = Counter(ask for row in rows for ask in row["asks"].split(";") if ask)
    seats = [row for row in rows if row["kind"] == "seat"]
    with_site = sum(1 for row in seats if row["local_sites"])
    console.out.print(console.counts("Letters by template", "template", templates, total=len(rows)))
    console.out.print(
        console.table(
            "Seat letters and local sites",
            ("local site", "letters"),
            [("with a local site", with_site), ("nearest centre only", len(seats) - with_site)],
        )
    )
    console.out.print(console.counts("Asks chosen", "ask", asks))
    flags = Counter(flag for row in rows for flag in row["flags"].split(";") if flag)
    if flags:
        console.out.print(console.counts("Flags to check", "flag", flags))
    console.out.print(
        f"Wrote {len(rows)} letters ({', '.join(result.formats)}) to {result.out}/ — manifest.csv"
        + (", print.pdf" if "pdf" in result.formats else ""),
        markup=False,
    )
    if result.shrunk:
        console.out.print(f"{len(result.shrunk)} letters were set slightly smaller to fit one page.")
    console.out.print(f"Snapshot: {snapshot.describe()}", markup=False)


@app.command()
def preview(
    target: Annotated[str, typer.Argument(help="Member id, name or constituency.")],
    *,
    campaign: CampaignOption = None,
) -> None:
    """Print one recipient's letter with the personalised words highlighted, then the asks and sites chosen and why."""
    from outreach import draft as drafting
    from outreach.targeting import resolve_target

    with user_errors():
        chosen = _load_campaign(campaign)
        snapshot = _load_snapshot(uses_posts=True)
        selection = resolve_target(snapshot, target)
        today = _today()
        merged = drafting.merge_all(drafting.targets_for(snapshot, chosen, selection, today), chosen, today)
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
        if t.local is not None:
            for rank, site in enumerate(t.local.sites[:3], 1):
                care = " — placed with low confidence: worded 'serving'" if site.low_confidence else ""
                console.out.print(
                    f"Site {rank}: {site.name} ({site.site_type}, {site.organisation}){care}", markup=False
                )
            if t.local.nearest_centre is not None:
                near = t.local.nearest_centre
                console.out.print(
                    f"Nearest radiotherapy centre: {near.site.name}, {near.km:.1f} km ({near.miles:.1f} miles)",
                    markup=False,
                )
            if not t.local.sites:
                console.out.print("No listed site in the constituency.")
        if t.flags:
            console.out.print(f"Flags: {', '.join(t.flags)}", markup=False)


def _member_json(member: Any, snapshot: snapshots.Snapshot) -> dict[str, Any]:
    return {
        "member_id": member.member_id,
        "name": member.name,
        "full_title": member.full_title,
        "constituency": member.constituency,
        "constituency_code": member.constituency_code,
        "party": member.party,
        "email": member.email,
        "is_new": member.is_new,
        "by_election_date": member.by_election_date.isoformat() if member.by_election_date else None,
        "posts": [
            {"name": post.post, "department": post.department_name or post.department, "kind": post.kind}
            for post in snapshot.posts_of(member.member_id)
        ],
        "committees": list(member.committees),
    }


@app.command()
def mps(
    *,
    new: Annotated[bool, typer.Option("--new", help="Only MPs new to this Parliament.")] = False,
    ministers: Annotated[bool, typer.Option("--ministers", help="Only MPs holding a post.")] = False,
    party: Annotated[str | None, typer.Option("--party", help="Only this party (name or abbreviation).")] = None,
    nation: Annotated[str | None, typer.Option("--nation", help="Only this nation.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array for scripts.")] = False,
) -> None:
    """List the current MPs, one per seat, with party, e-mail and posts."""
    with user_errors():
        snapshot = _load_snapshot(uses_posts=ministers)
    members = list(snapshot.members)
    if new:
        members = [m for m in members if m.is_new]
    if ministers:
        members = [m for m in members if snapshot.posts_of(m.member_id)]
    if party:
        wanted = party.casefold()
        members = [m for m in members if wanted in (m.party.casefold(), m.party_abbreviation.casefold())]
    if nation:
        members = [m for m in members if m.nation.casefold() == nation.casefold()]
    if as_json:
        print(json.dumps([_member_json(m, snapshot) for m in members], ensure_ascii=False, indent=1))
        return
    rows = []
    for m in members:
        posts = "; ".join(post.post for post in snapshot.posts_of(m.member_id))
        rows.append((m.member_id, m.name, m.constituency, m.party, "new" if m.is_new else "", m.email or "", posts))
    console.out.print(
        console.table(f"{len(rows)} MPs", ("id", "name", "constituency", "party", "", "e-mail", "posts"), rows)
    )


@app.command()
def sites(
    *,
    constituency: Annotated[str | None, typer.Option("--constituency", help="Name or ONS code.")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="Site type, e.g. radiotherapy_centre.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array for scripts.")] = False,
) -> None:
    """List the NHS sites that matter to medical physics and clinical engineering, ranked, with linac counts."""
    from outreach.sites import SITE_RANK, local_sites, nearest
    from outreach.targeting import resolve_constituencies

    with user_errors():
        snapshot = _load_snapshot(uses_posts=False)
        found = list(snapshot.sites)
        near = None
        if constituency:
            code = resolve_constituencies(snapshot, [constituency])[0]
            found = local_sites(snapshot.sites, code)
            if not any(site.site_type == "radiotherapy_centre" for site in found):
                near = nearest(snapshot.sites, snapshot.constituencies[code], "radiotherapy_centre")
        if type_:
            known = {site.site_type for site in snapshot.sites}
            if type_ not in known:
                raise OutreachError(f"--type: unknown site type '{type_}' (known: {', '.join(sorted(known))})")
            found = [site for site in found if site.site_type == type_]
    if as_json:
        payload = [
            {
                "site_id": s.site_id,
                "site_type": s.site_type,
                "name": s.name,
                "organisation": s.organisation,
                "nation": s.nation,
                "postcode": s.postcode,
                "lat": s.lat,
                "lon": s.lon,
                "constituency_code": s.constituency_code,
                "constituency": snapshot.constituencies[s.constituency_code].name
                if s.constituency_code in snapshot.constituencies
                else None,
                "confidence": s.confidence,
                "linacs": s.linacs,
                "linacs_scope": s.linacs_scope or None,
                "linacs_as_of": s.linacs_as_of or None,
                "replacement_2025": s.replacement_2025,
            }
            for s in found
        ]
        print(json.dumps(payload, ensure_ascii=False, indent=1))
        return
    rows = []
    for s in sorted(found, key=lambda s: (SITE_RANK.get(s.site_type, 9), s.name)):
        seat = snapshot.constituencies.get(s.constituency_code)
        linacs = f"{s.linacs} ({s.linacs_as_of or 'undated'})" if s.linacs else ""
        rows.append((s.site_type, s.name, s.organisation, seat.name if seat else "", s.confidence, linacs))
    console.out.print(
        console.table(
            f"{len(rows)} sites",
            ("type", "name", "organisation", "constituency", "confidence", "linacs"),
            rows,
        )
    )
    if near is not None:
        console.out.print(f"Nearest radiotherapy centre: {near.site.name}, {near.km:.1f} km ({near.miles:.1f} miles)")


def main() -> None:
    """Run the command line."""
    app(prog_name="outreach")
