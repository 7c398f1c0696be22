"""Targeting on the embedded snapshot: templates, asks and the rule behind each, local sites, order."""

from __future__ import annotations

from datetime import date

import pytest

from outreach import campaign as campaigns
from outreach.errors import TargetError
from outreach.resources import default_campaign_dir
from outreach.snapshot import Snapshot
from outreach.targeting import (
    Selection,
    Target,
    post_holders,
    post_target,
    resolve_constituencies,
    resolve_members,
    resolve_target,
    seat_target,
    select,
)

TODAY = date(2026, 11, 28)


@pytest.fixture(scope="module")
def ipem() -> campaigns.Campaign:
    return campaigns.load(default_campaign_dir())


def seat(snapshot: Snapshot, ipem: campaigns.Campaign, name: str) -> Target:
    (code,) = resolve_constituencies(snapshot, [name])
    member = snapshot.seat(code)
    assert member is not None
    return seat_target(snapshot, ipem, member)


def minister_in(snapshot: Snapshot, ipem: campaigns.Campaign, department: str, rank: str) -> Target:
    for (kind, _), posts in post_holders(snapshot, ["government"]).items():
        senior = min(posts, key=lambda post: post.seniority)
        if senior.department == department and senior.rank == rank:
            return post_target(snapshot, ipem, kind, posts, TODAY)
    raise AssertionError(f"no {rank} in {department}")


def asks(target: Target) -> list[str]:
    return [chosen.ask.id for chosen in target.asks]


