"""`outreach report`: the hex maps, counts and near-identical figures of a real campaign, read back from the files.

The campaign is the shipped IPEM 2024 one on the embedded snapshot: an outbox of the Welsh seats' letters, and a
contact log holding letters sent, replied to (each outcome), failed, uncertain, a peer's letter and another
campaign's letter. map.svg is parsed with xml.etree, index.html with html.parser; a browser test opens index.html
in headless Chromium and looks at the pixels.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
from browser import axe_violations, chromium, horizontal_overflow
from commands import manifest, run

from outreach import campaign as campaigns
from outreach import report as reporting
from outreach import settings
from outreach import snapshot as snapshots
from outreach.errors import ExitCode
from outreach.ledger import DATABASE_FILE, Ledger, NewContact, Queued
from outreach.report import outline_edges
from outreach.resources import default_campaign_dir, embedded_snapshot_dir
from outreach.similarity import Pair, Similarity

SVG = "{http://www.w3.org/2000/svg}"
CAMPAIGN = "ipem-2024"
TODAY = date.today()  # the command counts follow-ups up to today, so the log is dated relative to it
LONG_AGO = datetime.combine(TODAY - timedelta(days=90), time(12), UTC)
REPLIED_ON = TODAY - timedelta(days=60)
# Welsh seats (all in the outbox below), by member id: what the contact log says of each.
REPLIED = {5085: "meeting", 1383: "substantive", 5113: "acknowledgement", 3928: "declined"}  # Ynys Môn first
UNANSWERED = {5284: "David Chadwick", 4572: "Chris Elmore"}  # sent long ago, no reply: follow-ups due
SENT_TODAY = 5177  # Ann Davies, Caerfyrddin: sent, not yet due
OTHER_CAMPAIGN = 4040  # Chris Evans, Caerphilly: written to in another campaign only, so still "drafted" here
FAILED, UNCERTAIN = 4602, 4366  # Wera Hobhouse (Bath), Sir James Cleverly (Braintree): e-mails, not in the outbox
PEER = (5365, "Lord Hermer")  # a minister in the Lords: no seat, no hex


@dataclass
class Node:
    """An element of a parsed HTML page: tag, attributes, children and text."""

    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.parts) + "".join(child.text() for child in self.children)

    def all(self, tag: str, **attrs: str) -> list[Node]:
        found = [self] if self.tag == tag and all(self.attrs.get(k) == v for k, v in attrs.items()) else []
        for child in self.children:
            found += child.all(tag, **attrs)
        return found

    def by_id(self, wanted: str) -> Node:
        for node in self.walk():
            if node.attrs.get("id") == wanted:
                return node
        raise AssertionError(f"no element with id {wanted}")

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


class TreeBuilder(HTMLParser):
    """A small DOM from html.parser: enough to find tables, figures and SVG shapes by id and class."""

    VOID = {"meta", "link", "br", "img", "input", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].parts.append(data)


def page(path: Path) -> Node:
    builder = TreeBuilder()
    builder.feed(path.read_text(encoding="utf-8"))
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def table(root: Node, table_id: str) -> dict[str, list[str]]:
    """Return a table's body rows keyed by their first cell."""
    rows = root.by_id(table_id).all("tbody")[0].all("tr")
    return {row.children[0].text(): [cell.text() for cell in row.children[1:]] for row in rows}


def seats(svg: ElementTree.Element) -> list[ElementTree.Element]:
    return [path for path in svg.iter(f"{SVG}path") if path.get("class") == "seat"]


def legend(svg: ElementTree.Element) -> dict[str, tuple[str, int]]:
    """Return the legend of a map as {category: (label as shown, count)}."""
    entries = {}
    for entry in svg.iter(f"{SVG}g"):
        if entry.get("class") == "legend-entry":
            text = entry.find(f"{SVG}text")
            assert text is not None
            entries[entry.get("data-category", "")] = (text.text or "", int(entry.get("data-count", "-1")))
    return entries


