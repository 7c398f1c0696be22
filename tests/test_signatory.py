"""Who signs, and what goes with a letter: the signatory, reply details, the reference and enclosures.

The shipped IPEM campaign names no person (IPEM has not named its signatory, and none is invented here), so its
letters are checked as unsigned; a copy in tmp_path names a made-up signatory, a reply address, a telephone number
in Ofcom's range for drama (01632 960xxx, never a real line) and two enclosures, each a small real PDF made with
Typst, and every letter of `draft --all` drafted from it is checked.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import docx
import pytest
from commands import manifest, run
from pypdf import PdfReader

from outreach import campaign as campaigns
from outreach.campaign import Sender
from outreach.errors import DataError, ExitCode
from outreach.resources import default_campaign_dir

NAME = "Dr Jane Example"
ROLE = "Head of Policy and Public Affairs"
REPLY = "replies@ipem.example.org"
PHONE = "01632 960123"
REPLY_LINE = f"Email: {REPLY} · Tel: {PHONE}"
MANIFESTO = "IPEM's manifesto for the new Parliament"
BRIEF = "Our six asks of the Government, in brief"
ENCLOSURES = f"""
[[enclosures]]
file = "manifesto.pdf"
title = "{MANIFESTO}"
mention = true
when = {{ kind = ["seat"] }}

[[enclosures]]
file = "asks.pdf"
title = "{BRIEF}"
"""
UNSIGNED = (
    "the signatory is a team, not a person ('Policy and Public Affairs Team', with no role): "
    "set [sender] signatory_name and signatory_role in campaign.toml before printing or sending"
)


def make_pdf(path: Path, text: str) -> None:
    """Write a small real one-page PDF saying `text`, typeset by Typst."""
    import typst

    source = path.with_suffix(".typ")
    source.write_text(f"= {text}\n\nA document enclosed with a letter.\n", encoding="utf-8")
    typst.compile(str(source), output=str(path))
    source.unlink()


def set_sender(folder: Path, **values: str) -> None:
    """Set [sender] keys already in the campaign's campaign.toml (each must appear once)."""
    toml = folder / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    for key, value in values.items():
        text, count = re.subn(rf'(?m)^{key} = ".*?"', f'{key} = "{value}"', text)
        assert count == 1, key
    toml.write_text(text, encoding="utf-8")


def sender_table(folder: Path) -> str:
    """Return 'campaign.toml:N', where the campaign's [sender] table starts: where a warning about it points."""
    return f"{folder / 'campaign.toml'}:{line_of(folder, '[sender]')}"


def signed_copy(folder: Path, enclosures: str = ENCLOSURES) -> Path:
    """Copy the IPEM campaign to `folder`, signed by a person, with reply details and the enclosures given."""
    shutil.copytree(default_campaign_dir(), folder)
    set_sender(folder, signatory_name=NAME, signatory_role=ROLE, email="policy@ipem.example.org")
    set_sender(folder, reply_email=REPLY, phone=PHONE)
    make_pdf(folder / "manifesto.pdf", MANIFESTO)
    make_pdf(folder / "asks.pdf", BRIEF)
    with (folder / "campaign.toml").open("a", encoding="utf-8") as handle:
        handle.write(enclosures)
    return folder


