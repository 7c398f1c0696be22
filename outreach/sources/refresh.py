"""Refresh: build a new snapshot from Parliament's live APIs (and postcodes.io), atomically, and say what changed.

A refresh fetches every current Commons member, their contact record, the government and opposition posts, the
members of the select committees the campaign follows (`[refresh] committees` in its campaign.toml) and, with
`verify_sites`, every site postcode; `build` (outreach/sources/build.py) makes the snapshot's rows from them and
from the snapshot in use (what it carries over, and why: outreach/sources/build.py and live.py). Only when all of
that has arrived is anything written: a temporary folder `.refresh-…` under `$OUTREACH_HOME/snapshots/` (skipped
by `snapshot.newest`), loaded back to prove it is a valid snapshot, then renamed to its time stamp. A failure at
any point removes the temporary folder and leaves the snapshot in use as it was. Contact records are cached per
member (outreach/sources/contacts.py).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from outreach import settings
from outreach import snapshot as snapshots
from outreach.csvfile import read_rows
from outreach.errors import OutreachError, SourceError
from outreach.files import held_lock
from outreach.records import RECORD_COLUMNS, RECORDS_FILE, RecordItem
from outreach.settings import DEFAULT_REFRESH_DEADLINE
from outreach.sources import plausible
from outreach.sources.build import Built, build
from outreach.sources.contacts import CONTACT_MAX_AGE, CachedContact, ContactCache, cached_per_member
from outreach.sources.diff import Diff, diff
from outreach.sources.http import USER_AGENT, Deadline, DeadlinePassed, JsonClient, Politeness, Progress, fetch_all
from outreach.sources.live import Carried, LiveRecords, SiteCheck, fetched, general_election, seats, verified_sites
from outreach.sources.member_records import LIVE_KINDS, RecordSources, RecordStage, RecordTerms, fetch_records
from outreach.sources.parliament import ApiMember, CommitteesApi, MembersApi, MembershipHistory
from outreach.sources.postcodes import PostcodesApi
from outreach.sources.records import RecordsApi
from outreach.sources.rows import ConstituencyRow, DepartmentRow, Gap, SiteRow, write_rows

SITE_CHECK_COLUMNS = ("site_id", "name", "postcode", "constituency_code_before", "constituency_code_after", "outcome")
SITE_CHECKS_FILE = "site_checks.csv"
REFRESH_LOCK = "refresh.lock"


@dataclass(frozen=True)
class Origins:
    """Where the live sources are: origins, to which the clients append their paths."""

    members_api: str
    committees_api: str
    postcodes: str
    questions_api: str = settings.DEFAULT_QUESTIONS_API


@dataclass(frozen=True)
class RefreshResult:
    """A finished refresh: the new snapshot, the one it replaced, what changed, and what it cost."""

    snapshot: snapshots.Snapshot
    previous: snapshots.Snapshot
    diff: Diff
    requests: dict[str, int]
    contacts_fetched: int
    contacts_cached: int
    vacant_seats: tuple[str, ...]
    records_fetched: int = 0  # members' records (experience, focus, interests) fetched, and taken from the cache
    records_cached: int = 0
    questions: int = 0  # written questions on the campaign's terms by current MPs and post holders

    def as_json(self) -> dict[str, Any]:
        """Return the refresh as `outreach refresh --json` prints it."""
        return {
            "snapshot": _describe_json(self.snapshot),
            "previous": _describe_json(self.previous),
            "requests": self.requests,
            "contacts_fetched": self.contacts_fetched,
            "contacts_cached": self.contacts_cached,
            "records_fetched": self.records_fetched,
            "records_cached": self.records_cached,
            "questions": self.questions,
            "vacant_seats": list(self.vacant_seats),
            "changes": self.diff.as_json(),
        }


def _describe_json(snapshot: snapshots.Snapshot) -> dict[str, Any]:
    return {
        "path": str(snapshot.path),
        "kind": snapshot.kind,
        "built": snapshot.built.isoformat(),
        "posts_as_of": snapshot.posts_as_of.isoformat() if snapshot.posts_as_of else None,
        "sources": snapshot.sources,
        "members": len(snapshot.members),
        "posts": len(snapshot.posts),
    }


# ---------------------------------------------------------------- fetching


@dataclass
class _Clients:
    """One polite JSON client per live source, closed together."""

    members: JsonClient
    committees: JsonClient
    postcodes: JsonClient
    questions: JsonClient

    def requests(self) -> dict[str, int]:
        """Return how many requests each source was sent."""
        return {
            "members_api": self.members.requests,
            "committees_api": self.committees.requests,
            "postcodes": self.postcodes.requests,
            "questions_api": self.questions.requests,
        }


@contextmanager
def _clients(origins: Origins, settings: Politeness, **options: Any) -> Iterator[_Clients]:
    """Yield the four clients, closing them however the refresh ends."""
    with ExitStack() as stack:
        made = [
            stack.enter_context(JsonClient(origin, settings, **options))
            for origin in (origins.members_api, origins.committees_api, origins.postcodes, origins.questions_api)
        ]
        yield _Clients(*made)


def _committee_names(
    committees: CommitteesApi, ids: Sequence[int], today: date
) -> tuple[dict[int, list[str]], dict[str, int], list[RecordItem]]:
    """Return each member's committee names (in `ids` order), the committees' sizes, and each seat as a record."""
    by_member: dict[int, list[str]] = {}
    sizes: dict[str, int] = {}
    seats: list[RecordItem] = []
    fetched = fetch_all(lambda committee: (committees.name(committee), committees.members(committee)), ids, workers=4)
    for name, members in fetched:
        sizes[name] = len(members)
        for member in members:
            seats.append(member.record(name, today))
            names = by_member.setdefault(member.member_id, [])
            if name not in names:
                names.append(name)
    return by_member, sizes, seats


def _contacts(
    api: MembersApi,
    cache: ContactCache,
    current: Sequence[ApiMember],
    known: set[int],
    *,
    full: bool,
    moment: datetime,
    progress: Progress | None,
) -> tuple[dict[int, CachedContact], int]:
    """Return every member's contact record, from the cache or fetched (and cached), and how many were fetched."""
    return cached_per_member(
        cache,
        current,
        known,
        api.contact,
        full=full,
        moment=moment,
        workers=api.client.politeness.concurrency,
        progress=progress,
        stage="contacts",
        max_age=CONTACT_MAX_AGE,
    )