@pytest.fixture(scope="module")
def welsh_outbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real outbox: every Welsh seat letter and Welsh post holder's letter, as Markdown (drafted once)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_HOME", str(tmp_path_factory.mktemp("draft-home")))
        out = tmp_path_factory.mktemp("drafted") / "outbox"
        _, stderr = run(
            "draft", "--all", "--allow-stale-posts", "--nation", "Wales", "--format", "md", "--out", str(out)
        )
        yield out


def _sent(
    member_id: int, name: str, *, kind: str = "seat", when: datetime = LONG_AGO, campaign: str = CAMPAIGN
) -> NewContact:
    return NewContact(
        campaign=campaign,
        letter_id=f"{member_id}-{kind}",
        channel="post",
        member_id=member_id,
        name=name,
        recipient=f"{name} MP | House of Commons | London | SW1A 0AA",
        asks=("workforce", "equipment", "registration"),
        content_sha256="9f2c" * 16,
        sent_at=when,
    )


@pytest.fixture
def logged(welsh_outbox: Path) -> Path:
    """Fill this test's contact log with a realistic mix of states; return the log file."""
    rows = {int(row["member_id"]): row for row in manifest(welsh_outbox) if row["kind"] == "seat"}
    with Ledger.open_default() as ledger:
        entries = [_sent(number, rows[number]["name"]) for number in (*REPLIED, *UNANSWERED)]
        entries.append(_sent(SENT_TODAY, rows[SENT_TODAY]["name"], when=datetime.now(UTC)))
        entries.append(_sent(OTHER_CAMPAIGN, rows[OTHER_CAMPAIGN]["name"], campaign="other-2023"))
        entries.append(_sent(PEER[0], PEER[1], kind="minister"))
        ledger.record_all(entries)
        for number, outcome in REPLIED.items():
            ledger.reply(number, outcome=outcome, reply_date=REPLIED_ON, campaign=CAMPAIGN)
        for number, name in ((FAILED, "Wera Hobhouse"), (UNCERTAIN, "Sir James Cleverly")):
            ledger.enqueue_all(
                [
                    Queued(
                        CAMPAIGN,
                        f"{number}-seat",
                        "email",
                        number,
                        name,
                        "mp@parliament.uk",
                        ("workforce",),
                        "ab" * 32,
                        None,
                    )
                ]
            )
            ledger.begin_sending(CAMPAIGN, f"{number}-seat", "email")
        ledger.mark_failed(CAMPAIGN, f"{FAILED}-seat", "email", "550 mailbox unavailable")
        ledger.mark_uncertain(CAMPAIGN, f"{UNCERTAIN}-seat", "email", "connection lost after DATA")
    return settings.home() / DATABASE_FILE


def digest(path: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())).hexdigest()


def test_report_of_a_campaign_with_a_mix_of_states(welsh_outbox: Path, logged: Path, tmp_path: Path) -> None:
    before = (run("log", "--json").stdout, digest(welsh_outbox))
    out = tmp_path / "report"
    stdout, stderr = run("report", "--outbox", str(welsh_outbox), "--out", str(out))
    assert f"Wrote {out / 'index.html'}, {out / 'map.svg'} (map coloured by contact)" in stdout
    assert "Letters sent 8, replies 4 (50%), follow-ups due 3" in stdout
    # The report reads the log and the outbox and changes neither.
    assert (run("log", "--json").stdout, digest(welsh_outbox)) == before
    assert len(json.loads(before[0])) == 11

    svg = ElementTree.parse(out / "map.svg").getroot()
    shapes = seats(svg)
    assert len(shapes) == 650 and len({shape.get("data-code") for shape in shapes}) == 650
    tooltip = next(shape for shape in shapes if shape.get("data-code") == "W07000112").findtext(f"{SVG}title")
    assert tooltip is not None
    assert tooltip.splitlines()[:3] == [
        "Ynys Môn (Wales)",
        "Llinos Medi (Plaid Cymru, new in 2024)",
        "contact: replied: meeting",
    ]
    welsh = len([row for row in manifest(welsh_outbox) if row["kind"] == "seat"])
    expected = {
        "replied_meeting": 1,
        "replied_substantive": 1,
        "replied_acknowledgement": 1,
        "replied_declined": 1,
        "replied_none": 0,
        "sent": 3,
        "failed": 2,
        "drafted": welsh - 7,  # the Welsh seats drafted and not written to in this campaign (Caerphilly among them)
        "not_contacted": 650 - welsh - 2,
    }
    entries = legend(svg)
    assert {key: count for key, (_, count) in entries.items()} == expected
    assert entries["failed"] == ("failed or uncertain (2)", 2)
    assert sum(count for _, count in entries.values()) == 650
    assert {path.get("data-nation") for path in svg.iter(f"{SVG}path") if path.get("class") == "nation-outline"} == {
        "England",
        "Northern Ireland",
        "Scotland",
        "Wales",
    }
    check_page(page(out / "index.html"), welsh_outbox, welsh)


