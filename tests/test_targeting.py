"""Targeting on the embedded snapshot: templates, asks and the rule behind each, local sites, order."""

from __future__ import annotations

from datetime import date

import pytest

from outreach import campaign as campaigns
from outreach.address import OverrideRow
from outreach.changes import KnownChange
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


def test_bare_draft_with_stale_posts_writes_seat_letters_only_and_says_why(
    snapshot: Snapshot, ipem: campaigns.Campaign
) -> None:
    chosen = select(snapshot, ipem, Selection(), TODAY)
    assert chosen.targets and all(t.kind == "seat" for t in chosen.targets)
    [stale] = [note for note in chosen.notes if "post holders' letters" in note]
    assert f"as at {snapshot.posts_as_of}" in stale and "outreach refresh" in stale and "--allow-stale-posts" in stale
    audience = {m.member_id for m in snapshot.members if m.is_new or m.by_election_date}
    assert {t.member_id for t in chosen.targets} <= audience


def test_bare_draft_is_the_audience_one_letter_each_with_office_changes_left_out(
    snapshot: Snapshot, ipem: campaigns.Campaign
) -> None:
    changed = {
        1427: [_change(1427, "Andy Burnham", "took office (as Prime Minister)")],
        4514: [_change(4514, "Keir Starmer", "left office")],
    }
    chosen = select(snapshot, ipem, Selection(allow_stale_posts=True), TODAY, changed=changed)
    targets = chosen.targets
    by_member: dict[int, list[str]] = {}
    for target in targets:
        by_member.setdefault(target.member_id, []).append(target.kind)
    assert all(len(kinds) == 1 for kinds in by_member.values())  # one person, one letter
    holders = {post.member_id for post in snapshot.posts}
    seats = [t for t in targets if t.kind == "seat"]
    assert all(t.member and (t.member.is_new or t.member.by_election_date) for t in seats)
    # A new MP who holds a post gets the post letter, which speaks of their seat.
    assert not any(t.member_id in holders and t.member_id in by_member and t.kind == "seat" for t in seats)
    assert any(t.kind == "minister" and t.member and t.member.is_new and t.home for t in targets)
    # Commons whips whose only posts are whips' posts are not lobbied; post holders with another post are.
    whips_only = {
        member_id
        for member_id in holders
        if all(p.department.startswith("Whip") for p in snapshot.posts_of(member_id)) and snapshot.posts_of(member_id)
    }
    assert whips_only and not whips_only & set(by_member)
    # Andy Burnham (Makerfield by-election) took office after the posts' date; Keir Starmer left it: neither is written
    # to as what the snapshot says they are, and the note says so.
    assert 1427 not in by_member and 4514 not in by_member
    [note] = [note for note in chosen.notes if "office changed" in note]
    assert "Andy Burnham" in note and "Keir Starmer" in note and "--member" in note


def test_office_changes_are_flagged_under_all(snapshot: Snapshot, ipem: campaigns.Campaign) -> None:
    changed = {1427: [_change(1427, "Andy Burnham", "took office (as Prime Minister)")]}
    targets = select(snapshot, ipem, Selection(all=True, allow_stale_posts=True), TODAY, changed=changed).targets
    flagged = {t.letter_id for t in targets if "office_changed" in t.flags}
    assert flagged == {"1427-seat"}
    kinds = [t.kind for t in targets if t.member_id == 4514]
    assert sorted(kinds) == ["minister", "seat"]  # --all: every seat and every post holder


def _change(member_id: int, name: str, change: str) -> KnownChange:
    return KnownChange(date(2026, 7, 20), member_id, name, change, "Prime Minister", "reported", "a report", "test:2")


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
    assert "Your department answers for the NHS in England" in letter.markdown  # the department's own hook
    holders = post_holders(snapshot, ["government"])
    lords = next(posts for posts in holders.values() if posts[0].house == "Lords")
    assert post_target(snapshot, ipem, "minister", lords, TODAY).home is None


def test_abstentionist_mps_are_written_to_at_their_constituency_office(
    snapshot: Snapshot, ipem: campaigns.Campaign
) -> None:
    targets = select(snapshot, ipem, Selection(all=True, allow_stale_posts=True), TODAY).targets
    abstentionists = [t for t in targets if t.template == "abstentionist"]
    assert len(abstentionists) == 7
    for target in abstentionists:
        assert target.member is not None
        if target.member.constituency_office:
            assert target.address_lines[1:] == target.member.constituency_office
            assert "address_unconfirmed" not in target.flags
        else:  # no office known: the House, flagged for a person to find one
            assert target.address_lines[1:] == target.member.parliamentary_address
            assert "address_unconfirmed" in target.flags
    assert any(not t.flags.count("address_unconfirmed") for t in abstentionists)
    # A row of the campaign's overrides with an address (and its source in the note) is used as it stands.
    overrides = {5261: OverrideRow(5261, "", "", "a source", ("Constituency Office", "1 High Street", "BT74 1AA"))}
    [cullen] = select(snapshot, ipem, Selection(members=(5261,)), TODAY, overrides).targets
    assert cullen.address_lines[1:] == ("Constituency Office", "1 High Street", "BT74 1AA")
    assert "address_unconfirmed" not in cullen.flags
