"""The outreach command line: each command resolves its settings, calls the core and renders the answer."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from outreach import campaign as campaigns
from outreach import console, settings
from outreach import snapshot as snapshots
from outreach.errors import ExitCode, OutreachError, SendIncomplete
from outreach.report import Measure as ReportMeasure
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
    include_sent: Annotated[
        bool,
        typer.Option("--include-sent", help="Also draft letters the contact log shows as sent in this campaign."),
    ] = False,
    strict_distinct: Annotated[
        bool,
        typer.Option(
            "--strict-distinct",
            help="Fail (exit 1, nothing written) if any two letters' bodies are more than 85% alike.",
        ),
    ] = False,
) -> None:
    """Draft the campaign's letters into an outbox: Markdown and PDF per letter, a print PDF and manifest.csv.

    With no selection it drafts the campaign's audience (for IPEM 2024: new MPs, by-election winners, ministers
    and shadow ministers); --all drafts a letter for every seat and every post holder.
    """
    from outreach import contact_log
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
            limit=None,  # applied below, once letters already sent are left out
        )
        today = _today()
        targets = drafting.targets_for(snapshot, chosen, selection, today)
        if not targets:
            raise OutreachError("no letters match that selection")
        skips = contact_log.skip_logged(targets, chosen.id, include_sent=include_sent)
        targets = skips.kept[:limit]
        if not targets:
            raise OutreachError("nothing to draft: " + _skipped_text(skips, chosen.id))
        with console.progress_bar() as progress:
            merged = drafting.merge_all(targets, chosen, today, progress)  # type: ignore[arg-type]
        distinct = drafting.distinctness(merged)
        if strict_distinct and distinct.above:
            _print_distinct(distinct, merged)
            raise OutreachError(
                f"--strict-distinct: {_pairs(len(distinct.above))} of letters are more than "
                f"{distinct.threshold:.2f} alike (word 5-gram Jaccard); nothing was written to {out}/"
            )
        with console.progress_bar() as progress:
            result = drafting.write(merged, chosen, out, formats=formats, force=force, progress=progress)  # type: ignore[arg-type]
    _print_summary(result, snapshot)
    _print_distinct(distinct, merged)
    if skips.sent or skips.suppressed:
        console.out.print(_skipped_text(skips, chosen.id), markup=False)


def _pairs(count: int) -> str:
    return f"{count:,} pair" if count == 1 else f"{count:,} pairs"


def _print_distinct(distinct: Any, merged: Any) -> None:
    """Print how alike the letters are, and every pair above the threshold with both recipients named."""
    if distinct.letters < 2:
        return
    console.out.print(
        f"Letter bodies alike (word 5-gram Jaccard over {_pairs(distinct.pairs)}): "
        f"median {distinct.median:.3f}, maximum {distinct.maximum:.3f}; "
        f"{_pairs(len(distinct.above))} above {distinct.threshold:.2f}",
        markup=False,
    )
    if distinct.above:
        names = {item.target.letter_id: item.target.name for item in merged}
        console.out.print(
            console.table(
                f"Near-identical letters (above {distinct.threshold:.2f})",
                ("similarity", "letter", "recipient", "letter", "recipient"),
                [
                    (f"{pair.score:.3f}", pair.first, names[pair.first], pair.second, names[pair.second])
                    for pair in distinct.above
                ],
            )
        )


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
        shrunk = len(result.shrunk)
        console.out.print(f"{shrunk} letter{' was' if shrunk == 1 else 's were'} set slightly smaller to fit one page.")
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
        if not merged:  # a constituency with no MP: a refresh found the seat vacant
            raise OutreachError(f"no letter for '{target}': the seat has no MP in {snapshot.describe()}")
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


@app.command()
def send(
    outbox: Annotated[Path, typer.Argument(help="Outbox folder written by 'outreach draft' (holds manifest.csv).")],
    *,
    no_dry_run: Annotated[
        bool, typer.Option("--no-dry-run", help="Really send. Without it, print what would be sent and send nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Send without asking for confirmation.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Send at most N letters this run.")] = None,
    per_minute: Annotated[
        int, typer.Option("--per-minute", min=0, help="Send at most N e-mails a minute (0 = uncapped).")
    ] = 30,
    bcc_self: Annotated[
        bool, typer.Option("--bcc-self", help="Also deliver each e-mail to the sender's address (no Bcc header).")
    ] = False,
    resend_uncertain: Annotated[
        bool,
        typer.Option(
            "--resend-uncertain",
            help="Send again letters left uncertain by a lost connection or a crash (check the sent folder first).",
        ),
    ] = False,
    campaign: CampaignOption = None,
) -> None:
    """E-mail the outbox's letters (text and HTML body, PDF attached), recording each in the contact log.

    A dry run by default: it prints what would be sent. With --no-dry-run it asks for confirmation (unless --yes),
    then sends every letter with an e-mail address that is not already sent, not suppressed and not uncertain.
    SMTP settings come from the smtp table of campaign.toml and OUTREACH_SMTP_HOST, _PORT, _SECURITY, _USER,
    _PASSWORD (the environment wins). Letters the server refuses are listed in OUTBOX/failures.csv; exit code 4.
    """
    from outreach import send as sending

    with user_errors():
        chosen = _load_campaign(campaign)
        if not no_dry_run:
            planned = sending.dry_run(outbox, chosen, limit=limit, resend_uncertain=resend_uncertain)
            _print_send_plan(planned)
            return
        smtp = settings.smtp(chosen.smtp, source=str(chosen.file))

        def confirm(planned: sending.Plan) -> None:
            _print_send_plan(planned, listing=False)
            if not yes:
                typer.confirm(
                    f"Send {len(planned.to_send)} e-mails from {chosen.sender.email} via {smtp.describe()}?",
                    abort=True,
                )

        def report(event: str, item: sending.Planned, detail: str) -> None:
            letter = item.letter
            text = f"{event:<9} {letter.letter_id} <{letter.email}>" + (f": {detail}" if detail else "")
            if event == "sent":
                # A plain write: rich's print costs a quarter of a millisecond, a fifth of a letter's time uncapped.
                console.err.file.write(text + "\n")
            else:
                console.err.print(text, markup=False, style="yellow" if event == "retry" else "red")

        try:
            _, result = sending.send_outbox(
                outbox,
                chosen,
                smtp,
                limit=limit,
                per_minute=per_minute,
                bcc_self=bcc_self,
                resend_uncertain=resend_uncertain,
                confirm=confirm,
                report=report,
            )
        except typer.Abort:
            console.err.print("Nothing sent.", markup=False)
            raise typer.Exit(ExitCode.FAILURE) from None
    if result.settled:
        console.err.print(
            f"{len(result.settled)} letters left mid-send by an interrupted run are now uncertain (they may have "
            f"arrived; check the sent folder, then --resend-uncertain if they did not): {', '.join(result.settled)}",
            style="yellow",
            markup=False,
        )
    console.out.print(console.table("Send", ("outcome", "letters"), result.summary()))
    uncertain = len(result.uncertain) + result.skipped.get(sending.UNCERTAIN, 0)
    if uncertain:
        console.err.print(
            f"{uncertain} letters are uncertain: the server may have taken them. Check the sent folder against "
            "'outreach log --state uncertain' (by Message-ID), then use --resend-uncertain to send them again.",
            style="yellow",
            markup=False,
        )
    if result.failures:
        with user_errors():
            raise SendIncomplete(f"{len(result.failures)} letters failed: see {outbox / sending.FAILURES_FILE}")


def _print_send_plan(planned: Any, *, listing: bool = True) -> None:
    """Print the letters a send would deliver (to, subject, attachment) and those it leaves, with the reason."""
    if listing:
        rows = [
            (
                item.letter.letter_id,
                f"{item.message.recipient_name} <{item.message.recipient_address}>",
                item.message.subject,
                item.message.attachment.name if item.message.attachment else "",
            )
            for item in planned.to_send
        ]
        console.out.print(console.table("Would send", ("letter", "to", "subject", "attachment"), rows))
    skipped = Counter(reason for _, reason in planned.skipped)
    if skipped:
        console.out.print(console.counts("Not sent", "reason", skipped))
    if listing:
        console.out.print(
            f"Dry run: {len(planned.to_send)} e-mails would be sent; nothing was sent. Add --no-dry-run to send.",
            markup=False,
        )


# -- the contact log: log, log add, reply, followups, suppress ------------------------------------------------------

log_app = typer.Typer(
    help="List the contact log, or record letters sent by post or by hand ('outreach log add').",
    invoke_without_command=True,
    add_completion=False,
)
app.add_typer(log_app, name="log")


def _log_member(text: str, ledger: Any) -> int:
    """Return the member id a --member or MEMBER argument names: an id, a name in the log, or a current member."""
    from outreach import contact_log

    return contact_log.member_id(text, ledger.member_names(), lambda: _load_snapshot(uses_posts=False))


def _empty_log() -> Any:
    """Return a contact log to read: the database if it exists, else an empty one in memory (no file is created)."""
    from outreach.ledger import DATABASE_FILE, Ledger

    if Ledger.exists_default():
        return Ledger.open_default()
    console.err.print(f"No contact log yet ({settings.home() / DATABASE_FILE}): nothing has been logged.")
    return Ledger(Path(":memory:"))


@log_app.callback(invoke_without_command=True)
def log(
    ctx: typer.Context,
    *,
    member: Annotated[str | None, typer.Option("--member", help="Only this member: id or name.")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="Only this state: queued, sending, sent, failed, uncertain.")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option("--since", formats=["%Y-%m-%d"], help="Only contacts sent (or queued) on or after YYYY-MM-DD."),
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Only this campaign: an id (ipem-2024) or a campaign folder.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array for scripts.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV for spreadsheets, header first.")] = False,
) -> None:
    """List the contact log: every letter written, by campaign, letter and channel, with its state and reply.

    Record letters sent by post or by hand with 'outreach log add' (see 'outreach log add --help').
    """
    if ctx.invoked_subcommand is not None:
        return
    from outreach import contact_log

    with user_errors():
        if as_json and as_csv:
            raise OutreachError("--json and --csv: choose one")
        with _empty_log() as ledger:
            found = ledger.contacts(
                member_id=_log_member(member, ledger) if member else None,
                state=state,
                since=since.date() if since else None,
                campaign=contact_log.campaign_id(campaign) if campaign else None,
            )
    if as_json:
        print(json.dumps([contact.as_json() for contact in found], ensure_ascii=False, indent=1))
        return
    if as_csv:
        print(contact_log.csv_text(found), end="")
        return
    # One campaign (the usual case) goes in the title, leaving the columns room.
    campaigns_found = sorted({contact.campaign for contact in found})
    several = len(campaigns_found) > 1
    rows = [
        (
            (contact.sent_at or contact.queued_at).date().isoformat(),
            *((contact.campaign,) if several else ()),
            contact.letter_id,
            contact.name,
            contact.channel,
            contact.state,
            " ".join(contact.asks),
            f"{contact.reply_outcome} {contact.reply_date}" if contact.reply_outcome else "",
        )
        for contact in found
    ]
    columns = ("date", *(("campaign",) if several else ()), "letter", "member", "channel", "state", "asks", "reply")
    title = f"{len(rows)} contacts" + (f" in {campaigns_found[0]}" if len(campaigns_found) == 1 else "")
    console.out.print(console.table(title, columns, rows))


@log_app.command("add")
def log_add(
    member: Annotated[str | None, typer.Argument(help="The member written to: id or name.")] = None,
    *,
    letter: Annotated[
        str,
        typer.Option("--letter", help="The letter: its id (4366-minister) or kind (seat, minister, shadow_minister)."),
    ] = "seat",
    channel: Annotated[str, typer.Option("--channel", help="How it went: post or other (by hand).")] = "post",
    on: Annotated[
        datetime | None, typer.Option("--date", formats=["%Y-%m-%d"], help="The day it was sent. Default: today.")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Postal reference, e.g. a Royal Mail tracking number.")
    ] = None,
    to: Annotated[str, typer.Option("--to", help="Where it went: the address lines joined ' | '.")] = "",
    asks: Annotated[str, typer.Option("--asks", help="The asks it made, ';'-separated ids.")] = "",
    letter_file: Annotated[
        Path | None, typer.Option("--file", help="The letter as sent, to record its SHA-256 (e.g. the outbox .md).")
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Campaign id or folder. Default: the default campaign's id.")
    ] = None,
    from_manifest: Annotated[
        Path | None,
        typer.Option(
            "--from-manifest",
            help="Log every letter in this outbox's manifest.csv as posted (campaign and asks from the manifest).",
        ),
    ] = None,
) -> None:
    """Record letters sent by post or by hand: one letter to MEMBER, or a whole printed batch with --from-manifest.

    Examples: 'outreach log add 4366 --date 2026-11-20 --reference AB123456789GB';
    'outreach log add --from-manifest outbox --date 2026-11-20'. Letters already logged are reported, not repeated.
    """
    from outreach import contact_log
    from outreach.ledger import Ledger, LedgerError, NewContact

    with user_errors():
        today = _today()
        sent_at = contact_log.sent_at_for(on.date() if on else today, today)
        if from_manifest is not None:
            if member is not None:
                raise OutreachError("give either MEMBER or --from-manifest, not both")
            entries = contact_log.manifest_entries(from_manifest, sent_at, reference, channel)
            with Ledger.open_default() as ledger:
                recorded, existing = ledger.record_all(entries)
            for contact in existing:
                console.err.print(f"already logged: {contact.describe()} ({contact.state})", markup=False)
            console.out.print(
                f"Logged {len(recorded)} letters sent by {channel} on {sent_at.date()}"
                + (f"; {len(existing)} already in the log" if existing else ""),
                markup=False,
            )
            return
        if member is None:
            raise OutreachError("give MEMBER (id or name), or --from-manifest OUTBOX")
        snapshot = _load_snapshot(uses_posts=False)
        with Ledger.open_default() as ledger:
            number = contact_log.member_id(member, ledger.member_names(), lambda: snapshot)
            name = contact_log.member_name(number, snapshot) or ledger.member_names().get(number, "")
            if not name:
                raise LedgerError(f"no member has id {number}")
            entry = NewContact(
                campaign=contact_log.campaign_id(campaign) if campaign else contact_log.default_campaign_id(),
                letter_id=contact_log.letter_id(number, letter),
                channel=channel,
                member_id=number,
                name=name,
                recipient=to,
                asks=tuple(ask.strip() for ask in asks.split(";") if ask.strip()),
                content_sha256=contact_log.file_sha256(letter_file) if letter_file else "",
                sent_at=sent_at,
                postal_reference=reference,
            )
            recorded, existing = ledger.record_all([entry])
    if existing:
        console.err.print(f"already logged: {existing[0].describe()} ({existing[0].state})", markup=False)
        return
    console.out.print(f"Logged {recorded[0].describe()} to {name}, sent {sent_at.date()}", markup=False)


@app.command()
def reply(
    member: Annotated[str, typer.Argument(help="The member who replied: id or name.")],
    *,
    outcome: Annotated[str, typer.Option("--outcome", help="substantive, acknowledgement, meeting, declined or none.")],
    on: Annotated[
        datetime | None, typer.Option("--date", formats=["%Y-%m-%d"], help="The day of the reply. Default: today.")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="What the reply said, in a line.")] = "",
    letter: Annotated[
        str | None, typer.Option("--letter", help="Which letter it answers (id or kind), if several were sent.")
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Which campaign's letter (id or folder), if several.")
    ] = None,
) -> None:
    """Record a member's reply to a letter in the contact log; it stops the letter's follow-up."""
    from outreach import contact_log
    from outreach.ledger import Ledger, LedgerError

    with user_errors():
        if not Ledger.exists_default():
            raise LedgerError("the contact log is empty: no letter has been sent or logged yet")
        with Ledger.open_default() as ledger:
            number = _log_member(member, ledger)
            answered = ledger.reply(
                number,
                outcome=outcome,
                reply_date=on.date() if on else _today(),
                note=note,
                campaign=contact_log.campaign_id(campaign) if campaign else None,
                letter_id=contact_log.letter_id(number, letter) if letter else None,
            )
    first = answered[0]
    channels = ", ".join(contact.channel for contact in answered)
    console.out.print(
        f"Recorded reply ({outcome}, {first.reply_date}) from {first.name} to {first.campaign}/{first.letter_id} "
        f"({channels})",
        markup=False,
    )


@app.command()
def followups(
    *,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Only this campaign: an id or a campaign folder.")
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="Count working days up to this day. Default: today."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array for scripts.")] = False,
) -> None:
    """List letters sent with no reply after 20 working days (weekends and England and Wales bank holidays excluded).

    The 20 working days are the Cabinet Office standard for replies to MPs' correspondence; record replies with
    'outreach reply'.
    """
    from outreach import contact_log

    with user_errors():
        today = as_of.date() if as_of else _today()
        with _empty_log() as ledger:
            due = ledger.followups_due(today, campaign=contact_log.campaign_id(campaign) if campaign else None)
    due.sort(key=lambda item: (item[1], item[0].name, item[0].letter_id))
    if as_json:
        payload = [{**contact.as_json(), "reply_due": deadline.isoformat()} for contact, deadline in due]
        print(json.dumps(payload, ensure_ascii=False, indent=1))
        return
    # A letter sent by two channels (posted, then handed over) is one follow-up: its first deadline, both channels.
    letters: dict[tuple[str, str], list[tuple[Any, date]]] = {}
    for contact, deadline in due:
        letters.setdefault((contact.campaign, contact.letter_id), []).append((contact, deadline))
    rows = [
        (
            items[0][1].isoformat(),
            items[0][0].sent_at.date().isoformat() if items[0][0].sent_at else "",
            items[0][0].name,
            f"{campaign_id}/{letter_id}",
            ", ".join(contact.channel for contact, _ in items),
        )
        for (campaign_id, letter_id), items in letters.items()
    ]
    console.out.print(
        console.table(
            f"{len(rows)} letters due a follow-up on {today}",
            ("reply was due", "sent", "member", "letter", "channel"),
            rows,
        )
    )


@app.command()
def report(
    *,
    campaign: CampaignOption = None,
    out: Annotated[Path, typer.Option("--out", help="Folder to write index.html and map.svg into.")] = Path("report"),
    outbox: Annotated[
        Path | None,
        typer.Option(
            "--outbox", help="An outbox from 'outreach draft': its letters count as drafted, and are compared."
        ),
    ] = None,
    colour_by: Annotated[
        ReportMeasure, typer.Option("--colour-by", help="What map.svg colours the seats by.")
    ] = ReportMeasure.contact,
    png: Annotated[bool, typer.Option("--png", help="Also write map.png (for slides).")] = False,
) -> None:
    """Write the campaign report: index.html (hex maps, counts, replies, follow-ups) and map.svg, self-contained.

    index.html maps the 650 seats by contact state, MPCE sites, party and lead ask, with counts by state, ask,
    party, nation and new vs returning MPs, the reply rate, follow-ups due and (with --outbox) near-identical
    letters. It reads the contact log, snapshot and outbox and changes none of them.
    """
    from outreach import report as reporting

    with user_errors():
        chosen = _load_campaign(campaign)
        snapshot = _load_snapshot(uses_posts=False)
        gathered = reporting.gather(snapshot, chosen, _today(), outbox=outbox)
        written = reporting.write(gathered, out, measure=colour_by, png=png)
    console.out.print(
        console.table(f"{chosen.name}: seats by contact state", ("state", "seats"), reporting.summary(gathered))
    )
    rate = gathered.reply_rate
    console.out.print(
        f"Letters sent {gathered.letters_sent}, replies {gathered.letters_replied}"
        + (f" ({reporting.percent(rate)})" if rate is not None else "")
        + f", follow-ups due {len(gathered.followups)}",
        markup=False,
    )
    if gathered.similarity is not None:
        found = gathered.similarity
        console.out.print(
            f"Near-identical letters: median similarity {found.median:.3f}, maximum {found.maximum:.3f}, "
            f"{_pairs(len(found.above))} above {found.threshold:.2f}",
            markup=False,
        )
    paths = [written.index, written.map_svg] + ([written.map_png] if written.map_png else [])
    console.out.print(
        f"Wrote {', '.join(str(path) for path in paths)} (map coloured by {colour_by.value})", markup=False
    )
    console.out.print(f"Snapshot: {snapshot.describe()}", markup=False)


@app.command()
def suppress(
    member: Annotated[str | None, typer.Argument(help="The member: id or name. Omit to list the suppressions.")] = None,
    *,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (e.g. 'asked by e-mail, 2026-11-20').")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Take the member off the suppression list.")] = False,
) -> None:
    """Put a member on the suppression (opt-out) list: never sent to, left out of drafts. No MEMBER: list it."""
    from outreach.ledger import Ledger

    with user_errors():
        if member is None:
            if reason or remove:
                raise OutreachError("give the MEMBER to suppress or remove")
            with _empty_log() as ledger:
                listed = ledger.suppressions()
            console.out.print(
                console.table(
                    f"{len(listed)} suppressed members",
                    ("id", "member", "reason", "since"),
                    [(s.member_id, s.name, s.reason, s.suppressed_at.date().isoformat()) for s in listed],
                )
            )
            return
        with Ledger.open_default() as ledger:
            number = _log_member(member, ledger)
            if remove:
                if reason:
                    raise OutreachError("--remove takes no --reason")
                if not ledger.unsuppress(number):
                    raise OutreachError(f"member {number} is not on the suppression list")
                console.out.print(f"Removed member {number} from the suppression list", markup=False)
                return
            if not reason:
                raise OutreachError("--reason: say why the member is suppressed")
            from outreach import contact_log

            name = ledger.member_names().get(number) or contact_log.member_name(
                number, _load_snapshot(uses_posts=False)
            )
            ledger.suppress(number, reason, name=name)
    console.out.print(f"Suppressed {name or number} ({number}): {reason}", markup=False)


def _letters(count: int) -> str:
    return f"{count} letter" + ("" if count == 1 else "s")


def _skipped_text(skips: Any, campaign_id: str) -> str:
    """Return the line saying which letters a draft left out because of the contact log, and how to include them."""
    parts = []
    if skips.sent:
        parts.append(
            f"Skipped {_letters(len(skips.sent))} already sent (or uncertain) in {campaign_id}, by the contact log "
            f"('outreach log --campaign {campaign_id}'); --include-sent drafts them too."
        )
    if skips.suppressed:
        parts.append(
            f"Skipped {_letters(len(skips.suppressed))} to suppressed members ('outreach suppress' lists them; "
            "'outreach suppress MEMBER --remove' lifts one)."
        )
    return " ".join(parts) or "no letters match that selection"


@app.command()
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
    postcodes_url: Annotated[
        str | None,
        typer.Option("--postcodes-url", help="postcodes.io origin (env OUTREACH_POSTCODES_URL).", show_default=False),
    ] = None,
    max_rps: Annotated[float, typer.Option("--max-rps", min=0, help="Requests a second at most; 0 = uncapped.")] = 10,
    full: Annotated[bool, typer.Option("--full", help="Refetch every member's contact details.")] = False,
    verify_sites: Annotated[
        bool, typer.Option("--verify-sites", help="Check every site's constituency with postcodes.io.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print what changed as JSON for scripts.")] = False,
) -> None:
    """Fetch current MPs, contacts, ministers, shadow ministers and committees from Parliament into a new snapshot.

    Writes a dated snapshot under $OUTREACH_HOME/snapshots/ atomically (a failed refresh leaves the one in use as
    it was, exit 3), then prints what changed: seats, new and departed MPs, parties, posts, contact details.
    Contact details are cached for 7 days per member; --full refetches them all.
    """
    from outreach import refresh as refreshing
    from outreach.web import Politeness

    with user_errors():
        home = settings.home()
        previous = _load_snapshot(uses_posts=False)
        origins = refreshing.Origins(
            members_api=settings.members_api(api_url),
            committees_api=settings.committees_api(committees_api_url),
            postcodes=settings.postcodes_api(postcodes_url),
        )
        with console.progress_bar() as progress:
            result = refreshing.refresh(
                home,
                previous,
                origins,
                full=full,
                verify_sites=verify_sites,
                politeness=Politeness(max_rps=max_rps),
                progress=progress,  # type: ignore[arg-type]
            )
    if as_json:
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=1))
        return
    _print_refresh(result)


def _print_refresh(result: Any) -> None:
    """Print a refresh's changes as tables, then where the new snapshot is."""
    changes = result.diff

    def who(side: dict[str, Any] | None) -> str:
        return f"{side['name']} ({side['party']})" if side else "vacant"

    sections: list[tuple[str, tuple[str, ...], list[tuple[object, ...]]]] = [
        (
            "Seats that changed hands",
            ("constituency", "before", "after"),
            [(r["constituency"], who(r["before"]), who(r["after"])) for r in changes.seats_changed],
        ),
        (
            "New MPs",
            ("id", "name", "party", "constituency", "new to the Commons", "by-election"),
            [
                (r["member_id"], r["name"], r["party"], r["constituency"], "yes" if r["is_new"] else "no")
                + (r["by_election_date"] or "",)
                for r in changes.new_members
            ],
        ),
        (
            "Departed MPs",
            ("id", "name", "party", "constituency"),
            [(r["member_id"], r["name"], r["party"], r["constituency"]) for r in changes.departed_members],
        ),
        (
            "Party changes",
            ("name", "constituency", "before", "after"),
            [(r["name"], r["constituency"], r["before"], r["after"]) for r in changes.party_changes],
        ),
        (
            "Name changes",
            ("id", "field", "before", "after"),
            [(r["member_id"], r["field"], r["before"], r["after"]) for r in changes.name_changes],
        ),
    ]
    for kind, label in (("government", "Ministers"), ("opposition", "Shadow ministers")):
        for rows, verb in ((changes.posts_appointed, "appointed"), (changes.posts_ended, "gone")):
            sections.append(
                (
                    f"{label} {verb}",
                    ("name", "post", "department", "since"),
                    [(r["name"], r["post"], r["department"], r["start_date"] or "") for r in rows if r["kind"] == kind],
                )
            )
    sections.append(
        (
            "Posts retitled (same member and department)",
            ("name", "before", "after", "department"),
            [(r["name"], r["before"], r["post"], r["department"]) for r in changes.posts_retitled],
        )
    )
    sections += [
        (
            "Changed contact details",
            ("name", "constituency", "field", "before", "after"),
            [
                (r["name"], r["constituency"], r["field"], r["before"] or "", r["after"] or "")
                for r in changes.contact_changes
            ],
        ),
        (
            "Site constituencies checked with postcodes.io",
            ("site", "postcode", "before", "after", "outcome"),
            [(r["name"], r["postcode"], r["before"], r["after"] or "", r["outcome"]) for r in changes.site_corrections],
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
        + f"; {sum(result.requests.values())} requests.",
        markup=False,
    )


def main() -> None:
    """Run the command line."""
    app(prog_name="outreach")