def flat(text: str) -> str:
    """Return text with its runs of white space made single spaces."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return signed_copy(tmp_path_factory.mktemp("signed") / "ipem-2024")


@pytest.fixture(scope="module")
def signed_all(tmp_path_factory: pytest.TempPathFactory, signed: Path) -> tuple[Path, str]:
    """Every letter of `draft --all` from the signed copy, as Markdown and PDF; and what draft said on stderr."""
    out = tmp_path_factory.mktemp("signed-all") / "outbox"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_HOME", str(tmp_path_factory.mktemp("signed-home")))
        _, stderr = run("draft", "--all", "--allow-stale-posts", "--campaign", str(signed), "--out", str(out))
    return out, stderr


def expected_enclosures(row: dict[str, str]) -> list[str]:
    """Return the titles of what goes with a letter: the manifesto with seat letters, the brief with every one."""
    return [MANIFESTO, BRIEF] if row["kind"] == "seat" else [BRIEF]


def test_every_letter_of_a_signed_campaign_is_signed_with_reply_details_reference_and_enclosures(
    signed_all: tuple[Path, str], signed: Path
) -> None:
    out, stderr = signed_all
    rows = manifest(out)
    assert len(rows) > 650 + 100
    assert "signatory" not in stderr and "for replies" not in stderr
    for row in rows:
        letter_id = row["letter_id"]
        assert "unsigned" not in row["flags"].split(";"), letter_id
        titles = expected_enclosures(row)
        assert row["enclosures"].split(";") == [
            f"enclosures/{name}" for name in (["manifesto.pdf", "asks.pdf"] if row["kind"] == "seat" else ["asks.pdf"])
        ]
        markdown = (out / row["markdown"]).read_text(encoding="utf-8")
        head, _, body = markdown.partition(f"\n{row['salutation']},\n")
        assert f"\nOur ref: {letter_id}  \n" in head, letter_id
        body, _, sign_off = body.rpartition("\nYours sincerely,\n")
        assert [line.strip() for line in sign_off.strip().splitlines()] == [
            NAME,
            ROLE,
            "Institute of Physics and Engineering in Medicine",
            REPLY_LINE,
            "",
            *[f"Enc. {title}" for title in titles],
        ], letter_id
        # Named in the text only when the campaign says to mention it: the manifesto, not the brief.
        assert (f"I enclose {MANIFESTO}." in body) is (row["kind"] == "seat"), letter_id
        assert BRIEF not in body and "I enclose" not in body.replace(f"I enclose {MANIFESTO}.", ""), letter_id
        reader = PdfReader(out / row["pdf"])
        assert len(reader.pages) == 1, letter_id
        text = flat(reader.pages[0].extract_text())
        assert f"Our ref: {letter_id} " in text, letter_id
        signature = f"Yours sincerely, {NAME} {ROLE} {REPLY_LINE} " + " ".join(f"Enc. {title}" for title in titles)
        assert signature in text, letter_id
    for name in ("manifesto.pdf", "asks.pdf"):
        assert (out / "enclosures" / name).read_bytes() == (signed / name).read_bytes()
    assert sorted(path.name for path in (out / "enclosures").iterdir()) == ["asks.pdf", "manifesto.pdf"]


def test_docx_letters_carry_reference_signature_reply_details_and_enclosures(tmp_path: Path, signed: Path) -> None:
    out = tmp_path / "outbox"
    run(
        "draft",
        "--all",
        "--allow-stale-posts",
        "--nation",
        "Wales",
        "--format",
        "docx",
        "--campaign",
        str(signed),
        "--out",
        str(out),
    )
    rows = manifest(out)
    assert len([row for row in rows if row["kind"] == "seat"]) == 32 and {row["kind"] for row in rows} == {
        "seat",
        "minister",
    }
    for row in rows:
        paragraphs = [paragraph.text for paragraph in docx.Document(str(out / row["docx"])).paragraphs]
        assert f"Our ref: {row['letter_id']}\n" in paragraphs[2], row["letter_id"]
        closing = paragraphs.index("Yours sincerely,")
        assert paragraphs[closing + 1 :] == [
            f"{NAME}\n{ROLE}",
            REPLY_LINE,
            "\n".join(f"Enc. {title}" for title in expected_enclosures(row)),
        ], row["letter_id"]


def test_every_letter_of_the_shipped_campaign_is_flagged_unsigned_and_carries_its_reference(
    tmp_path: Path,
) -> None:
    out = tmp_path / "outbox"
    _, stderr = run("draft", "--all", "--allow-stale-posts", "--format", "md", "--out", str(out))
    warning = f"warning: {sender_table(default_campaign_dir())}: {UNSIGNED}"
    assert [line for line in stderr.splitlines() if "signatory" in line] == [warning]
    rows = manifest(out)
    assert len(rows) > 650 + 100
    for row in rows:
        assert "unsigned" in row["flags"].split(";"), row["letter_id"]
        assert row["enclosures"] == ""
        markdown = (out / row["markdown"]).read_text(encoding="utf-8")
        assert f"\nOur ref: {row['letter_id']}  \n" in markdown
        sign_off = markdown.rpartition("\nYours sincerely,\n")[2]
        assert [line.strip() for line in sign_off.strip().splitlines()] == [
            "Policy and Public Affairs Team",
            "Institute of Physics and Engineering in Medicine",
        ]
        assert "Enc." not in markdown and "I enclose" not in markdown
    assert not (out / "enclosures").exists()


def test_preview_says_the_letters_are_unsigned_in_one_line() -> None:
    _, stderr = run("preview", "Ynys Môn")
    assert [line for line in stderr.splitlines() if "signatory" in line] == [
        f"warning: {sender_table(default_campaign_dir())}: {UNSIGNED}"
    ]


@pytest.mark.parametrize(
    ("name", "role", "signed", "problem"),
    [
        ("Policy and Public Affairs Team", "", False, "the signatory is a team, not a person"),
        ("", "", False, "the letters have no signatory"),
        ("", "Head of Policy", False, "the signatory has no name"),
        ("  ", " ", False, "the letters have no signatory"),
        ("Dr Jane Example", "Head of Policy", True, None),
    ],
)
def test_signed_only_with_a_name_and_a_role(name: str, role: str, signed: bool, problem: str | None) -> None:
    sender = Sender("IPEM", ("York",), signatory_name=name, signatory_role=role, where="campaign.toml:14")
    assert sender.signed is signed
    said = sender.unsigned()
    assert (said is None) if problem is None else (said is not None and said.startswith(f"campaign.toml:14: {problem}"))


def test_the_shipped_campaign_names_no_signatory() -> None:
    sender = campaigns.load(default_campaign_dir()).sender
    assert not sender.signed
    assert sender.unsigned() == f"{sender_table(default_campaign_dir())}: {UNSIGNED}"


def test_a_signed_campaign_without_a_telephone_says_so(tmp_path: Path) -> None:
    folder = signed_copy(tmp_path / "campaign", enclosures="")
    set_sender(folder, phone="", reply_email="")
    _, stderr = run("preview", "Ynys Môn", "--campaign", str(folder))
    assert [line for line in stderr.splitlines() if "replies" in line] == [
        f"warning: {sender_table(folder)}: the signature gives no telephone number for replies: "
        "set [sender] phone in campaign.toml"
    ]
    stdout, _ = run("preview", "Ynys Môn", "--campaign", str(folder))
    assert "Email: policy@ipem.example.org" in stdout  # replies go to the sending address when none is given


def line_of(folder: Path, text: str) -> int:
    """Return the last line of campaign.toml that reads `text`."""
    lines = (folder / "campaign.toml").read_text(encoding="utf-8").splitlines()
    return max(number for number, line in enumerate(lines, 1) if line.strip() == text)


@pytest.mark.parametrize(
    ("enclosure", "make", "complaint"),
    [
        ('file = "missing.pdf"', None, "enclosure 'missing.pdf': cannot read"),
        ('file = "notes.pdf"', "notes.pdf", "enclosure 'notes.pdf': {folder}/notes.pdf is not a PDF"),
        ('file = "../outside.pdf"', None, "enclosure '../outside.pdf': give a file inside the campaign folder"),
        ('file = "manifesto.pdf"\nmention = "yes"', None, "enclosures[1].mention: must be true or false, not a string"),
        ('file = "manifesto.pdf"\npages = 3', None, "enclosure: unknown key 'pages'"),
        ('file = "manifesto.pdf"\nwhen = { seat = true }', None, "enclosure 'manifesto.pdf': unknown condition 'seat'"),
        ('file = "asks.pdf"', None, "enclosure 'asks.pdf': asks.pdf is already enclosed at line"),
    ],
    ids=[
        "missing",
        "not-a-pdf",
        "outside-the-folder",
        "mention-not-a-boolean",
        "unknown-key",
        "unknown-condition",
        "repeated",
    ],
)
def test_a_bad_enclosure_is_one_line_naming_campaign_toml_and_nothing_is_written(
    tmp_path: Path, enclosure: str, make: str | None, complaint: str
) -> None:
    folder = signed_copy(tmp_path / "campaign", enclosures="")
    if make:
        (folder / make).write_text("Dear Member, this is a text file, not a PDF.\n", encoding="utf-8")
    with (folder / "campaign.toml").open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[enclosures]]\nfile = "asks.pdf"\ntitle = "{BRIEF}"\n')
        handle.write(f'\n[[enclosures]]\n{enclosure}\ntitle = "A document"\n')
    line = line_of(folder, enclosure.splitlines()[0]) - 1  # the [[enclosures]] header above its file
    if complaint.startswith("enclosures["):  # a value of the wrong type is named at its own line
        line = line_of(folder, enclosure.splitlines()[-1])
    out = tmp_path / "out"
    _, stderr = run(
        "draft", "--constituency", "Ynys Môn", "--campaign", str(folder), "--out", str(out), expect=ExitCode.FAILURE
    )
    assert (
        stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: {folder / 'campaign.toml'}:{line}: {complaint.format(folder=folder)}")
    ), stderr
    assert len([line for line in stderr.splitlines() if line.startswith("error:")]) == 1
    assert not out.exists()
    with pytest.raises(DataError):
        campaigns.load(folder)
