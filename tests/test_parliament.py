"""The live-source clients with httpx.MockTransport: paging, bare arrays, retries, Retry-After, rate cap, bad bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from outreach import settings
from outreach.errors import OutreachError, SourceError
from outreach.sources.build import names_from_list_as, rank_of
from outreach.sources.contacts import CachedContact, refetch_reason
from outreach.sources.fields import Json
from outreach.sources.http import JsonClient, Politeness, RateCap
from outreach.sources.parliament import ApiMember, Contact, MembersApi, PostHolding
from outreach.sources.postcodes import PostcodesApi

SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "members-api"
ORIGIN = "https://members-api.parliament.uk"


def client(handler: Callable[[httpx.Request], httpx.Response], **politeness: Any) -> tuple[JsonClient, list[float]]:
    """Return a client on a mock transport whose sleeps are recorded, not slept."""
    slept: list[float] = []
    settings_ = Politeness(**{"max_rps": 0, **politeness})
    return JsonClient(ORIGIN, settings_, transport=httpx.MockTransport(handler), sleep=slept.append), slept


def member(member_id: int, name: str) -> dict[str, Any]:
    return {
        "id": member_id,
        "nameDisplayAs": name,
        "nameListAs": name,
        "nameFullTitle": f"{name} MP",
        "nameAddressAs": None,
        "latestParty": {"id": 15, "name": "Labour", "abbreviation": "Lab"},
        "gender": "F",
        "latestHouseMembership": {"membershipFrom": "Somewhere", "membershipFromId": 4000 + member_id, "house": 1},
    }


def test_search_pages_on_skip_and_stops_at_total_though_the_last_page_links_to_itself() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        skip = int(request.url.params["skip"])
        assert request.url.params["take"] == "20" and request.url.params["House"] == "1"
        items = [{"value": member(n, f"Member {n}"), "links": []} for n in range(skip, min(skip + 20, 45))]
        this = f"/Members/Search?skip={skip}&take=20"
        return httpx.Response(
            200, json={"items": items, "totalResults": 45, "links": [{"rel": "page.next", "href": this}]}
        )

    found = MembersApi(client(handler)[0]).current_commons(workers=4)
    assert [m.member_id for m in found] == list(range(45))
    assert len(seen) == 3


def test_search_stops_at_an_empty_page_when_total_results_promised_more() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        skip = int(request.url.params["skip"])
        items = [{"value": member(n, f"Member {n}"), "links": []} for n in range(skip, min(skip + 20, 30))]
        return httpx.Response(200, json={"items": items, "totalResults": 100})

    api_client, _ = client(handler)
    assert len(MembersApi(api_client).current_commons(workers=1)) == 30
    assert api_client.requests == 5  # pages at 0, 20, 40, 60, 80: the empty ones end the list


def test_posts_are_a_bare_array_and_only_holders_without_an_end_date_count() -> None:
    body = [
        {
            "value": {
                "id": 7,
                "name": "Secretary of State for Health and Social Care",
                "governmentDepartments": [{"id": 17, "name": "Department of Health and Social Care"}],
                "postHolders": [
                    {"member": {"value": member(1, "Now Holder")}, "startDate": "2026-07-21T00:00:00", "endDate": None},
                    {
                        "member": {"value": member(2, "Past Holder")},
                        "startDate": "2024-07-05T00:00:00",
                        "endDate": "2026-07-20T00:00:00",
                    },
                ],
            },
            "links": [],
        }
    ]
    api_client, _ = client(lambda request: httpx.Response(200, json=body))
    holders = MembersApi(api_client).posts("government")
    assert holders == [
        PostHolding(
            post_id=7,
            post="Secretary of State for Health and Social Care",
            kind="government",
            member_id=1,
            name="Now Holder",
            house="Commons",
            start_date=datetime(2026, 7, 21).date(),
            departments=("Department of Health and Social Care",),
        )
    ]


def test_a_text_plain_500_is_retried_with_growing_waits_then_named_in_one_line() -> None:
    api_client, slept = client(
        lambda request: httpx.Response(500, text="error code: 500", headers={"Content-Type": "text/plain"}),
        attempts=4,
    )
    with pytest.raises(SourceError) as failure:
        api_client.get("/api/Members/4514/Contact")
    assert str(failure.value) == (
        f"GET {ORIGIN}/api/Members/4514/Contact: HTTP 500 text/plain 'error code: 500' (gave up after 4 attempts)"
    )
    assert api_client.requests == 4 and len(slept) == 3
    # Exponential backoff with jitter: each wait within [step/2, step], the step doubling from 0.5 s.
    for wait, step in zip(slept, (0.5, 1.0, 2.0), strict=True):
        assert step / 2 <= wait <= step


def test_429_waits_as_long_as_retry_after_says() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={"value": []})])
    api_client, slept = client(lambda request: next(answers))
    assert api_client.get("/api/Members/1/Contact") == {"value": []}
    assert slept == [3.0]


def test_a_retry_after_longer_than_the_longest_wait_fails_at_once() -> None:
    api_client, slept = client(lambda request: httpx.Response(429, headers={"Retry-After": "3600"}), max_wait=30)
    with pytest.raises(SourceError, match="Retry-After asks 3600 s, more than 30 s"):
        api_client.get("/api/Posts/GovernmentPosts")
    assert slept == []


def test_connection_resets_and_timeouts_are_retried() -> None:
    failures: list[Exception] = [
        httpx.ReadError("Connection reset by peer"),
        httpx.ReadTimeout("timed out"),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        if failures:
            raise failures.pop(0)
        return httpx.Response(200, json=[])

    api_client, slept = client(handler)
    assert api_client.get("/api/Posts/OppositionPosts") == []
    assert api_client.requests == 3 and len(slept) == 2


def test_the_retry_budget_bounds_the_total_wait() -> None:
    api_client, slept = client(lambda request: httpx.Response(503), attempts=10, backoff=1, retry_budget=2)
    with pytest.raises(SourceError, match=r"retry time of 2 s used up"):
        api_client.get("/api/Members/Search")
    assert sum(slept) <= 2


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        (
            "application/json",
            b'{"items": [{"value": {"id": 1',
            "invalid JSON: the body ends after 29 bytes, before the JSON does (truncated",
        ),
        ("text/html", b"<html>Service Unavailable</html>", "answered text/html, not JSON: '<html>Service"),
        ("application/json", b'{"items": [}', "invalid JSON at line 1 column 12: Expecting value"),
        ("application/json", b"", "empty body (application/json), expected JSON"),
        ("application/json", b'{"name": "\xd3rfhlaith"}', "the body is not UTF-8 text"),
    ],
)
def test_a_body_that_is_not_json_is_one_clear_line(content_type: str, body: bytes, message: str) -> None:
    api_client, _ = client(lambda request: httpx.Response(200, content=body, headers={"Content-Type": content_type}))
    with pytest.raises(SourceError) as failure:
        api_client.get("/api/Members/Search", {"skip": 0})
    assert str(failure.value).startswith(f"GET {ORIGIN}/api/Members/Search?skip=0: ")
    assert message in str(failure.value) and "\n" not in str(failure.value)


def test_json_without_a_charset_is_read_as_utf_8() -> None:
    body = json.dumps({"value": [{"type": "Parliamentary office", "email": "órfhlaith.begley.mp@parliament.uk"}]})
    api_client, _ = client(
        lambda request: httpx.Response(200, content=body.encode("utf-8"), headers={"Content-Type": "application/json"})
    )
    entries = MembersApi(api_client).contact(4813)
    assert entries[0]["email"] == "órfhlaith.begley.mp@parliament.uk"


def test_the_rate_cap_spaces_requests_across_callers() -> None:
    slept: list[float] = []
    cap = RateCap(5, sleep=slept.append)
    for _ in range(4):
        cap.wait()
    assert len(slept) == 3
    for index, wait in enumerate(slept, 1):
        assert index * 0.2 - 0.05 <= wait <= index * 0.2 + 0.001
    uncapped: list[float] = []
    for _ in range(4):
        RateCap(0, sleep=uncapped.append).wait()
    assert uncapped == []


def test_postcodes_are_looked_up_at_most_100_a_request() -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked = json.loads(request.content)["postcodes"]
        sizes.append(len(asked))
        result = [{"query": p, "result": {"codes": {"parliamentary_constituency_2024": "E14001162"}}} for p in asked]
        return httpx.Response(200, json={"status": 200, "result": result})

    api_client, _ = client(handler)
    postcodes = [f"HP{n // 10} {n % 10}JD" for n in range(250)]
    found = PostcodesApi(api_client).lookup(postcodes + ["hp0 0jd"], workers=3)
    assert sorted(sizes) == [50, 100, 100] and len(found) == 250
    assert found["HP00JD"].constituency_code == "E14001162"


def test_contact_record_maps_email_and_postal_offices_from_the_recorded_body() -> None:
    path = SHARED / "member-4514-contact.snommoc-annotated.json"
    if not path.exists():
        pytest.skip("../shared/fixtures/members-api is not present in this checkout")
    contact = Contact.from_api(json.loads(path.read_text(encoding="utf-8"))["value"])
    assert contact.email == "keir.starmer.mp@parliament.uk"
    assert contact.parliamentary_address == ("House of Commons", "London", "SW1A 0AA")
    assert contact.constituency_office == ()  # "Constituency Office" with no postcode is no postal address
    assert Contact.from_api([]) == Contact(None, (), ())


def test_search_items_map_from_the_recorded_page() -> None:
    path = SHARED / "members-search-house1-current-skip0-take3.json"
    if not path.exists():
        pytest.skip("../shared/fixtures/members-api is not present in this checkout")
    page = json.loads(path.read_text(encoding="utf-8"))
    found = [ApiMember.from_api(Json(item["value"], "recorded")) for item in page["items"]]
    assert [(m.member_id, m.address_as, m.constituency_id) for m in found] == [
        (172, "Ms Abbott", 4074),
        (5131, None, 4117),
        (4212, "Debbie Abrahams", 4230),
    ]
    assert found[1].party == "Labour (Co-op)" and str(found[0].membership_start) == "1987-06-11"


def test_origins_follow_flag_then_environment_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OUTREACH_API_URL", raising=False)
    assert settings.members_api() == "https://members-api.parliament.uk"
    monkeypatch.setenv("OUTREACH_API_URL", "http://127.0.0.1:8080/")
    assert settings.members_api() == "http://127.0.0.1:8080"
    assert settings.members_api("http://127.0.0.1:9090") == "http://127.0.0.1:9090"
    monkeypatch.setenv("OUTREACH_POSTCODES_URL", "http://127.0.0.1:7070")
    assert settings.postcodes_api() == "http://127.0.0.1:7070"
    monkeypatch.delenv("OUTREACH_COMMITTEES_API_URL", raising=False)
    assert settings.committees_api() == "https://committees-api.parliament.uk"
    with pytest.raises(OutreachError, match="--api-url: 'members-api.parliament.uk' is not an origin such as https://"):
        settings.members_api("members-api.parliament.uk")


def test_a_contact_is_refetched_only_when_new_renamed_switched_old_or_full() -> None:
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    api_member = ApiMember.from_api(Json(member(1, "Ann Example"), "test"))
    fresh = CachedContact(1, "Ann Example", "Labour", now - timedelta(days=6), [])
    assert refetch_reason(api_member, fresh, known=True, full=False, now=now) is None
    assert refetch_reason(api_member, fresh, known=True, full=True, now=now) == "full"
    assert refetch_reason(api_member, None, known=True, full=False, now=now) == "new"
    assert refetch_reason(api_member, fresh, known=False, full=False, now=now) == "new"
    renamed = CachedContact(1, "Ann Old", "Labour", now, [])
    assert refetch_reason(api_member, renamed, known=True, full=False, now=now) == "renamed"
    switched = CachedContact(1, "Ann Example", "Green Party", now, [])
    assert refetch_reason(api_member, switched, known=True, full=False, now=now) == "party"
    old = CachedContact(1, "Ann Example", "Labour", now - timedelta(days=8), [])
    assert refetch_reason(api_member, old, known=True, full=False, now=now) == "old"


@pytest.mark.parametrize(
    ("post", "kind", "rank"),
    [
        ("Prime Minister and First Lord of the Treasury", "government", "PM"),
        ("Secretary of State for Health and Social Care", "government", "SoS"),
        ("Minister of State (Department of Health and Social Care)", "government", "MoS"),
        ("Parliamentary Under-Secretary (Department for Science, Innovation and Technology)", "government", "PUSS"),
        ("Lord Commissioner (HM Treasury) (Whip)", "government", "Parl."),
        ("Leader of the Opposition", "opposition", "PM"),
        ("Shadow Secretary of State for Health and Social Care", "opposition", "SoS"),
        ("Shadow Minister (Health and Social Care)", "opposition", "MoS"),
        ("Shadow Home Secretary", "opposition", "SoS"),
    ],
)
def test_a_new_posts_rank_comes_from_its_title(post: str, kind: str, rank: str) -> None:
    assert rank_of(post, kind) == rank


def test_given_names_and_surname_come_from_name_list_as() -> None:
    assert names_from_list_as("Abbott, Ms Diane") == ("Diane", "Abbott")
    assert names_from_list_as("Saville Roberts, Rt Hon Liz") == ("Liz", "Saville Roberts")
    assert names_from_list_as("Hoyle, Sir Lindsay") == ("Lindsay", "Hoyle")
