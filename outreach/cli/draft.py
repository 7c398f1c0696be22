"""`outreach draft`: the campaign's letters into an outbox, with a summary of what was written and left out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from outreach import console
from outreach import outbox as outboxes
from outreach import snapshot as snapshots
from outreach.cli.app import load_campaign, load_snapshot, today, user_errors, warn_unsigned
from outreach.cli.options import (
    AllowStalePostsOption,
    CampaignOption,
    LimitOption,
    MembersOption,
    NationOption,
    OutOption,
    PartyOption,
    StrictOption,
)
from outreach.cli.output import pairs, print_checks, print_notes
from outreach.errors import OutreachError

if TYPE_CHECKING:
    from outreach.campaign import Campaign
    from outreach.checks import Results
    from outreach.contact_log import DraftSkips
    from outreach.merge import Merged
    from outreach.similarity import Similarity
    from outreach.targeting import Selection, Target


def draft(
    *,
    all_: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every seat and every current post holder (with --member or --constituency: all of their letters).",
        ),
    ] = False,
    new: Annotated[bool, typer.Option("--new", help="Seat letters to MPs new to this Parliament.")] = False,
    ministers: Annotated[
        bool, typer.Option("--ministers", help="Letters to post holders (ministers, shadows).")
    ] = False,
    member: MembersOption = None,
    constituency: Annotated[
        list[str] | None,
        typer.Option("--constituency", help="A constituency: name or ONS code (repeatable)."),
    ] = None,
    nation: NationOption = None,
    party: PartyOption = None,
    limit: LimitOption = None,
    format_: Annotated[str, typer.Option("--format", help="Comma-separated: md, pdf, docx.")] = "md,pdf",
    out: OutOption = Path("outbox"),
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
    strict: StrictOption = False,
    allow_stale_posts: AllowStalePostsOption = False,
    pdf_standard: Annotated[
        list[str] | None,
        typer.Option(
            "--pdf-standard",
            help="Add a PDF standard to every PDF: a-2b (PDF/A-2b, for an archive). Every PDF is tagged PDF/UA-1.",
        ),
    ] = None,
) -> None:
    """Draft the campaign's letters into an outbox: Markdown and PDF per letter, a print PDF and manifest.csv.

    With no selection it drafts the campaign's audience (for IPEM 2024: new MPs, by-election winners, ministers
    and shadow ministers); --all drafts a letter for every seat and every post holder.
    """
    from outreach import draft as drafting
    from outreach.targeting import resolve_constituencies, resolve_members

    with user_errors():
        formats = drafting.parse_formats(format_)
        outboxes.check_out(out, force=force)
        chosen = load_campaign(campaign)
        warn_unsigned(chosen)
        snapshot = load_snapshot(uses_posts=True)
        from outreach.targeting import Selection

        selection = Selection(
            all=all_,
            new=new,
            ministers=ministers,
            members=resolve_members(snapshot, member or []),
            constituencies=resolve_constituencies(snapshot, constituency or []),
            nation=nation,
            party=party,
            limit=None,  # applied below, once letters already sent are left out
            allow_stale_posts=allow_stale_posts,
        )
        day = today()
        targets, skips = _targets(snapshot, chosen, selection, day, include_sent=include_sent, limit=limit)
        with console.progress_bar() as progress:
            merged = drafting.merge_all(targets, chosen, day, progress)  # type: ignore[arg-type]
        standards = drafting.parse_pdf_standards(pdf_standard or [])
        # Typst sets the PDFs while the checks run, unless a check may refuse the draft (--strict, --strict-distinct).
        typesetting = None if strict or strict_distinct else drafting.start_pdfs(merged, chosen, formats, standards)
        distinct = _distinctness(merged, strict_distinct=strict_distinct, out=out)
        checked = _letter_checks(merged, chosen, strict=strict, out=out)
        with console.progress_bar() as progress:
            result = drafting.write(
                merged,
                chosen,
                out,
                formats=formats,
                force=force,
                progress=progress,  # type: ignore[arg-type]
                pdf_standards=standards,
                typesetting=typesetting,
            )
    _print_summary(result, snapshot)
    _print_distinct(distinct, merged)
    print_checks(checked, merged)
    if skips.sent or skips.suppressed:
        console.out.print(_skipped_text(skips, chosen.id), markup=False)


def _targets(
    snapshot: snapshots.Snapshot,
    campaign: Campaign,
    selection: Selection,
    day: date,
    *,
    include_sent: bool,
    limit: int | None,
) -> tuple[list[Target], DraftSkips]:
    """Return the targets to draft (those the contact log does not rule out, up to `limit`) and those it skipped."""
    from outreach import contact_log
    from outreach import draft as drafting

    drafted = drafting.targets_for(snapshot, campaign, selection, day)
    print_notes(drafted.notes)
    targets = drafted.targets
    if not targets:
        raise OutreachError("no letters match that selection")
    skips = contact_log.skip_logged(targets, campaign.id, include_sent=include_sent)
    targets = skips.kept[:limit]
    if not targets:
        raise OutreachError("nothing to draft: " + _skipped_text(skips, campaign.id))
    return targets, skips


def _distinctness(merged: Sequence[Merged], *, strict_distinct: bool, out: Path) -> Similarity:
    """Return how alike the letters are; with --strict-distinct, print the pairs too alike and refuse."""
    from outreach import draft as drafting

    distinct = drafting.distinctness(merged)
    if strict_distinct and distinct.above:
        _print_distinct(distinct, merged)
        raise OutreachError(
            f"--strict-distinct: {pairs(len(distinct.above))} of letters are more than "
            f"{distinct.threshold:.2f} alike (word 5-gram Jaccard); nothing was written to {out}/"
        )
    return distinct


def _letter_checks(merged: Sequence[Merged], campaign: Campaign, *, strict: bool, out: Path) -> Results:
    """Return the letter checks' results; with --strict, print the failures and refuse, before anything is written."""
    from outreach import checks

    checked = checks.run(merged, campaign)
    if strict and checked.failures:
        print_checks(checked, merged)
        raise OutreachError(f"--strict: {checked.verdict()}; nothing was written to {out}/")
    return checked