def check_page(root: Node, welsh_outbox: Path, welsh: int) -> None:
    """Assert what index.html shows of the mixed contact log (test_report_of_a_campaign_with_a_mix_of_states)."""
    assert root.all("title")[0].text() == "IPEM's six asks of the Government elected in 2024 — outreach report"
    assert root.by_id("snapshot-date").text() == "2026-08-13"
    for measure in ("contact", "sites", "party", "asks"):
        figure = root.by_id(f"map-{measure}")
        assert len(figure.all("path", **{"class": "seat"})) == 650
        assert figure.all("svg")[0].attrs["role"] == "img"
    states = table(root, "counts-state")
    assert states["replied: meeting"] == ["1", "0", "1"]
    assert states["sent, no reply yet"] == ["3", "1", "4"]  # the peer's letter has no seat
    assert states["failed or uncertain"] == ["2", "0", "2"]
    assert states["drafted (in the outbox)"][0] == str(welsh - 7)
    assert table(root, "counts-outcome") == {
        "substantive": ["1"],
        "acknowledgement": ["1"],
        "meeting": ["1"],
        "declined": ["1"],
        "none": ["0"],
    }
    assert root.by_id("reply-rate").text() == "Reply rate: 4 replies to 8 letters sent (50%)."
    nations = table(root, "counts-nation")
    assert nations["Wales"] == ["32", "4", "3", "0", str(welsh - 7), "0"]
    assert nations["England"] == ["543", "0", "0", "2", "0", "541"]
    assert table(root, "counts-party")["Plaid Cymru"][:2] == ["4", "1"]
    assert sum(int(row[0]) for row in table(root, "counts-new").values()) == 650
    followups = table(root, "followups")
    assert sorted(followups) == sorted([*UNANSWERED.values(), PEER[1]])
    assert followups["Lord Hermer"][:3] == [f"{CAMPAIGN}/{PEER[0]}-minister", "post", LONG_AGO.date().isoformat()]
    asks_map = {
        shape.attrs["data-code"]: shape.attrs["data-category"]
        for shape in root.by_id("map-asks").all("path", **{"class": "seat"})
    }
    for row in manifest(welsh_outbox):
        if row["kind"] == "seat":  # the asks map follows the outbox's letters where there are any
            assert asks_map[row["constituency_code"]] == row["asks"].split(";")[0]
    asks = table(root, "counts-ask")
    assert asks["Train and keep the people"][2] == "8"  # every sent letter carried the workforce ask
    similarity = root.by_id("similarity").text()
    assert similarity.startswith(f"{len(manifest(welsh_outbox))} letters, ")
    assert "median similarity" in similarity and "pairs above 0.85" in similarity