@dataclass(frozen=True)
class _Options:
    """How one refresh runs: what it refetches and checks, and what it accepts."""

    full: bool
    verify_sites: bool
    accept_large_change: bool
    moment: datetime
    committees: tuple[int, ...] = ()
    terms: RecordTerms = field(default_factory=RecordTerms)


@dataclass(frozen=True)
class _Fetch:
    """A refresh's fetching: the records, the committees' sizes, and what it cost."""

    records: LiveRecords
    committee_sizes: dict[str, int]
    requests: dict[str, int]
    contacts_fetched: int
    stage: RecordStage


def _members(
    clients: _Clients, previous: snapshots.Snapshot, listed: Sequence[ApiMember], *, accept_large_change: bool
) -> tuple[list[ApiMember], dict[int, MembershipHistory]]:
    """Return the current Commons members, once checked to be plausible, and the histories that checking needed.

    History is fetched for members new to the snapshot (are they new to the Commons?) and for those whose seat is
    now empty (has their membership ended, or is the list short?): outreach/sources/plausible.py.
    """
    current: list[ApiMember] = [m for m in listed if m.house == 1]
    if not current:
        raise SourceError(f"GET {clients.members.origin}/api/Members/Search: no current Commons members")
    plausible.contradictions(current)
    seat_of = seats(current, previous)
    known = {m.member_id for m in previous.members}
    held = set(seat_of.values())
    emptied = [m.member_id for m in previous.members if m.constituency_code not in held]
    asked = [m.member_id for m in current if m.member_id not in known] + emptied
    api = MembersApi(clients.members)
    histories = api.histories(asked, clients.members.politeness.concurrency) if asked else {}
    if not accept_large_change:
        plausible.check_vacancies(seat_of, previous, histories)
        plausible.check_share(seat_of, {m.member_id: m.name for m in current}, previous)
    return current, histories