def _print_distinct(distinct: Any, merged: Any) -> None:
    """Print how alike the letters are, and every pair above the threshold with both recipients named."""
    if distinct.letters < 2:
        return
    console.out.print(
        f"Letter bodies alike (word 5-gram Jaccard over {pairs(distinct.pairs)}): "
        f"median {distinct.median:.3f}, maximum {distinct.maximum:.3f}; "
        f"{pairs(len(distinct.above))} above {distinct.threshold:.2f}",
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
    """Print what a draft wrote: letters by template, local sites, asks, flags, files and the snapshot used."""
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


def _letters(count: int) -> str:
    """Return '1 letter' or 'N letters'."""
    return f"{count} letter" + ("" if count == 1 else "s")


def _skipped_text(skips: Any, campaign_id: str) -> str:
    """Return the line saying which letters a draft left out because of the contact log, and how to include them."""
    parts = []
    if skips.sent:
        parts.append(
            f"Skipped {_letters(len(skips.sent))} already sent (or uncertain) in {campaign_id}, by the contact log "
            f"('outreach log --campaign {campaign_id}'); --include-sent drafts them too."
        )
    if skips.office_changed:
        moved = "; ".join(f"{target.name} ({target.letter_id})" for target in skips.office_changed)
        parts.append(f"Office changed since written to, not written to again: {moved}.")
    if skips.suppressed:
        parts.append(
            f"Skipped {_letters(len(skips.suppressed))} to suppressed members ('outreach suppress' lists them; "
            "'outreach suppress MEMBER --remove' lifts one)."
        )
    return " ".join(parts) or "no letters match that selection"