def test_report_with_no_contact_log_shows_every_seat_not_contacted(outreach_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    stdout, stderr = run("report", "--out", str(out), "--colour-by", "party")
    assert not (outreach_home / DATABASE_FILE).exists()
    root = page(out / "index.html")
    assert root.by_id("no-log").text().startswith("No contact log yet")
    contact = root.by_id("map-contact")
    assert {shape.attrs["data-category"] for shape in contact.all("path", **{"class": "seat"})} == {"not_contacted"}
    assert table(root, "counts-state")["not contacted"][0] == "650"
    assert root.by_id("similarity").text() == "near-identical figures need the outbox: run the report with --outbox DIR"
    assert "not contacted" in stdout and "650" in stdout


@pytest.mark.parametrize(
    ("measure", "category", "label", "count"),
    [
        ("contact", "not_contacted", "not contacted (650)", 650),
        ("sites", "radiotherapy", None, None),
        ("party", "Labour", "Labour (360)", 360),
        ("asks", "workforce", None, None),
    ],
)
def test_colour_by_each_measure(
    tmp_path: Path, measure: str, category: str, label: str | None, count: int | None
) -> None:
    _, stderr = run("report", "--out", str(tmp_path), "--colour-by", measure)
    svg = ElementTree.parse(tmp_path / "map.svg").getroot()
    assert svg.get("data-measure") == measure
    entries = legend(svg)
    assert sum(n for _, n in entries.values()) == 650
    shown = {shape.get("data-category") for shape in seats(svg)}
    assert shown == {key for key, (_, n) in entries.items() if n}
    if label is not None:
        assert entries[category] == (label, count)
    else:
        assert entries[category][1] > 0
    if measure == "asks":
        # The legend names the asks by their titles in campaign.toml; workforce leads most letters.
        asks = campaigns.load(default_campaign_dir()).asks
        assert {key: text for key, (text, _) in entries.items()} == {
            key: f"{asks[key].title} ({n})" for key, (_, n) in entries.items()
        }
        assert max(entries, key=lambda key: entries[key][1]) == "workforce"
    if measure == "sites":
        assert list(entries) == ["radiotherapy", "acute", "imaging", "none"]


def test_an_unknown_measure_is_a_usage_error(tmp_path: Path) -> None:
    _, stderr = run("report", "--out", str(tmp_path), "--colour-by", "colour", expect=ExitCode.USAGE)
    assert "--colour-by" in stderr and "'colour' is not one of" in stderr
    assert not list(tmp_path.iterdir())


def test_png_of_the_map_for_slides(tmp_path: Path) -> None:
    stdout, stderr = run("report", "--out", str(tmp_path), "--colour-by", "sites", "--png")
    assert f"{tmp_path / 'map.png'}" in stdout
    data = (tmp_path / "map.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 1000 and height > 1000
    from PIL import Image

    with Image.open(io.BytesIO(data)) as picture:
        colours = {colour for _, colour in picture.convert("RGB").getcolors(1 << 20) or []}
    assert (0xD5, 0x5E, 0x00) in colours  # the radiotherapy centres' vermillion is painted


def refreshed_copy(home: Path) -> Path:
    """Copy the embedded snapshot into `home` as the newest refreshed one; return its folder, to edit."""
    snapshot = home / "snapshots" / "2026-11-20T090000"
    shutil.copytree(embedded_snapshot_dir(), snapshot)
    meta = json.loads((snapshot / "snapshot.json").read_text(encoding="utf-8"))
    (snapshot / "snapshot.json").write_text(json.dumps({**meta, "kind": "refreshed"}), encoding="utf-8")
    return snapshot


def test_a_vacant_seat_after_a_refresh(outreach_home: Path, tmp_path: Path) -> None:
    """A refreshed snapshot with a seat left vacant: the seat is drawn, its tooltip and legend say 'vacant'."""
    snapshot = refreshed_copy(outreach_home)
    members = (snapshot / "members.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in members if ",Bath,E14001080," not in line]
    assert len(kept) == len(members) - 1
    (snapshot / "members.csv").write_text("".join(kept), encoding="utf-8")
    _, stderr = run("report", "--out", str(tmp_path), "--colour-by", "party")
    svg = ElementTree.parse(tmp_path / "map.svg").getroot()
    bath = next(shape for shape in seats(svg) if shape.get("data-code") == "E14001080")
    assert (bath.findtext(f"{SVG}title") or "").splitlines()[:3] == [
        "Bath (England)",
        "vacant seat: no MP",
        "contact: vacant",
    ]
    assert legend(svg)["vacant"] == ("vacant seat (1)", 1)
    assert legend(svg)["Liberal Democrat"][1] == 70


HOSTILE_NAME = "<script>alert('x')</script> & Wera"
HOSTILE_PARTY = 'Lib <b>Dem</b> & "Co"'
HOSTILE_CAMPAIGN = 'Our <i>asks</i> & "yours"'


def test_names_from_the_data_are_shown_as_text_never_as_markup(outreach_home: Path, tmp_path: Path) -> None:
    """A member's name, a party and a campaign's name holding markup show as written, in the page and in map.svg."""
    snapshot = refreshed_copy(outreach_home)
    members = (snapshot / "members.csv").read_text(encoding="utf-8")
    bath = next(line for line in members.splitlines() if ",Bath,E14001080," in line)
    hostile = bath.replace("4602,Wera Hobhouse,", f"4602,{HOSTILE_NAME},").replace(
        ",Liberal Democrat,",
        ',"Lib <b>Dem</b> & ""Co""",',  # HOSTILE_PARTY as CSV quotes it
    )
    (snapshot / "members.csv").write_text(members.replace(bath, hostile), encoding="utf-8")
    campaign = tmp_path / "campaign"
    shutil.copytree(default_campaign_dir(), campaign)
    toml = campaign / "campaign.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            'name = "IPEM\'s six asks of the Government elected in 2024"', f"name = {json.dumps(HOSTILE_CAMPAIGN)}", 1
        ),
        encoding="utf-8",
    )
    reported = reporting.gather(snapshots.newest(outreach_home), campaigns.load(campaign), TODAY)
    assert reported.campaign.name == HOSTILE_CAMPAIGN
    # Near-identical pairs naming the hostile recipient: more than the page lists, so its caption says how many.
    pairs = tuple(Pair(f"4602-seat-{n}", f"{n}-seat", 0.9) for n in range(51))
    reported = dataclasses.replace(
        reported,
        similarity=Similarity(letters=52, pairs=1326, median=0.5, maximum=0.9, above=pairs),
        letter_names={"4602-seat-0": HOSTILE_NAME},
    )
    out = tmp_path / "report"
    reporting.write(reported, out, measure=reporting.Measure.party)

    written = (out / "index.html").read_text(encoding="utf-8")
    assert "<script" not in written and "<b>" not in written and "<i>" not in written
    root = page(out / "index.html")
    assert root.all("script") == [] and root.all("b") == [] and root.all("i") == []
    assert root.all("title")[0].text() == f"{HOSTILE_CAMPAIGN} — outreach report"
    assert root.all("h1")[0].text() == HOSTILE_CAMPAIGN
    bath_cell = next(
        shape
        for shape in root.by_id("map-party").all("path", **{"class": "seat"})
        if shape.attrs["data-code"] == "E14001080"
    )
    assert bath_cell.attrs["data-category"] == HOSTILE_PARTY
    assert bath_cell.all("title")[0].text().splitlines()[1] == f"{HOSTILE_NAME} ({HOSTILE_PARTY})"
    assert table(root, "counts-party")[HOSTILE_PARTY][:2] == ["1", "0"]
    similar = root.by_id("similar-pairs")
    assert similar.all("caption")[0].text() == "Pairs above 0.85 (the first 50 of 51)"
    assert table(root, "similar-pairs")["4602-seat-0"] == [HOSTILE_NAME, "0-seat", "", "0.900"]

    svg = ElementTree.parse(out / "map.svg").getroot()  # well-formed XML: every & and < escaped
    assert list(svg.iter(f"{SVG}script")) == [] and list(svg.iter(f"{SVG}b")) == []
    assert (svg.findtext(f"{SVG}text") or "") == f"Party — {HOSTILE_CAMPAIGN}"
    assert legend(svg)[HOSTILE_PARTY] == (f"{HOSTILE_PARTY} (1)", 1)
    bath_shape = next(shape for shape in seats(svg) if shape.get("data-code") == "E14001080")
    assert (bath_shape.findtext(f"{SVG}title") or "").splitlines()[1] == f"{HOSTILE_NAME} ({HOSTILE_PARTY})"


def test_a_manifest_from_another_campaign_is_refused(welsh_outbox: Path, tmp_path: Path) -> None:
    campaign = tmp_path / "campaign"
    shutil.copytree(Path(__file__).parents[1] / "letters" / "ipem-2024", campaign)
    toml = campaign / "campaign.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('id = "ipem-2024"', 'id = "ipem-2025"', 1), encoding="utf-8"
    )
    _, stderr = run(
        "report", "--campaign", str(campaign), "--outbox", str(welsh_outbox), "--out", str(tmp_path / "r"),
        expect=ExitCode.FAILURE,
    )  # fmt: skip
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and stderr.endswith(errors[0] + "\n")
    assert "manifest.csv:2: letter" in errors[0] and "campaign 'ipem-2024', not 'ipem-2025'" in errors[0]
    assert not (tmp_path / "r").exists()


