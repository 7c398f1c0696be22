"""The command line end to end on the embedded snapshot: draft, preview, mps, sites, and every bad input."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from commands import MP_FIELDS, manifest, run
from pypdf import PdfReader
from typer.main import get_command

from outreach.cli import app
from outreach.errors import ExitCode, OutputError
from outreach.outbox import MANIFEST_COLUMNS, inside, slug
from outreach.resources import default_campaign_dir

A4 = (595.0, 842.0)


def flat(text: str) -> str:
    """Return PDF text with line breaks and hyphenation undone, for comparing phrases."""
    return " ".join(text.replace("-\n", "").split())


@pytest.fixture(scope="module")
def full_outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("draft") / "outbox"
    # Module-scoped, so the autouse OUTREACH_HOME fixture does not apply yet: give it a home of its own.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_HOME", str(tmp_path_factory.mktemp("draft-home")))
        run("draft", "--all", "--allow-stale-posts", "--out", str(out))
    return out


def test_draft_all_writes_a_letter_per_seat_and_post_holder(full_outbox: Path) -> None:
    rows = manifest(full_outbox)
    seats = [row for row in rows if row["kind"] == "seat"]
    assert len(seats) == 650
    assert len({row["constituency_code"] for row in seats}) == 650
    assert {row["kind"] for row in rows} == {"seat", "minister"}
    assert len(rows) > 650 + 100
    assert list(rows[0]) == list(MANIFEST_COLUMNS)
    for row in rows:
        assert row["letter_id"] == f"{row['member_id']}-{row['kind']}"
        assert row["campaign"] == "ipem-2024"
        assert (full_outbox / row["markdown"]).is_file() and (full_outbox / row["pdf"]).is_file()
        assert 2 <= len(row["asks"].split(";")) <= 3
        assert "MP" not in row["salutation"].split() and "Rt Hon" not in row["salutation"]


def test_every_pdf_is_one_a4_page_naming_salutation_and_site(full_outbox: Path) -> None:
    rows = manifest(full_outbox)
    for row in rows:
        reader = PdfReader(full_outbox / row["pdf"])
        assert len(reader.pages) == 1, row["letter_id"]
        box = reader.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == A4
        text = flat(reader.pages[0].extract_text())
        assert f"{row['salutation']}," in text, row["letter_id"]
        assert f"Our ref: {row['letter_id']} " in text, row["letter_id"]
        site = row["local_sites"].split(";")[0] or row["nearest_centre"]
        if site:  # as the letter names it, perhaps at the start of a sentence
            assert site[1:] in text, row["letter_id"]
    merged = PdfReader(full_outbox / "print.pdf")
    assert len(merged.pages) == len(rows)


def test_every_pdf_is_tagged_pdf_ua(full_outbox: Path) -> None:
    """Each letter's PDF and print.pdf: tagged (structure tree, marked, every marked content in the tree), en-GB,
    titled in the information dictionary and the XMP metadata, PDF/UA-1 in the XMP, the subject its one H1."""
    rows = manifest(full_outbox)
    for path, row in [(full_outbox / row["pdf"], row) for row in rows] + [(full_outbox / "print.pdf", None)]:
        with pikepdf.open(path) as pdf:
            catalog = pdf.Root
            assert catalog.MarkInfo.Marked is True, path
            assert str(catalog.Lang) == "en-GB", path
            assert catalog.ViewerPreferences.DisplayDocTitle is True, path
            metadata = pdf.open_metadata()
            assert metadata["pdfuaid:part"] == "1", path
            assert metadata["dc:title"] == str(pdf.docinfo.Title) != "", path
            tree = catalog.StructTreeRoot
            document = tree.K if isinstance(tree.K, pikepdf.Dictionary) else tree.K[0]
            assert document.S == "/Document", path
            parents = pikepdf.NumberTree(tree.ParentTree)
            for page in pdf.pages:
                contents = page.obj.Contents
                streams = contents if isinstance(contents, pikepdf.Array) else [contents]
                marked = set(re.findall(rb"/MCID (\d+)", b"".join(stream.read_bytes() for stream in streams)))
                owners = parents[int(page.obj.StructParents)]
                assert len(owners) == len(marked) > 20, path  # every marked content has its element
                assert all(owner.Pg.objgen == page.obj.objgen for owner in owners), path
            if row is not None:
                assert len(pdf.pages) == 1
                assert row["subject"] in str(pdf.docinfo.Title), path
                headings = [kid for kid in document.K if kid.S == "/H1"]
                assert len(headings) == 1, path
                assert metadata["dc:description"] == row["subject"], path


def test_manifest_content_for_known_letters(full_outbox: Path) -> None:
    rows = {row["letter_id"]: row for row in manifest(full_outbox)}
    speaker = rows["467-seat"]
    assert speaker["template"] == "speaker"
    assert speaker["salutation"] == "Dear Sir Lindsay"
    assert speaker["address"].startswith("Rt Hon Sir Lindsay Hoyle MP | House of Commons")
    dwyfor = next(row for row in rows.values() if row["constituency"] == "Dwyfor Meirionnydd")
    assert dwyfor["asks"].split(";")[0] == "isotopes"
    assert dwyfor["nearest_centre"] and float(dwyfor["nearest_centre_km"]) > 30
    text = (full_outbox / dwyfor["markdown"]).read_text(encoding="utf-8")
    assert "Trawsfynydd" in text and "ARTHUR" in text
    assert f"about {round(float(dwyfor['nearest_centre_km']))} km" in text
    health = next(
        row
        for row in rows.values()
        if row["kind"] == "minister" and "Secretary of State for Health and Social Care" in row["posts"]
    )
    assert health["salutation"] == "Dear Secretary of State"
    assert "SW1H 0EU" in health["address"]
    assert "stale_posts" in health["flags"].split(";")
    sinn_fein = [row for row in rows.values() if row["template"] == "abstentionist"]
    assert len(sinn_fein) == 7
    for row in sinn_fein:
        text = (full_outbox / row["markdown"]).read_text(encoding="utf-8")
        assert "Northern Ireland Executive" in text and "brief you at Westminster" not in text
        assert "registration" not in row["asks"]
    desnz = [row for row in rows.values() if row["kind"] == "minister" and "Energy" in row["posts"]]
    assert desnz and all("address_unconfirmed" in row["flags"] for row in desnz)


def test_bare_draft_writes_the_audience_as_markdown(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stdout, stderr = run("draft", "--format", "md", "--out", str(out))
    rows = manifest(out)
    assert rows and all(row["pdf"] == "" for row in rows)
    assert "Letters by template" in stdout and "Asks chosen" in stdout
    assert "snapshot" in stdout
    assert "days old" in stderr and "outreach refresh" in stderr


def test_draft_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run("draft", "--constituency", "Ynys Môn", "--format", "md", "--out", str(out))
    before = (out / "manifest.csv").read_text(encoding="utf-8")
    _, stderr = run("draft", "--constituency", "Chorley", "--format", "md", "--out", str(out), expect=ExitCode.FAILURE)
    assert "use --force" in stderr
    assert (out / "manifest.csv").read_text(encoding="utf-8") == before
    run("draft", "--constituency", "Chorley", "--format", "md", "--out", str(out), "--force")
    assert [row["constituency"] for row in manifest(out)] == ["Chorley"]
    assert not list(tmp_path.glob(".out.*"))  # no staging folder left behind


def test_docx_format(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run("draft", "--constituency", "Aberdeen North", "--format", "docx", "--out", str(out))
    (row,) = manifest(out)
    from docx import Document

    text = "\n".join(p.text for p in Document(str(out / row["docx"])).paragraphs)
    assert "Dear Kirsty Blackman," in text or row["salutation"] + "," in text


def test_file_names_cannot_escape_the_outbox(tmp_path: Path) -> None:
    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug("Ynys Môn") == "ynys-mon"
    assert slug("///") == "letter"
    with pytest.raises(OutputError, match="outside the outbox"):
        inside(tmp_path, "../escape.md")


def test_preview_highlights_and_explains(tmp_path: Path) -> None:
    stdout, _ = run("preview", "Dwyfor Meirionnydd")
    assert "Dear " in stdout and "ARTHUR" in stdout
    assert "rule 'arthur-seat'" in stdout
    assert "kind=[seat]" in stdout  # campaign text is shown literally, not read as terminal markup
    assert "Nearest radiotherapy centre:" in stdout
    assert "Template new_mp" in stdout or "Template returning_mp" in stdout


def test_preview_near_miss_suggests(tmp_path: Path) -> None:
    _, stderr = run("preview", "Ynys Mn", expect=ExitCode.FAILURE)
    assert "did you mean 'Ynys Môn'" in stderr
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith("error: no member or constituency matches 'Ynys Mn'")
    assert sum(line.startswith("error:") for line in lines) == 1


def test_mps_json_matches_the_interface() -> None:
    stdout, _ = run("mps", "--json")
    members = json.loads(stdout)
    assert len(members) == 650
    assert all(set(member) == MP_FIELDS for member in members)
    runcorn = next(m for m in members if m["constituency"] == "Runcorn and Helsby")
    assert runcorn["by_election_date"] == "2025-05-01" and runcorn["member_id"] == 5403
    holders = [m for m in members if m["posts"]]
    assert holders and all(post["kind"] == "government" for m in holders for post in m["posts"])
    stdout, _ = run("mps", "--json", "--nation", "Wales")
    assert len(json.loads(stdout)) == 32


def test_sites_for_a_constituency() -> None:
    stdout, _ = run("sites", "--constituency", "Aberdeen North", "--json")
    sites = json.loads(stdout)
    assert sites[0]["site_type"] == "radiotherapy_centre"
    stdout, _ = run("sites", "--constituency", "Dwyfor Meirionnydd")
    assert "Nearest radiotherapy centre:" in stdout


def broken_campaign(tmp_path: Path) -> Path:
    folder = tmp_path / "campaign"
    shutil.copytree(default_campaign_dir(), folder)
    return folder


def undefined_variable(folder: Path) -> None:
    template = folder / "templates" / "speaker.md.j2"
    lines = template.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "Your seat is {{ recipient.constituncy }}.")
    template.write_text("\n".join(lines), encoding="utf-8")


def missing_field(folder: Path) -> None:
    toml = folder / "campaign.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('signatory_name = "', 'signatory = "'), encoding="utf-8")


def malformed_overrides(folder: Path) -> None:
    with (folder / "address_overrides.csv").open("a", encoding="utf-8") as handle:
        handle.write("abc,Dear Someone,,\n")


@pytest.mark.parametrize(
    ("breakage", "selection", "error"),
    [
        (undefined_variable, ("--constituency", "Chorley"), r"speaker\.md\.j2:3: 'recipient.constituncy' is undefined"),
        (missing_field, (), r"campaign\.toml:\d+: \[sender\] unknown key 'signatory' \(known: organisation,"),
        (malformed_overrides, (), r"address_overrides\.csv:\d+: .*abc"),
    ],
    ids=["undefined-template-variable-names-file-and-line", "missing-campaign-field", "malformed-overrides-csv"],
)
def test_a_broken_campaign_names_file_and_line(
    tmp_path: Path, breakage: Callable[[Path], None], selection: tuple[str, ...], error: str
) -> None:
    folder = broken_campaign(tmp_path)
    breakage(folder)
    _, stderr = run(
        "draft", *selection, "--campaign", str(folder), "--out", str(tmp_path / "out"), expect=ExitCode.FAILURE
    )
    assert re.search(error, stderr), stderr
    assert not (tmp_path / "out").exists()


def unwritable(tmp_path: Path) -> str:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    return str(blocker / "outbox")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("draft", "--constituency", "Chorley", "--out", unwritable), "cannot write here"),
        (("draft", "--format", "rtf", "--out", lambda tmp: str(tmp / "o")), "unknown format 'rtf'"),
        (("draft", "--member", "Kier Starmer", "--out", lambda tmp: str(tmp / "o")), "did you mean 'Keir Starmer'"),
        (("sites", "--type", "linac"), "unknown site type 'linac'"),
    ],
    ids=["unwritable-output-folder", "unknown-format", "unknown-member", "unknown-site-type"],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, args: tuple[Any, ...], error: str) -> None:
    words = [arg(tmp_path) if callable(arg) else arg for arg in args]
    _, stderr = run(*words, expect=ExitCode.FAILURE)
    assert error in stderr


def command_paths() -> list[tuple[str, ...]]:
    """Return every command's words, from `outreach` itself through each group's subcommands: walked from the app."""
    paths: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(get_command(app), ())
    return paths


def test_every_command_is_walked() -> None:
    paths = command_paths()
    assert ("log",) in paths and ("log", "add") in paths and ("draft",) in paths
    assert len(paths) == 1 + len(app.registered_commands) + sum(
        1 + len(group.typer_instance.registered_commands) for group in app.registered_groups if group.typer_instance
    )


@pytest.mark.parametrize("path", command_paths(), ids=lambda path: " ".join(("outreach", *path)))
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    command = get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    stdout, _ = run(*path, "--help")
    assert command.help, "a command's docstring is its --help"
    first_line = command.help.strip().splitlines()[0]
    assert first_line[:40] in " ".join(stdout.split())
    if hasattr(command, "commands"):  # a group lists its commands
        assert all(name in stdout for name in command.commands)
