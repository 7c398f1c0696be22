"""Is a refresh's list of MPs one to trust? Checked before anything is fetched for it, and before anything is written.

A truncated or garbled answer from the Members API must not replace the list of MPs that letters go to. A refresh
is refused (exit 3, the snapshot in use untouched) when:

- the list contradicts itself: a member id listed twice (with the same seat or, worse, with two seats), or a seat
  with two members — no snapshot can be built from such a list, so `--accept-large-change` does not let it through;
- seats are empty without the API saying why: every seat with no member in the list must have been vacant in the
  snapshot in use already, or have lost its member by an end of membership the API itself records
  (`/api/Members/History`: `membershipEndDate`, `membershipEndReason`) — a member who simply is not listed, and
  whose membership has not ended, means the list is short;
- more than `LARGE_CHANGE_SHARE` of the seats (10%: 65 of 650) would change MP at once. By-elections change a
  handful of seats a year (6 from July 2024 to August 2026); only a general election changes more — then run
  `refresh --accept-large-change`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from outreach import snapshot as snapshots
from outreach.errors import SourceError
from outreach.sources.parliament import ApiMember, MembershipHistory

LARGE_CHANGE_SHARE = 0.10  # of the seats: more changing MP at once is refused without --accept-large-change
SHOWN = 3  # records named in a refusal; the count says how many more
ACCEPT = "--accept-large-change"


class RefreshRefused(SourceError):
    """A refresh's list of members is implausible against the snapshot in use: nothing is written."""


def _named(items: Sequence[str]) -> str:
    """Return the first few items joined, with how many more there are."""
    shown = "; ".join(items[:SHOWN])
    return shown + (f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _refuse(reason: str, *, can_accept: bool) -> RefreshRefused:
    """Return the one-line refusal: what was wrong, and whether --accept-large-change would let it through."""
    advice = (
        f"; if Parliament really changed this much (a general election), run again with {ACCEPT}"
        if can_accept
        else f"; {ACCEPT} cannot accept a list that contradicts itself"
    )
    return RefreshRefused(f"refresh refused: {reason}{advice}; the snapshot in use is unchanged")


def contradictions(members: Sequence[ApiMember]) -> None:
    """Raise RefreshRefused, naming the records, when a member id is listed more than once."""
    counts = Counter(member.member_id for member in members)
    twice = [member_id for member_id, count in counts.items() if count > 1]
    if not twice:
        return
    described = []
    for member_id in twice:
        listed = [member for member in members if member.member_id == member_id]
        seats = sorted({f"{m.constituency} ({m.constituency_id})" for m in listed})
        where = f"for two seats: {' and '.join(seats)}" if len(seats) > 1 else f"{len(listed)} times"
        described.append(f"member {member_id} ({listed[0].name}) is listed {where}")
    raise _refuse(f"the Members API's list of current MPs contradicts itself: {_named(described)}", can_accept=False)


def two_members(seat: str, first: ApiMember, second: ApiMember) -> RefreshRefused:
    """Return the refusal of a list giving one seat two members."""
    both = f"{first.member_id} ({first.name}) and {second.member_id} ({second.name})"
    return _refuse(f"the Members API lists two current members for {seat}: {both}", can_accept=False)


def _holders(previous: snapshots.Snapshot) -> dict[str, tuple[int, str]]:
    """Return each seat's member in the snapshot in use: (member id, name) by ONS code."""
    return {member.constituency_code: (member.member_id, member.name) for member in previous.members}


def check_vacancies(
    seat_of: Mapping[int, str], previous: snapshots.Snapshot, histories: Mapping[int, MembershipHistory]
) -> None:
    """Raise RefreshRefused when seats are empty that were held and whose member the API does not say has left."""
    before = _holders(previous)
    held = set(seat_of.values())
    unexplained = []
    for code in sorted(set(previous.constituencies) - held):
        if code not in before:
            continue  # vacant in the snapshot in use already
        member_id, name = before[code]
        history = histories.get(member_id)
        if member_id in seat_of or history is None or history.left is None:
            unexplained.append(f"{previous.constituencies[code].name}: {name} ({member_id})")
    if unexplained:
        seats = len(previous.constituencies)
        vacancies = seats - len(held) - len(unexplained)
        reason = (
            f"the Members API lists {len(held)} current MPs for {seats} seats, {seats - len(held)} short, "
            f"and only {vacancies} of the empty seats are known vacancies; {len(unexplained)} seats lost their MP "
            f"without the API recording an end of membership: {_named(unexplained)}"
        )
        raise _refuse(reason, can_accept=True)


def check_share(seat_of: Mapping[int, str], names: Mapping[int, str], previous: snapshots.Snapshot) -> None:
    """Raise RefreshRefused when more than LARGE_CHANGE_SHARE of the seats would change MP at once."""
    before = _holders(previous)
    now = {code: member_id for member_id, code in seat_of.items()}
    changed = [code for code in sorted(previous.constituencies) if (before.get(code) or (None, ""))[0] != now.get(code)]
    seats = len(previous.constituencies)
    allowed = math.floor(seats * LARGE_CHANGE_SHARE)
    if len(changed) <= allowed:
        return
    examples = []
    for code in changed:
        old = f"{before[code][1]} ({before[code][0]})" if code in before else "vacant"
        new = f"{names[now[code]]} ({now[code]})" if code in now else "vacant"
        examples.append(f"{previous.constituencies[code].name}: {old} → {new}")
    reason = (
        f"{len(changed)} of {seats} seats ({len(changed) / seats:.0%}) would change MP at once, more than "
        f"{LARGE_CHANGE_SHARE:.0%} ({allowed} seats): {_named(examples)}"
    )
    raise _refuse(reason, can_accept=True)