def _fetch(
    clients: _Clients,
    previous: snapshots.Snapshot,
    home: Path,
    committee_ids: Sequence[int],
    options: _Options,
    progress: Progress | None,
) -> _Fetch:
    """Return everything a refresh needs from the live sources."""
    members_api = MembersApi(clients.members)
    workers = clients.members.politeness.concurrency
    # The member list, both post lists and the committees do not depend on each other: fetch them side by side.
    tasks: list[Callable[[], Any]] = [
        lambda: members_api.current_commons(workers, progress),
        lambda: members_api.posts("government"),
        lambda: members_api.posts("opposition"),
        lambda: _committee_names(CommitteesApi(clients.committees), committee_ids, options.moment.date()),
        lambda: RecordsApi(clients.members).spokespersons(),
    ]
    listed, government, opposition, committees, spokespersons = fetch_all(
        lambda task: task(), tasks, workers=len(tasks)
    )
    current, histories = _members(clients, previous, listed, accept_large_change=options.accept_large_change)
    known = {m.member_id for m in previous.members}
    cache = ContactCache(home)
    contacts, fetched_count = _contacts(
        members_api, cache, current, known, full=options.full, moment=options.moment, progress=progress
    )
    sites = [SiteRow.from_cells(row) for row, _ in read_rows(previous.path / "sites.csv")]
    checks: list[SiteCheck] = []
    if options.verify_sites:
        postcodes = (row.postcode for row in sites if row.postcode)
        answers = PostcodesApi(clients.postcodes).lookup(postcodes, workers=workers, progress=progress)
        sites, checks = verified_sites(sites, answers, previous.constituencies)
    by_member, sizes, seats = committees
    stage = fetch_records(
        RecordSources(clients.members, clients.questions, previous, home),
        current,
        government + opposition,
        spokespersons,
        options.terms,
        since=general_election(previous),
        full=options.full,
        moment=options.moment,
        progress=progress,
    )
    kinds = frozenset({"committee"}) | LIVE_KINDS
    records = LiveRecords(
        current, contacts, by_member, histories, government + opposition, sites, checks, [*seats, *stage.items], kinds
    )
    return _Fetch(records, sizes, clients.requests(), fetched_count, stage)


def _carried(previous: snapshots.Snapshot) -> Carried:
    """Return the snapshot in use's departments, constituencies and known gaps, as rows."""
    folder = previous.path
    gaps_file = folder / "known_gaps.csv"
    return Carried(
        departments=[DepartmentRow.from_cells(row) for row, _ in read_rows(folder / "departments.csv")],
        constituencies=[ConstituencyRow.from_cells(row) for row, _ in read_rows(folder / "constituencies.csv")],
        gaps=[Gap.from_cells(row) for row, _ in read_rows(gaps_file)] if gaps_file.exists() else [],
    )


# ---------------------------------------------------------------- writing


def _sources(
    previous: snapshots.Snapshot, built: Built, live: _Fetch, today: date, verify_sites: bool
) -> dict[str, str]:
    """Return the refreshed snapshot's data date per source."""
    by_elections = [row.by_election_date for row in built.members if row.by_election_date]
    contact_dates = [record.fetched.date() for record in live.records.contacts.values()]
    sources = {
        **previous.sources,
        "members": today.isoformat(),
        "contacts": min(contact_dates).isoformat() if contact_dates else today.isoformat(),
        "posts": today.isoformat(),
        "committees": today.isoformat(),
        "general_election": general_election(previous).isoformat(),
    }
    if by_elections:
        sources["by_elections"] = max(by_elections).isoformat()
    if verify_sites:
        sources["postcodes"] = today.isoformat()
    sources.pop("built", None)
    return sources