def test_arthur_seat_leads_with_isotopes(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    target = seat(snapshot, ipem, "Dwyfor Meirionnydd")
    assert target.local is not None
    assert [site.site_type for site in target.local.proposed] == ["proposed_isotope_reactor"]
    assert asks(target)[0] == "isotopes"
    assert any("arthur-seat" in reason for reason in target.asks[0].reasons)
    # No radiotherapy centre in the seat: the nearest one, with its distance.
    assert target.local.nearest_centre is not None
    assert 30 < target.local.nearest_centre.km < 120


def test_other_welsh_seats_get_arthur_as_a_national_hook(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    target = seat(snapshot, ipem, "Ynys Môn")
    assert target.local is not None and not target.local.proposed  # the reactor site is not in Ynys Môn
    assert "isotopes" in asks(target)
    assert any("welsh-seat" in reason for chosen in target.asks for reason in chosen.reasons)
    assert "isotopes" not in asks(seat(snapshot, ipem, "Chorley"))


def test_radiotherapy_seat_asks_for_equipment_and_people(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    target = seat(snapshot, ipem, "Aberdeen North")
    assert target.local is not None
    assert target.local.sites[0].site_type == "radiotherapy_centre"
    assert target.local.nearest_centre is None
    assert {"equipment", "workforce"} <= set(asks(target))
    reasons = " ".join(r for chosen in target.asks for r in chosen.reasons)
    assert "radiotherapy-seat" in reasons


def test_health_secretary_is_asked_about_the_nhs_workforce(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    target = minister_in(snapshot, ipem, "DHSC", "SoS")
    assert target.template == "minister"
    assert asks(target)[0] == "workforce"
    assert set(asks(target)) == {"workforce", "registration", "equipment"}
    assert target.address.salutation == "Dear Secretary of State"
    assert "Department of Health and Social Care" in target.address_lines
    assert target.address_lines[-1] == "SW1H 0EU"
    assert "address_unconfirmed" not in target.flags


def test_science_minister_gets_ai_and_isotopes(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    target = minister_in(snapshot, ipem, "DSIT", "SoS")
    assert asks(target)[:2] == ["ai", "isotopes"]


def test_energy_department_has_no_confirmed_address(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    target = minister_in(snapshot, ipem, "DESNZ", "SoS")
    assert asks(target)[:2] == ["isotopes", "net_zero"]
    assert "address_unconfirmed" in target.flags
    assert target.address_lines[-3:] == ("House of Commons", "London", "SW1A 0AA")


def test_lords_minister_goes_to_the_lords_without_email(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    holders = post_holders(snapshot, ["government"])
    key = next(key for key, posts in holders.items() if posts[0].house == "Lords" and posts[0].department == "DESNZ")
    target = post_target(snapshot, ipem, key[0], holders[key], TODAY)
    assert target.address.name_line.startswith(("The Lord", "The Baroness", "Baroness", "Lord"))
    assert target.address_lines[-3:] == ("House of Lords", "London", "SW1A 0PW")
    assert "no_email" in target.flags and target.email is None
    assert "stale_posts" in target.flags  # posts as at 2026-06-19, over 60 days before the letter


def test_speaker_and_abstentionists_get_variants(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    speaker = seat(snapshot, ipem, "Chorley")
    assert speaker.template == "speaker"
    assert set(asks(speaker)) <= {"workforce", "equipment"}
    assert speaker.address.salutation == "Dear Sir Lindsay"
    sinn_fein = [m for m in snapshot.members if m.party == "Sinn Féin"]
    assert len(sinn_fein) == 7
    for member in sinn_fein:
        target = seat_target(snapshot, ipem, member)
        assert target.template == "abstentionist"
        assert "registration" not in asks(target) and "ai" not in asks(target)


def test_new_and_returning_members(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    new = next(m for m in snapshot.members if m.is_new and m.party not in ("Sinn Féin", "Speaker"))
    old = next(m for m in snapshot.members if not m.is_new and m.party not in ("Sinn Féin", "Speaker"))
    assert seat_target(snapshot, ipem, new).template == "new_mp"
    assert seat_target(snapshot, ipem, old).template == "returning_mp"


def test_every_letter_has_two_or_three_asks(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    targets = select(snapshot, ipem, Selection(all=True, allow_stale_posts=True), TODAY).targets
    assert all(2 <= len(target.asks) <= 3 for target in targets)


def test_all_is_every_seat_and_every_post_holder_in_order(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    targets = select(snapshot, ipem, Selection(all=True, allow_stale_posts=True), TODAY).targets
    seats = [t for t in targets if t.kind == "seat"]
    posts = [t for t in targets if t.kind != "seat"]
    assert len(seats) == 650
    assert len(posts) == len({post.member_id for post in snapshot.posts})
    assert [t.kind for t in targets] == ["seat"] * 650 + [t.kind for t in posts]
    names = [t.constituency.name.casefold() for t in seats if t.constituency]
    assert names == sorted(names)
    assert len({t.letter_id for t in targets}) == len(targets)


def test_bare_draft_is_the_campaign_audience(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    targets = select(snapshot, ipem, Selection(allow_stale_posts=True), TODAY).targets
    seats = [t for t in targets if t.kind == "seat"]
    assert all(t.member and (t.member.is_new or t.member.by_election_date) for t in seats)
    assert len(seats) == sum(1 for m in snapshot.members if m.is_new or m.by_election_date)
    assert any(t.kind == "minister" for t in targets)


def test_filters_and_limit(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    welsh = select(snapshot, ipem, Selection(all=True, nation="wales", allow_stale_posts=True), TODAY).targets
    assert welsh and all(t.constituency and t.constituency.nation == "Wales" for t in welsh)
    assert len([t for t in welsh if t.kind == "seat"]) == 32
    assert len(select(snapshot, ipem, Selection(all=True, limit=5), TODAY).targets) == 5


def test_resolving_names(snapshot: Snapshot) -> None:
    assert resolve_constituencies(snapshot, ["ynys mon"]) == resolve_constituencies(snapshot, ["Ynys Môn"])
    assert resolve_members(snapshot, ["Sir Lindsay Hoyle"]) == (467,)
    assert resolve_target(snapshot, "467").members == (467,)
    with pytest.raises(TargetError, match="did you mean 'Ynys Môn'"):
        resolve_target(snapshot, "Ynys Mn")
    with pytest.raises(TargetError, match="no member has id 999999"):
        resolve_members(snapshot, ["999999"])


def test_a_commons_minister_letter_knows_their_seat(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    from outreach.merge import Merger

    target = minister_in(snapshot, ipem, "DHSC", "SoS")
    assert target.home is not None and target.constituency is not None
    letter = Merger(ipem, TODAY).merge(target).letter
    assert f"As the Member for {target.constituency.name}" in letter.markdown
    assert "The NHS employs most of our members" in letter.markdown  # the department's own hook
    holders = post_holders(snapshot, ["government"])
    lords = next(posts for posts in holders.values() if posts[0].house == "Lords")
    assert post_target(snapshot, ipem, "minister", lords, TODAY).home is None
