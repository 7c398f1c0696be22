"""Word letters that hold: one page in LibreOffice with and without Cambria's clone installed, British English,
the campaign's own metadata, and no leftover parts of python-docx's template.

LibreOffice is Debian's `libreoffice-writer-nogui` and Caladea (Cambria's metric-compatible clone) Debian's
`fonts-crosextra-caladea`, both installed by `.ci/run`; without `soffice` the conversion test skips and says why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from commands import every_letter
from pypdf import PdfReader

from outreach.letters import Letter
from outreach.render.docx import write_docx
from outreach.render.docx_fonts import obfuscate

LONGEST = 24  # the letters most likely to run onto a second page

# LibreOffice's fonts as fontconfig finds them, less Caladea: what a machine without Cambria's clone has.
WITHOUT_CALADEA = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <selectfont><rejectfont><glob>*Caladea*</glob></rejectfont></selectfont>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""


@pytest.fixture(scope="module")
def longest_letters() -> list[Letter]:
    """Return the longest letters of `draft --all --allow-stale-posts`, by the length of their text."""
    return sorted(every_letter(), key=lambda letter: len(letter.markdown), reverse=True)[:LONGEST]


def _pages_in_libreoffice(folder: Path, out: Path, environment: dict[str, str]) -> dict[str, int]:
    """Return each DOCX in `folder` converted to PDF by LibreOffice, as its number of pages."""
    out.mkdir()
    profile = out.with_name(out.name + "-profile").as_uri()
    files = sorted(str(path) for path in folder.glob("*.docx"))
    command = ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir", str(out)]
    subprocess.run(
        [*command, *files],
        env=environment,
        capture_output=True,
        timeout=600,
        check=True,
    )
    return {path.stem: len(PdfReader(path).pages) for path in out.glob("*.pdf")}


def test_each_letter_is_one_page_in_libreoffice_with_and_without_caladea(
    tmp_path: Path, longest_letters: list[Letter]
) -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-writer-nogui fonts-crosextra-caladea)")
    listed = subprocess.run(["fc-list", ":family=Caladea"], capture_output=True, text=True).stdout
    if not listed.strip():
        pytest.skip("Caladea is not installed (apt-get install fonts-crosextra-caladea)")
    folder = tmp_path / "docx"
    for letter in longest_letters:
        write_docx(letter, folder / f"{letter.letter_id}.docx")
    without = tmp_path / "fonts.conf"
    without.write_text(WITHOUT_CALADEA.format(cache=tmp_path / "fontconfig-cache"), encoding="utf-8")
    for label, environment in (
        ("with Caladea", dict(os.environ)),
        ("without Caladea", {**os.environ, "FONTCONFIG_FILE": str(without)}),
    ):
        check = subprocess.run(["fc-list", ":family=Caladea"], env=environment, capture_output=True, text=True)
        assert bool(check.stdout.strip()) == (label == "with Caladea"), label
        pages = _pages_in_libreoffice(folder, tmp_path / label.replace(" ", "-"), environment)
        assert len(pages) == LONGEST, label
        assert {letter: count for letter, count in pages.items() if count != 1} == {}, label


def test_docx_speaks_british_english_and_names_its_sender(tmp_path: Path, longest_letters: list[Letter]) -> None:
    import docx

    letter = longest_letters[0]
    path = tmp_path / "letter.docx"
    write_docx(letter, path)
    document = docx.Document(str(path))
    properties = document.core_properties
    assert properties.language == "en-GB"
    assert properties.author == properties.last_modified_by == letter.sender.organisation
    assert properties.title.startswith(f"Letter to {letter.recipient_lines[0]}")
    assert properties.subject == letter.subject
    assert abs(properties.created - datetime.now(UTC)) < timedelta(minutes=5)
    with zipfile.ZipFile(path) as package:
        names = set(package.namelist())
        styles = package.read("word/styles.xml").decode("utf-8")
        app = package.read("docProps/app.xml").decode("utf-8")
        table = package.read("word/fontTable.xml").decode("utf-8")
        relations = package.read("word/_rels/fontTable.xml.rels").decode("utf-8")
        fonts = {name: package.read(name) for name in names if name.startswith("word/fonts/")}
    assert 'w:lang w:val="en-GB"' in styles and "en-US" not in styles
    assert "<Application>outreach</Application>" in app and "Microsoft" not in app
    leftovers = {"docProps/thumbnail.jpeg", "word/stylesWithEffects.xml", "word/webSettings.xml", "customXml/item1.xml"}
    assert names & leftovers == set()
    # Caladea, embedded under Cambria's name: each face, its obfuscation undone with the key the table gives it,
    # is a TrueType font of the family Caladea.
    from fontTools.ttLib import TTFont

    cambria = re.search(r'<w:font w:name="Cambria">.*?</w:font>', table, re.S)
    assert cambria is not None
    embedded = re.findall(r'<w:embed(\w+) r:id="(\w+)" w:fontKey="(\{[0-9A-F-]+\})"/>', cambria.group(0))
    assert {style for style, _, _ in embedded} >= {"Regular", "Bold"}
    for style, relation, key in embedded:
        target = re.search(rf'Id="{relation}"[^>]*Target="([^"]+)"', relations)
        assert target is not None, style
        data = fonts[f"word/{target.group(1)}"]
        assert data[:4] != b"\x00\x01\x00\x00"  # obfuscated as stored
        face = TTFont(BytesIO(obfuscate(data, key)))
        assert face["name"].getDebugName(1) == "Caladea", style