def write_snapshot(folder: Path, built: Built, site_checks: Sequence[SiteCheck] | None) -> dict[str, int]:
    """Write a snapshot's CSV files into `folder` and return the rows of each (site_checks.csv when checked)."""
    counts = {
        "members": write_rows(folder / "members.csv", built.members, snapshots.MEMBER_COLUMNS),
        "posts": write_rows(folder / "posts.csv", built.posts, snapshots.POST_COLUMNS),
        "departments": write_rows(folder / "departments.csv", built.departments, snapshots.DEPARTMENT_COLUMNS),
        "sites": write_rows(folder / "sites.csv", built.sites, snapshots.SITE_COLUMNS),
        "constituencies": write_rows(folder / "constituencies.csv", built.constituencies, ConstituencyRow.COLUMNS),
        "known_gaps": write_rows(folder / "known_gaps.csv", built.gaps, snapshots.GAP_COLUMNS),
        "records": write_rows(folder / RECORDS_FILE, built.records, RECORD_COLUMNS),
    }
    if site_checks is not None:
        counts["site_checks"] = write_rows(folder / SITE_CHECKS_FILE, site_checks, SITE_CHECK_COLUMNS)
    return counts


def write_meta(folder: Path, meta: dict[str, Any]) -> None:
    """Write a snapshot's snapshot.json."""
    text = json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (folder / snapshots.META_FILE).write_text(text, encoding="utf-8", newline="\n")


def _publish(home: Path, moment: datetime, fill: Callable[[Path], None]) -> Path:
    """Return the new snapshot folder, filled by `fill` in a temporary folder and renamed only once it loads."""
    folder = home / snapshots.SNAPSHOTS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = _folder_name(moment, folder)
    staging = folder / f".refresh-{name}-{os.getpid()}"
    try:
        staging.mkdir()
        fill(staging)
        snapshots.load(staging)  # a snapshot the loader rejects must never become the one in use
        final = folder / name
        os.rename(staging, final)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutreachError(f"{staging}: cannot write the new snapshot: {exc.strerror}") from None
        raise
    return final


def _folder_name(now: datetime, folder: Path) -> str:
    """Return a new snapshot folder's name: its UTC time, 2026-11-28T101500 (suffixed if that one exists)."""
    name = now.astimezone(UTC).strftime("%Y-%m-%dT%H%M%S")
    candidate, number = name, 1
    while (folder / candidate).exists():
        number += 1
        candidate = f"{name}-{number}"
    return candidate


# ---------------------------------------------------------------- the refresh


class _Tally:
    """What a refresh has fetched so far, stage by stage: said when its deadline stops it."""

    LABELS = {"members": "member list pages", "contacts": "contact records", "postcodes": "postcode batches"}

    def __init__(self, forward: Progress | None) -> None:
        self.forward = forward
        self.stages: dict[str, tuple[int, int]] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.stages[stage] = (done, total)
        if self.forward is not None:
            self.forward(stage, done, total)

    def describe(self, requests: int) -> str:
        """Return what was fetched, e.g. "contact records 412 of 650; 460 requests"."""
        parts = [f"{self.LABELS.get(stage, stage)} {done} of {total}" for stage, (done, total) in self.stages.items()]
        return "; ".join([*parts, f"{requests} requests"])


def _stopped(error: DeadlinePassed, tally: _Tally, clients: _Clients | None) -> DeadlinePassed:
    """Return the deadline's error, saying what had been fetched by then and that nothing was saved."""
    requests = sum(clients.requests().values()) if clients is not None else 0
    return DeadlinePassed(
        f"{error}; fetched by then: {tally.describe(requests)}; nothing saved, the snapshot in use is unchanged"
    )


