"""Gathering the report: the snapshot, the contact log and (optionally) an outbox read into one `Report`.

Seats, letters and follow-ups are each gathered by their own function from what was read once. Nothing is
written: with no contact log yet, every seat is "not contacted" and no log file is created.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from outreach import changes
from outreach import outbox as outboxes
from outreach import similarity as similarities
from outreach.campaign import Campaign
from outreach.errors import DataError
from outreach.ledger import Contact, Ledger, State
from outreach.report.model import CONTACT_RANK, FollowUp, Report, Seat
from outreach.sites import local_sites
from outreach.snapshot import Snapshot
from outreach.targeting import Ranked, by_interest

NO_OUTBOX = "near-identical figures need the outbox: run the report with --outbox DIR"
RANKED_SHOWN = 20  # members in the report's "who to write to first" table


def contact_state(contact: Contact) -> str:
    """Return the CONTACT_STATES key one contact (one letter by one channel) is in."""
    if contact.reply_outcome:
        return f"replied_{contact.reply_outcome}"
    if contact.state == State.SENT:
        return "sent"
    if contact.state == State.QUEUED:  # queued for e-mail, not yet tried: still only drafted
        return "drafted"
    return "failed"  # failed, uncertain, or sending (in flight, or left by a crash)


def best_state(states: Iterable[str]) -> str:
    """Return the best of some CONTACT_STATES keys, or 'not_contacted' when there are none."""
    return min(states, key=lambda state: CONTACT_RANK[state], default="not_contacted")


def site_category(snapshot: Snapshot, code: str) -> str:
    """Return the SITE_CATEGORIES key of a seat: its most relevant MPCE site, by the ranking letters use."""
    types = {
        "imaging" if site.site_type == "community_diagnostic_centre" and site.has_imaging else site.site_type
        for site in local_sites(snapshot.sites_in(code), code)
    }
    if "radiotherapy_centre" in types:
        return "radiotherapy"
    if types & {"acute_hospital", "acute_stroke_unit"}:
        return "acute"
    return "imaging" if "imaging" in types else "none"


@dataclass(frozen=True)
class Drafted:
    """An outbox's letters as the report reads them: its manifest rows and the asks of each seat's letter."""

    rows: list[outboxes.ManifestRow]
    seat_asks: dict[str, tuple[str, ...]]  # constituency code -> asks of its seat letter


def read_outbox(folder: Path, campaign: Campaign) -> Drafted:
    """Return an outbox's manifest rows and seat asks; a letter from another campaign is a DataError."""
    rows = outboxes.read_manifest(folder, ("kind", "asks", "constituency_code", "markdown", "salutation"))
    for row in rows:
        other = row.cells.get("campaign", "").strip()
        if other and other != campaign.id:
            raise DataError(
                f"{row.where}: letter {row.letter_id} is from campaign '{other}', not '{campaign.id}' "
                "(give its campaign with --campaign)"
            )
    seat_asks = {
        row.cells["constituency_code"].strip(): row.asks
        for row in rows
        if row.cells["kind"].strip() == "seat" and row.cells["constituency_code"].strip()
    }
    return Drafted(rows, seat_asks)


def gather_similarity(
    rows: Sequence[outboxes.ManifestRow], campaign: Campaign
) -> tuple[similarities.Similarity | None, str]:
    """Return the near-identical figures of the outbox's letters, or None and why they cannot be computed."""
    bodies: dict[str, str] = {}
    for row in rows:
        markdown = row.file("markdown")
        if markdown is None:
            return None, "the outbox has no Markdown letters: draft with --format md to compare them"
        try:
            text = markdown.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{row.where}: cannot read letter {row.cells['markdown']} ({exc})") from None
        bodies[row.letter_id] = similarities.body(text, row.cells["salutation"], campaign.closing)
    return similarities.compare(bodies), ""


def read_log(campaign_id: str, today: date) -> tuple[bool, list[Contact], list[tuple[Contact, date]]]:
    """Return whether a contact log exists, this campaign's contacts, and its follow-ups due; never creates it."""
    if not Ledger.exists_default():
        return False, [], []
    with Ledger.open_default() as ledger:
        return True, ledger.contacts(campaign=campaign_id), ledger.followups_due(today, campaign=campaign_id)


def recipient_states(contacts: Iterable[Contact], drafted: Drafted | None) -> dict[int, list[str]]:
    """Return each recipient's (member id's) contact states: one per logged contact and one per drafted letter."""
    states: dict[int, list[str]] = {}
    for contact in contacts:
        states.setdefault(contact.member_id, []).append(contact_state(contact))
    if drafted is not None:
        for row in drafted.rows:
            states.setdefault(row.member_id, []).append("drafted")
    return states


