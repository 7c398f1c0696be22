"""The contact log and sending: `outreach send`, `log`, `log add`, `reply`, `followups` and `suppress`."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from outreach import console, settings
from outreach.cli.app import load_campaign, load_snapshot, today, user_errors
from outreach.cli.options import (
    DAY_FORMATS,
    CampaignIdOption,
    CampaignOption,
    DayOption,
    JsonOption,
    LimitOption,
    MemberOption,
)
from outreach.cli.output import output_rows
from outreach.errors import ExitCode, OutreachError, SendIncomplete
from outreach.ledger import Contact, Overdue, overdue_by_letter

if TYPE_CHECKING:
    from outreach.delivery.run import Result


def send(
    outbox: Annotated[Path, typer.Argument(help="Outbox folder written by 'outreach draft' (holds manifest.csv).")],
    *,
    no_dry_run: Annotated[
        bool, typer.Option("--no-dry-run", help="Really send. Without it, print what would be sent and send nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Send without asking for confirmation.")] = False,
    limit: LimitOption = None,
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
            help="Send again letters left uncertain by a lost connection or a crash (run 'outreach inbox' first).",
        ),
    ] = False,
    yes_other_log: Annotated[
        bool,
        typer.Option(
            "--yes-other-log",
            help="Send although the outbox was first sent from another contact log (another home or database).",
        ),
    ] = False,
    campaign: CampaignOption = None,
) -> None:
    """E-mail the outbox's letters (text and HTML body, PDF attached), recording each in the contact log.

    A dry run by default: it prints what would be sent. With --no-dry-run it asks for confirmation (unless --yes),
    then sends every letter with an e-mail address that is not already sent, not suppressed and not uncertain.
    SMTP settings come from the smtp table of campaign.toml and OUTREACH_SMTP_HOST, _PORT, _SECURITY, _USER, _AUTH,
    _PASSWORD or _TOKEN_COMMAND, _CA_FILE (the environment wins). A letter the server defers (4xx) is tried again
    later in the run; letters it refuses (5xx), or still deferred at the end, are listed in OUTBOX/failures.csv;
    exit code 4.
    """
    from outreach.delivery import email as mail
    from outreach.delivery import run as sending
    from outreach.delivery.channel import Verdict
    from outreach.render.email import Email

    with user_errors():
        chosen = load_campaign(campaign)
        if not no_dry_run:
            planned = mail.dry_run(
                outbox, chosen, limit=limit, resend_uncertain=resend_uncertain, other_log=yes_other_log
            )
            _print_send_plan(planned)
            return
        smtp = settings.smtp(chosen.smtp, source=str(chosen.file))

        def confirm(planned: sending.Plan[Email]) -> None:
            _print_send_plan(planned, listing=False)
            if not yes:
                typer.confirm(
                    f"Send {len(planned.to_send)} e-mails from {chosen.sender.email} via {smtp.describe()}?",
                    abort=True,
                )

        def report(event: Verdict, item: sending.Planned[Email], detail: str) -> None:
            letter = item.letter
            text = f"{event:<9} {letter.letter_id} <{letter.recipient}>" + (f": {detail}" if detail else "")
            if event == Verdict.SENT:
                # A plain write: rich's print costs a quarter of a millisecond, a fifth of a letter's time uncapped.
                console.err.file.write(text + "\n")
            else:
                console.err.print(text, markup=False, style="yellow" if event == Verdict.RETRY else "red")

        try:
            _, result = mail.send_outbox(
                outbox,
                chosen,
                smtp,
                limit=limit,
                per_minute=per_minute,
                bcc_self=bcc_self,
                resend_uncertain=resend_uncertain,
                other_log=yes_other_log,
                confirm=confirm,
                report=report,
            )
        except typer.Abort:
            console.err.print("Nothing sent.", markup=False)
            raise typer.Exit(ExitCode.FAILURE) from None
    _print_send_result(result, outbox)


def _caution(text: str) -> None:
    """Print a line a person should act on to stderr, in yellow, as written (no rich markup)."""
    console.err.print(text, style="yellow", markup=False)


def _print_send_result(result: Result, outbox: Path) -> None:
    """Print what a send did (settled, summary table, uncertain); raise SendIncomplete if any letter failed."""
    from outreach.delivery import run as sending

    if result.settled:
        _caution(
            f"{len(result.settled)} letters left mid-send by an interrupted run are now uncertain (they may have "
            f"arrived; 'outreach inbox' settles those in the Sent folder, then --resend-uncertain sends the rest): "
            f"{', '.join(result.settled)}"
        )
    console.out.print(console.table("Send", ("outcome", "letters"), result.summary()))
    uncertain = len(result.uncertain) + result.skipped.get(sending.UNCERTAIN, 0)
    if uncertain:
        _caution(
            f"{uncertain} letters are uncertain: the server may have taken them. 'outreach inbox' settles those "
            "whose copy is in the Sent folder (by Message-ID); then use --resend-uncertain to send the rest again."
        )
    if result.deferred:
        _caution(
            f"{len(result.deferred)} letters are still deferred (the server said 'not now'); they go first when "
            f"send runs again: {', '.join(result.deferred)}"
        )
    if result.failures or result.deferred:
        counts = [f"{len(result.failures)} letters failed"] if result.failures else []
        counts += [f"{len(result.deferred)} still deferred"] if result.deferred else []
        with user_errors():
            raise SendIncomplete(f"{' and '.join(counts)}: see {outbox / sending.FAILURES_FILE}")


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


log_app = typer.Typer(
    help="List the contact log, or record letters sent by post or by hand ('outreach log add').",
    invoke_without_command=True,
    add_completion=False,
)


def _log_member(text: str, ledger: Any) -> int:
    """Return the member id a --member or MEMBER argument names: an id, a name in the log, or a current member."""
    from outreach import contact_log

    return contact_log.member_id(text, ledger.member_names(), lambda: load_snapshot(uses_posts=False))


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
    member: MemberOption = None,
    state: Annotated[
        str | None, typer.Option("--state", help="Only this state: queued, sending, sent, deferred, failed, uncertain.")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option("--since", formats=DAY_FORMATS, help="Only contacts sent (or queued) on or after YYYY-MM-DD."),
    ] = None,
    campaign: CampaignIdOption = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Only contacts sent or recorded by this person (OUTREACH_USER).")
    ] = None,
    as_json: JsonOption = False,
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
                by=by.strip() if by else None,
            )
    if as_csv:
        print(contact_log.csv_text(found), end="")
        return
    output_rows(found, Contact.as_json, as_json=as_json, table=lambda: _log_table(found))


@log_app.command("check")
def log_check(*, as_json: JsonOption = False) -> None:
    """Check the contact log on either engine: schema version, states, orphan replies, a Message-ID for every e-mail
    sent. Changes nothing; exits 1 when it finds a problem."""
    from outreach.ledger import default_target
    from outreach.ledger.check import Finding, check_log

    with user_errors():
        where, findings = check_log(default_target())
        problems = sum(finding.problem for finding in findings)
        if as_json:
            output_rows(findings, Finding.as_json, as_json=True, table=lambda: Table())
        elif findings:
            rows = [(finding.check, finding.detail, "problem" if finding.problem else "note") for finding in findings]
            console.out.print(console.table(f"Contact log {where}", ("check", "found", ""), rows))
        if problems:
            raise OutreachError(f"{where}: {problems} problem{'' if problems == 1 else 's'} found in the contact log")
    if not as_json:
        console.out.print(f"Contact log {where}: no problems found", markup=False)


@log_app.command("migrate")
def log_migrate(
    *,
    to: Annotated[
        str,
        typer.Option(
            "--to", help="The team's database, postgresql://user@host/db (password from PGPASSWORD or ~/.pgpass)."
        ),
    ],
) -> None:
    """Copy the local SQLite log (OUTREACH_HOME) into a team's PostgreSQL log in one transaction.

    A row already there with the same content is left as it is, so running it again changes nothing; one with
    different content stops the copy before anything is written. Then set OUTREACH_DATABASE_URL to the team's log.
    """
    from outreach.ledger import DATABASE_FILE, Ledger, is_url
    from outreach.ledger.copying import copy_log

    with user_errors():
        if not is_url(to):
            # The value may hold a password: say what is wanted, never echo it.
            raise OutreachError("--to: give the team's database as postgresql://user@host/database")
        local = settings.home() / DATABASE_FILE
        if not local.is_file():
            raise OutreachError(f"{local}: no local contact log to copy")
        with Ledger(local) as source, Ledger(to) as target:
            copied = copy_log(source, target)
            where = target.where
    added, same = copied.added, copied.same
    console.out.print(
        f"Copied {added['contacts']} contacts, {added['replies']} replies and {added['suppressions']} suppressions "
        f"from {local} to {where}; already there: {same['contacts']} contacts, {same['replies']} replies, "
        f"{same['suppressions']} suppressions. Set OUTREACH_DATABASE_URL to use the team's log.",
        markup=False,
    )


def _log_table(found: list[Contact]) -> Table:
    """Return the contact log as a table: a campaign column only when the contacts span several campaigns."""
    # One campaign (the usual case) goes in the title, leaving the columns room.
    campaigns_found = sorted({contact.campaign for contact in found})
    several = len(campaigns_found) > 1
    # A team's log: who sent each letter, once more than one person has.
    people = len({contact.by for contact in found}) > 1
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
            *((contact.by,) if people else ()),
        )
        for contact in found
    ]
    columns = ("date", *(("campaign",) if several else ()), "letter", "member", "channel", "state", "asks", "reply")
    columns += ("by",) if people else ()
    title = f"{len(rows)} contacts" + (f" in {campaigns_found[0]}" if len(campaigns_found) == 1 else "")
    return console.table(title, columns, rows)


@log_app.command("add")
def log_add(
    member: Annotated[str | None, typer.Argument(help="The member written to: id or name.")] = None,
    *,
    letter: Annotated[
        str,
        typer.Option("--letter", help="The letter: its id (4366-minister) or kind (seat, minister, shadow_minister)."),
    ] = "seat",
    channel: Annotated[str, typer.Option("--channel", help="How it went: post or other (by hand).")] = "post",
    on: DayOption = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Postal reference, e.g. a Royal Mail tracking number.")
    ] = None,
    to: Annotated[str, typer.Option("--to", help="Where it went: the address lines joined ' | '.")] = "",
    asks: Annotated[str, typer.Option("--asks", help="The asks it made, ';'-separated ids.")] = "",
    letter_file: Annotated[
        Path | None, typer.Option("--file", help="The letter as sent, to record its SHA-256 (e.g. the outbox .md).")
    ] = None,
    campaign: CampaignIdOption = None,
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
        day = today()
        sent_at = contact_log.sent_at_for(on.date() if on else day, day)
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
        snapshot = load_snapshot(uses_posts=False)
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


def reply(
    member: Annotated[str, typer.Argument(help="The member who replied: id or name.")],
    *,
    outcome: Annotated[str, typer.Option("--outcome", help="substantive, acknowledgement, meeting, declined or none.")],
    on: DayOption = None,
    note: Annotated[str, typer.Option("--note", help="What the reply said, in a line.")] = "",
    letter: Annotated[
        str | None, typer.Option("--letter", help="Which letter it answers (id or kind), if several were sent.")
    ] = None,
    campaign: CampaignIdOption = None,
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
                reply_date=on.date() if on else today(),
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


def followups(
    *,
    campaign: CampaignIdOption = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=DAY_FORMATS, help="Count working days up to this day. Default: today."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List letters sent with no reply after 20 working days (weekends and England and Wales bank holidays excluded).

    The 20 working days are the Cabinet Office standard for replies to MPs' correspondence; record replies with
    'outreach reply'.
    """
    from outreach import contact_log

    with user_errors():
        day = as_of.date() if as_of else today()
        with _empty_log() as ledger:
            found = ledger.followups_due(day, campaign=contact_log.campaign_id(campaign) if campaign else None)
    due = sorted(
        (Overdue(*item) for item in found), key=lambda item: (item.reply_due, item.contact.name, item.contact.letter_id)
    )
    output_rows(due, Overdue.as_json, as_json=as_json, table=lambda: _followups_table(due, day))


def _followups_table(due: list[Overdue], day: date) -> Table:
    """Return the follow-ups as a table, one row per letter: its first deadline, and every channel it went by."""
    rows = [
        (
            letter[0].reply_due.isoformat(),
            letter[0].contact.sent_at.date().isoformat() if letter[0].contact.sent_at else "",
            letter[0].contact.name,
            f"{letter[0].contact.campaign}/{letter[0].contact.letter_id}",
            ", ".join(item.contact.channel for item in letter),
        )
        for letter in overdue_by_letter(due)
    ]
    return console.table(
        f"{len(rows)} letters due a follow-up on {day}", ("reply was due", "sent", "member", "letter", "channel"), rows
    )


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

            name = ledger.member_names().get(number) or contact_log.member_name(number, load_snapshot(uses_posts=False))
            ledger.suppress(number, reason, name=name)
    console.out.print(f"Suppressed {name or number} ({number}): {reason}", markup=False)