@contextmanager
def _one_refresh_at_a_time(home: Path) -> Iterator[None]:
    """Hold $OUTREACH_HOME/refresh.lock for a refresh, then clear what killed refreshes left behind.

    Holding the lock proves no other refresh is writing: every `.refresh-*` staging folder and `.part` file in the
    caches found then is a killed run's, never needed again.
    """
    with held_lock(home / REFRESH_LOCK, "refresh"):
        folder = home / snapshots.SNAPSHOTS_FOLDER
        for staging in folder.glob(".refresh-*") if folder.is_dir() else ():
            shutil.rmtree(staging, ignore_errors=True)
        for part in (home / "cache").rglob(".*.part"):
            part.unlink(missing_ok=True)
        yield


def refresh(
    home: Path,
    previous: snapshots.Snapshot,
    origins: Origins,
    *,
    committees: Sequence[int] = (),
    terms: RecordTerms | None = None,
    full: bool = False,
    verify_sites: bool = False,
    accept_large_change: bool = False,
    deadline: float | None = DEFAULT_REFRESH_DEADLINE,
    politeness: Politeness | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    agent: str = USER_AGENT,
) -> RefreshResult:
    """Return a refresh of `previous` from the live sources, written as the newest snapshot under `home`.

    `committees` are the Committees API ids whose members it brings (the campaign's), `terms` the campaign's
    question and interest terms (outreach/sources/member_records.py). Raises SourceError (exit 3) when a source
    fails or answers badly, when the list of MPs is implausible (outreach/sources/plausible.py) unless
    `accept_large_change`, or when fetching outlasts `deadline` seconds; nothing is then written and `previous`
    stays the snapshot in use.
    """
    moment = now or datetime.now(UTC)
    options = _Options(full, verify_sites, accept_large_change, moment, tuple(committees), terms or RecordTerms())
    settings = politeness or Politeness()
    limit = Deadline(deadline)
    tally = _Tally(progress)
    with _one_refresh_at_a_time(home):
        with _clients(origins, settings, transport=transport, sleep=sleep, agent=agent, deadline=limit) as clients:
            try:
                live = _fetch(clients, previous, home, committees, options, tally)
                limit.check("refresh")
            except DeadlinePassed as exc:
                raise _stopped(exc, tally, clients) from None
        return _write(home, previous, origins, live, options)


def _write(
    home: Path, previous: snapshots.Snapshot, origins: Origins, live: _Fetch, options: _Options
) -> RefreshResult:
    """Return the finished refresh, once its snapshot is built and published under `home`."""
    moment, verify_sites = options.moment, options.verify_sites
    today = moment.date()
    built = build(
        previous, fetched(previous, live.records, _carried(previous), today, verify_sites=verify_sites), today
    )
    meta = {
        "kind": "refreshed",
        "built": today.isoformat(),
        "sources": _sources(previous, built, live, today, verify_sites),
        "posts_as_of": today.isoformat(),
        "schema": 1,
        "refreshed_at": moment.astimezone(UTC).isoformat(timespec="seconds"),
        "origins": {
            "members_api": origins.members_api,
            "committees_api": origins.committees_api,
            "questions_api": origins.questions_api,
            **({"postcodes": origins.postcodes} if verify_sites else {}),
        },
        "committees": live.committee_sizes,
        "committee_ids": list(options.committees),
        "record_terms": options.terms.as_json(),
        "questions_since": general_election(previous).isoformat(),
        "vacant_seats": list(built.vacant_seats),
        "previous": str(previous.path),
    }

    def fill(folder: Path) -> None:
        counts = write_snapshot(folder, built, live.records.site_checks if verify_sites else None)
        write_meta(folder, {**meta, "counts": counts})

    fresh = snapshots.load(_publish(home, moment, fill))
    return RefreshResult(
        snapshot=fresh,
        previous=previous,
        diff=diff(previous, fresh, live.records.site_checks),
        requests=live.requests,
        contacts_fetched=live.contacts_fetched,
        contacts_cached=len(live.records.members) - live.contacts_fetched,
        records_fetched=live.stage.fetched,
        records_cached=live.stage.cached,
        questions=live.stage.questions,
        vacant_seats=built.vacant_seats,
    )