def gather_seats(
    snapshot: Snapshot,
    campaign: Campaign,
    today: date,
    states: Mapping[int, list[str]],
    drafted: Drafted | None,
) -> tuple[list[Seat], Counter[str]]:
    """Return every seat with its categories, and the best state of each recipient with no seat (peers)."""
    from outreach import draft
    from outreach.targeting import Selection

    # Every letter the campaign would write: a seat letter per MP, one per post holder (peers have no seat).
    targets = draft.targets_for(snapshot, campaign, Selection(all=True, allow_stale_posts=True), today).targets
    would_ask = {
        t.constituency.code: tuple(a.ask.id for a in t.asks) for t in targets if t.kind == "seat" and t.constituency
    }
    recipients = {t.member_id for t in targets} | set(states)
    seats: list[Seat] = []
    seat_members: set[int] = set()
    for code, constituency in sorted(snapshot.constituencies.items(), key=lambda item: item[1].name):
        member = snapshot.seat(code)
        asks: tuple[str, ...] = ()
        if member is not None:
            seat_members.add(member.member_id)
            asks = drafted.seat_asks[code] if drafted and code in drafted.seat_asks else would_ask.get(code, ())
        seats.append(
            Seat(
                constituency=constituency,
                member=member,
                contact=best_state(states.get(member.member_id, ())) if member else "not_contacted",
                site=site_category(snapshot, code),
                asks=asks,
            )
        )
    unseated = Counter(best_state(states.get(number, ())) for number in recipients - seat_members)
    return seats, unseated


@dataclass(frozen=True)
class Letters:
    """Letter-level figures: letters sent, the latest outcome of each replied letter, letters sent with each ask."""

    sent: int
    outcomes: Counter[str]
    asks_sent: Counter[str]


def gather_letters(contacts: Iterable[Contact]) -> Letters:
    """Return the letter-level figures: a letter is sent if any channel delivered it, replied if any has a reply."""
    letters: dict[str, list[Contact]] = {}
    for contact in contacts:
        letters.setdefault(contact.letter_id, []).append(contact)
    sent = 0
    outcomes: Counter[str] = Counter()
    asks_sent: Counter[str] = Counter()
    for channels in letters.values():
        best = best_state(contact_state(contact) for contact in channels)
        if best == "sent" or best.startswith("replied_"):
            sent += 1
            asks_sent.update({ask for contact in channels for ask in contact.asks})
        if best.startswith("replied_"):
            outcomes[best.removeprefix("replied_")] += 1
    return Letters(sent, outcomes, asks_sent)


def gather_followups(due: Iterable[tuple[Contact, date]]) -> list[FollowUp]:
    """Return the follow-ups due, one per letter (its channels together), earliest deadline first."""
    grouped: dict[str, list[tuple[Contact, date]]] = {}
    for contact, deadline in due:
        grouped.setdefault(f"{contact.campaign}/{contact.letter_id}", []).append((contact, deadline))
    return sorted(
        (
            FollowUp(
                name=items[0][0].name,
                letter=letter,
                channels=", ".join(contact.channel for contact, _ in items),
                sent=min((c.sent_at.date() for c, _ in items if c.sent_at), default=None),
                due=min(deadline for _, deadline in items),
            )
            for letter, items in grouped.items()
        ),
        key=lambda item: (item.due, item.name, item.letter),
    )


def gather_ranking(snapshot: Snapshot, campaign: Campaign) -> list[Ranked]:
    """Return the members the campaign's [[interest]] rules rank highest (none scoring nothing), each with the changes
    of office reported since the posts' date."""
    changed = changes.reported(snapshot.posts_as_of, campaign.folder)
    ranked = by_interest(snapshot, campaign, snapshot.members, changed)
    return [item for item in ranked if item.interest.score][:RANKED_SHOWN]


def gather(
    snapshot: Snapshot,
    campaign: Campaign,
    today: date,
    *,
    outbox: Path | None = None,
    generated: datetime | None = None,
) -> Report:
    """Return the report's figures for a campaign: seats with their categories, counts, follow-ups, similarity."""
    drafted = read_outbox(outbox, campaign) if outbox is not None else None
    logged, contacts, due = read_log(campaign.id, today)
    seats, unseated = gather_seats(snapshot, campaign, today, recipient_states(contacts, drafted), drafted)
    letters = gather_letters(contacts)
    similarity, note = gather_similarity(drafted.rows, campaign) if drafted is not None else (None, NO_OUTBOX)
    return Report(
        campaign=campaign,
        snapshot=snapshot,
        generated=generated or datetime.now(UTC),
        seats=seats,
        unseated=unseated,
        letters_sent=letters.sent,
        outcomes=letters.outcomes,
        asks_sent=letters.asks_sent,
        followups=gather_followups(due),
        outbox=outbox,
        drafted_letters=len(drafted.rows) if drafted else 0,
        similarity=similarity,
        similarity_note=note,
        logged=logged,
        letter_names={row.letter_id: row.cells.get("name", "") for row in drafted.rows} if drafted else {},
        ranking=gather_ranking(snapshot, campaign),
    )
