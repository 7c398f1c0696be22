"""The contact log at its edges: naming members and campaigns, logging a printed batch from its manifest, CSV export.

The log itself (schema, state machine, replies, suppression) is `outreach.ledger`; this module turns what people type
and the files `outreach draft` writes into its inputs, and its rows into CSV.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

from outreach import outbox
from outreach.csvfile import Writer
from outreach.errors import DataError, OutreachError
from outreach.ledger import Contact, Ledger, NewContact, now
from outreach.ledger.records import is_member_id
from outreach.snapshot import Snapshot
from outreach.targeting import Target, fold, resolve_members

# The kinds a letter id is made of (INTERFACE.md: member id + kind, e.g. 4366-seat).
LETTER_KINDS = ("seat", "minister", "shadow_minister")
# `outreach log --json` fields (INTERFACE.md), then the rest of the row; --csv uses the same columns.
LOG_FIELDS = (
    "letter_id",
    "member_id",
    "name",
    "campaign",
    "channel",
    "state",
    "message_id",
    "sent_at",
    "asks",
    "content_sha256",
    "reply_outcome",
    "reply_date",
    "by",
    "reply_note",
    "recipient",
    "postal_reference",
    "attempts",
    "error",
    "queued_at",
    "updated_at",
    "machine",
)
# Manifest columns a printed letter needs to be logged.
MANIFEST_NEEDS = ("letter_id", "member_id", "name", "address", "asks", "markdown", "campaign")


def campaign_id(text: str) -> str:
    """Return the campaign id named by an id (ipem-2024) or by a campaign folder holding campaign.toml."""
    folder = Path(text).expanduser()
    if (folder / "campaign.toml").is_file():
        from outreach import campaign

        return campaign.load(folder).id
    if not text.strip():
        raise OutreachError("--campaign: give a campaign id (e.g. ipem-2024) or a campaign folder")
    return text.strip()


def default_campaign_id() -> str:
    """Return the id of the default campaign (IPEM 2024)."""
    from outreach import campaign
    from outreach.resources import default_campaign_dir

    return campaign.load(default_campaign_dir()).id


def letter_id(member_id: int, letter: str) -> str:
    """Return the letter id meant by a letter id or a kind: 'seat' for member 4366 is 4366-seat."""
    letter = letter.strip()
    return f"{member_id}-{letter}" if letter in LETTER_KINDS else letter


def member_id(text: str, known: dict[int, str], snapshot: Callable[[], Snapshot]) -> int:
    """Return the member id named by an id or a name: names the log knows first, then the snapshot's members.

    An id is taken as given, so a member who has since left the Commons can still be found in the log.
    """
    if text.strip().isdigit():
        if not is_member_id(int(text)):
            raise OutreachError(f"member id {text.strip()} is out of range (a member id is a Members API id)")
        return int(text)
    wanted = fold(text)
    matches = {number for number, name in known.items() if fold(name) == wanted}
    if len(matches) == 1:
        return matches.pop()
    return resolve_members(snapshot(), [text])[0]


def member_name(number: int, snapshot: Snapshot) -> str:
    """Return a member's name from the snapshot (an MP, or a post holder outside the Commons); '' if unknown."""
    member = snapshot.member(number)
    if member is not None:
        return member.name
    return next((post.name for post in snapshot.posts if post.member_id == number), "")


def sent_at_for(day: date, today: date) -> datetime:
    """Return the time to log a letter sent on a day: now if today, else noon UTC (the same date in UK time)."""
    return now() if day == today else datetime.combine(day, time(12), UTC)


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None


def manifest_entries(
    outbox_dir: Path, sent_at: datetime, postal_reference: str | None, channel: str = "post"
) -> list[NewContact]:
    """Return a printed batch as contacts to record: one per manifest row, each letter's Markdown hashed.

    Every row is checked before any is returned, so a bad row stops the batch before anything is logged.
    """
    entries: list[NewContact] = []
    for row in outbox.read_manifest(outbox_dir, MANIFEST_NEEDS):
        for column in ("campaign", "markdown"):
            if not row.cells[column].strip():
                raise DataError(
                    f"{row.where}: empty '{column}'" + (" (draft with --format md)" if column == "markdown" else "")
                )
        markdown = row.file("markdown")
        if markdown is None or not markdown.is_file():
            raise DataError(f"{row.where}: letter file {row.cells['markdown']} is missing")
        entries.append(
            NewContact(
                campaign=row.cells["campaign"].strip(),
                letter_id=row.letter_id,
                channel=channel,
                member_id=row.member_id,
                name=row.cells["name"],
                recipient=row.cells["address"],
                asks=row.asks,
                content_sha256=file_sha256(markdown),
                sent_at=sent_at,
                postal_reference=postal_reference,
            )
        )
    if not entries:
        raise DataError(f"{outbox_dir / outbox.MANIFEST}: no letters in the manifest")
    return entries


def _cell(value: object) -> object:
    if isinstance(value, list | tuple):
        return ";".join(str(item) for item in value)
    return "" if value is None else value


def csv_text(contacts: Sequence[Contact]) -> str:
    """Return contacts as CSV, header first: the --json fields, asks ';'-separated, empty for none."""
    buffer = io.StringIO()
    writer = Writer(buffer)
    writer.writerow(LOG_FIELDS)
    for contact in contacts:
        fields = contact.as_json()
        writer.writerow([_cell(fields[name]) for name in LOG_FIELDS])
    return buffer.getvalue()


@dataclass(frozen=True)
class DraftSkips:
    """A draft's targets split by the contact log: those to draft, and those left out with the reason."""

    kept: list[Target]
    sent: list[Target]
    suppressed: list[Target]
    # Post holders already written to whose posts now differ from those the letter was addressed to: the user decides
    # whether to write again (--include-sent), so draft names them.
    office_changed: list[Target] = field(default_factory=list)


def skip_logged(targets: Sequence[Target], campaign: str, *, include_sent: bool) -> DraftSkips:
    """Return the targets split: letters the log shows sent or uncertain in this campaign (any channel) are left out
    unless include_sent, and members on the suppression list always. With no log file nothing is left out (and no
    file is created)."""
    if not Ledger.exists_default():
        return DraftSkips(list(targets), [], [])
    with Ledger.open_default() as ledger:
        sent = frozenset() if include_sent else ledger.sent_letter_ids(campaign)
        suppressed = ledger.suppressed_ids()
        written_to = {contact.letter_id: contact.recipient for contact in ledger.contacts(campaign=campaign)}
    skips = DraftSkips([], [], [])
    for target in targets:
        if target.member_id in suppressed:
            skips.suppressed.append(target)
        elif target.letter_id in sent:
            skips.sent.append(target)
            if target.kind != "seat" and not _same_posts(target, written_to.get(target.letter_id, "")):
                skips.office_changed.append(target)
        else:
            skips.kept.append(target)
    return skips


def _same_posts(target: Target, recipient: str) -> bool:
    """Return whether a letter sent to `recipient` (its address lines joined ' | ') named every post the target holds
    now; a letter recorded with no address cannot tell, and counts as the same."""
    lines = set(recipient.split(" | "))
    titles = target.address.post_lines or target.address_lines[1 : 1 + len(target.posts)]
    return not recipient or all(title in lines for title in titles)