def test_nation_outline_is_the_edges_no_neighbour_shares() -> None:
    # Two cells side by side share one edge: 12 edges less the shared pair leaves 10, all around the outside.
    assert len(outline_edges([(0, 0), (2, 0)])) == 10
    # Odd-r neighbours: (q, r) = (0, 1) sits half a cell right of (0, 0) and touches it along one edge.
    assert len(outline_edges([(0, 0), (1, -3)])) == 10
    # Seven cells in a flower: the outline is the 18 outer edges.
    flower = [(0, 0), (2, 0), (-2, 0), (1, -3), (-1, -3), (1, 3), (-1, 3)]
    assert len(outline_edges(flower)) == 18


def test_index_html_draws_the_maps_in_headless_chromium(tmp_path: Path) -> None:
    from PIL import Image
    from selenium.webdriver.common.by import By

    run("report", "--out", str(tmp_path / "report"))
    with chromium(tmp_path / "profile", 1400, 1800) as driver:
        driver.get((tmp_path / "report" / "index.html").as_uri())
        assert len(driver.find_elements(By.CSS_SELECTOR, "svg.hexmap path.seat")) == 4 * 650
        for measure in ("contact", "sites", "party", "asks"):
            assert len(driver.find_elements(By.CSS_SELECTOR, f"#map-{measure} path.seat")) == 650
        party_map = driver.find_element(By.CSS_SELECTOR, "#map-party svg")
        assert party_map.size["width"] > 300 and party_map.size["height"] > 300
        shot = party_map.screenshot_as_png
        page_shot = driver.get_screenshot_as_png()
    with Image.open(io.BytesIO(shot)) as picture:
        size = picture.width * picture.height
        counts = {colour: count for count, colour in picture.convert("RGB").getcolors(1 << 24) or []}
    assert counts.get((0xE4, 0x00, 0x3B), 0) > 0.05 * size  # 360 Labour seats fill a good part of the party map
    assert size - counts.get((255, 255, 255), 0) > 0.2 * size
    with Image.open(io.BytesIO(page_shot)) as whole:
        assert len(whole.convert("RGB").getcolors(1 << 20) or []) > 20  # a drawn page, not a blank one


@pytest.mark.parametrize("width", [1400, 390], ids=["desktop", "phone"])
def test_report_is_accessible_and_fits_the_screen(tmp_path: Path, width: int) -> None:
    """axe-core finds no WCAG 2.2 AA violation at desktop and phone widths; on a 390 px phone nothing scrolls
    sideways but inside a table's own scroll box, and every map is as wide as the screen allows."""
    from selenium.webdriver.common.by import By

    report = tmp_path / "report"
    run("report", "--out", str(report))
    with chromium(tmp_path / "profile", width, 900) as driver:
        driver.get((report / "index.html").as_uri())
        assert axe_violations(driver) == []
        assert horizontal_overflow(driver) <= 0
        for figure in driver.find_elements(By.CSS_SELECTOR, "section.maps figure"):
            svg = figure.find_element(By.CSS_SELECTOR, "svg")
            assert svg.size["width"] <= width
            assert svg.size["width"] >= min(width, 1400) * 0.3
        # Each map's counts also as a table, for those who cannot see the map.
        for measure in ("contact", "sites", "party", "asks"):
            rows = driver.find_elements(By.CSS_SELECTOR, f"#map-{measure}-counts tbody tr")
            assert len(rows) >= 2, measure
