"""The record clients (Members API Experience, Focus, RegisteredInterests, Spokespersons; Written Questions API)
against the local server on 127.0.0.1 serving the specs' shapes: nulls, empty lists, 404s, nesting, paging."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from parliament_server import ParliamentServer, serving, world_from_snapshot

from outreach import snapshot as snapshots
from outreach.errors import SourceError
from outreach.sources.http import JsonClient, Politeness
from outreach.sources.records import Experience, QuestionsApi, RecordsApi, first_term

SINCE = date(2024, 7, 4)  # the general election the embedded snapshot records
TERMS = ("radiotherapy", "linear accelerator", "MRI", "CT scanner", "medical physics", "clinical scientists")


@pytest.fixture
def server(snapshot: snapshots.Snapshot) -> Iterator[ParliamentServer]:
    with serving(world_from_snapshot(snapshot)) as running:
        yield running


@pytest.fixture
def client(server: ParliamentServer) -> Iterator[JsonClient]:
    with JsonClient(server.url, Politeness(max_rps=0, attempts=1)) as made:
        yield made


def test_a_record_maps_careers_focus_and_interests_and_reads_404_and_null_as_none(
    server: ParliamentServer, client: JsonClient
) -> None:
    world = server.world
    # Debbie Abrahams (4212): a career, no Focus at all (404), one register entry with a payment nested under it.
    world.experience[4212] = [
        {"id": 1, "type": "Non political", "typeId": 2, "title": "Medical physicist", "organisation": None,
         "startMonth": None, "startYear": 1998, "endMonth": None, "endYear": 2004},
        {"id": 2, "type": None, "typeId": 0, "title": None, "organisation": "NHS Digital", "startMonth": None,
         "startYear": None, "endMonth": None, "endYear": None},
    ]  # fmt: skip
    world.focus.pop(4212, None)
    world.interests[4212] = [
        {"id": 1, "name": "Employment and earnings", "sortOrder": 1, "interests": [
            {"id": 7, "interest": "Adviser, a hospital imaging company.", "createdWhen": "2025-01-06T00:00:00",
             "deletedWhen": None, "isCorrection": False, "childInterests": [
                 {"id": 8, "interest": "Received £500.", "deletedWhen": None, "childInterests": None},
                 {"id": 9, "interest": "Removed.", "deletedWhen": "2025-03-01T00:00:00", "childInterests": None},
             ]},
            {"id": 10, "interest": "Gone.", "createdWhen": None, "deletedWhen": "2025-02-01T00:00:00"},
        ]},
        {"id": 2, "name": "Land and property", "sortOrder": 2, "interests": None},
    ]  # fmt: skip
    world.experience[4514] = None  # {"value": null}
    world.focus[4514] = []
    world.interests.pop(4514, None)

    raw, record = RecordsApi(client).record(4212)
    assert [e.title or e.organisation for e in record.experience] == ["Medical physicist", "NHS Digital"]
    assert [e.years() for e in record.experience] == ["1998–2004", ""]
    assert record.focus == ()
    assert [(i.category, i.text, i.registered) for i in record.interests] == [
        ("Employment and earnings", "Adviser, a hospital imaging company. — Received £500.", date(2025, 1, 6))
    ]
    assert record.interests[0].touches(("science", "imaging")) == "imaging"
    assert raw["focus"] == []
    _, empty = RecordsApi(client).record(4514)
    assert (empty.experience, empty.focus, empty.interests) == ((), (), ())
    assert len(server.requests("/api/Members/4514/")) == 3


@pytest.mark.parametrize(
    ("endpoint", "body", "message"),
    [
        (
            "experience",
            [{"id": 1, "title": ["Nurse"]}],
            "Experience: item 0: 'title' should be string or null, got array",
        ),
        ("experience", {"id": 1}, "/Experience: 'value' should be array or null, got object"),
        (
            "focus",
            [{"category": "Political", "focus": [3]}],
            "Focus: item 0: focus item 0 should be string, got number",
        ),
        ("interests", [{"name": "Gifts", "interests": ["a"]}], "interest 0: expected a JSON object, got string"),
        ("experience", [{"startYear": "1998"}], "'startYear' should be number or null, got string"),
    ],
    ids=["text-as-list", "value-as-object", "focus-number", "interest-string", "year-as-text"],
)
def test_a_malformed_record_is_one_line_naming_the_member_endpoint_and_field(
    server: ParliamentServer, client: JsonClient, endpoint: str, body: Any, message: str
) -> None:
    getattr(server.world, endpoint)[4212] = body
    with pytest.raises(SourceError) as raised:
        RecordsApi(client).record(4212)
    text = str(raised.value)
    assert "\n" not in text and "/api/Members/4212" in text and message in text


def test_spokespersons_name_the_departments_each_lords_whip_answers_for(client: JsonClient) -> None:
    holdings = RecordsApi(client).spokespersons()
    by_member = {h.member_id: h for h in holdings}
    assert len(holdings) == 7 and by_member[1603].house == "Lords"  # the seven Lords whips, Lord Wilson among them
    assert by_member[1603].departments == (
        "Department of Health and Social Care",
        "Department for Science, Innovation and Technology",
    )


def test_questions_page_past_a_capped_take_keep_current_askers_and_merge_terms(
    server: ParliamentServer, client: JsonClient, snapshot: snapshots.Snapshot
) -> None:
    server.world.questions_page_cap = 7  # the service gives fewer than the 100 asked: paging must follow it
    askers = {m.member_id for m in snapshot.members} | {p.member_id for p in snapshot.posts}
    found = QuestionsApi(client).questions(TERMS, SINCE, askers, workers=4)
    served = server.world.questions

    def expected(term: str) -> set[int]:
        return {
            q["id"]
            for q in served
            if term.casefold() in f"{q['heading']} {q['questionText']}".casefold()
            and q["dateTabled"] >= "2024-07-04"
            and q["askingMemberId"] in askers
        }

    every = set().union(*(expected(term) for term in TERMS))
    assert {q.question_id for q in found} == every and len(found) == len(every) > 20
    assert all(q.member_id in askers and q.tabled >= SINCE for q in found)
    scanners = next(q for q in found if q.heading == "Diagnosis: MRI and CT Scanner Capacity")
    assert scanners.terms == ("MRI", "CT scanner")
    assert [q.tabled for q in found] == sorted((q.tabled for q in found), reverse=True)
    assert any(q.house == "Lords" and q.uin.startswith("HL") for q in found)
    pages = server.requests("/api/writtenquestions/questions")
    assert all("tabledWhenFrom=2024-07-04" in line for line in pages)
    assert len(pages) >= len(TERMS) + len(every) // 7


def test_a_question_without_a_date_fails_with_one_line(server: ParliamentServer, client: JsonClient) -> None:
    server.world.questions[0]["dateTabled"] = None
    server.world.questions[0]["heading"] = "Radiotherapy"
    with pytest.raises(SourceError, match=r"searchTerm=radiotherapy&skip=0: item \d+ \(question \d+\): 'dateTabled'"):
        QuestionsApi(client).questions(
            ["radiotherapy"], date(2000, 1, 1), {server.world.questions[0]["askingMemberId"]}, 2
        )


def test_an_interest_touches_a_term_only_at_a_words_start() -> None:
    assert first_term("Healthcare consultancy", ["health", "healthcare"]) == "healthcare"
    assert first_term("Unhealthy snacks ltd", ["health"]) is None
    assert first_term("Two tickets, hospitality at a match", ["hospital"]) is None
    assert first_term("Trustee of two  HOSPITALS", ["NHS", "hospital"]) == "hospital"
    assert first_term("Adviser, life   sciences fund", ["life sciences"]) == "life sciences"
    assert Experience(None, "", "Nurse", "", 2019, None).years() == "2019–"
