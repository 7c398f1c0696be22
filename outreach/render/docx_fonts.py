"""The Word letters' typeface, embedded: a subset of Caladea (Cambria's metrics) inside every DOCX.

Word on Windows and macOS has Cambria; LibreOffice has no Cambria and, with Debian's `fonts-crosextra-caladea`,
substitutes Caladea metric for metric. Without Caladea installed it falls back to DejaVu Serif, which is wider,
and the longest letters ran onto a second page. Embedding Caladea under the name Cambria makes the letter set the
same everywhere: Word uses its own Cambria (same metrics), LibreOffice the embedded face.

How (ECMA-376 Part 1, 17.8.1 and 17.8.3.3): each face is a part of type .../relationships/font related from the
font table, obfuscated by XORing its first 32 bytes with the 16 bytes of a GUID key (read from the GUID's last
hex pair to its first) that the font table's w:embedRegular (or Bold, Italic, BoldItalic) names; settings ask
Word to keep embedded TrueType fonts and only their subsets. The subset is one per process: Latin-1, Latin
Extended-A (Welsh and Irish names included) and the punctuation letters use, plus any other character a letter
holds.
"""

from __future__ import annotations

import functools
import io
import re
import uuid
from pathlib import Path
from typing import Any

FONT_DIR = Path(__file__).with_name("fonts")
FAMILY = "Caladea"
STYLES = ("Regular", "Bold", "Italic", "BoldItalic")
FONT_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
REPERTOIRE = frozenset(
    [chr(code) for code in range(0x20, 0x7F)]
    + [chr(code) for code in range(0xA0, 0x180)]
    + list("‘’‚“”„–—•…€£·′″")
)
_SETTINGS_AFTER = ("w:writeProtection", "w:view", "w:zoom")  # what precedes w:embedTrueTypeFonts in the schema
_NAMESPACE = "urn:outreach:docx-font"  # makes each letter's keys repeatable: the same letter, the same bytes


@functools.cache
def subset(style: str, extra: frozenset[str]) -> bytes:
    """Return Caladea `style` cut down to the repertoire and `extra` characters, as TrueType bytes."""
    from fontTools import subset as subsetting
    from fontTools.ttLib import TTFont

    face = TTFont(FONT_DIR / f"{FAMILY}-{style}.ttf")
    options = subsetting.Options()
    options.name_IDs = ["*"]  # keep the names: the licence and the family name stay in the font
    options.notdef_outline = True
    options.layout_features = ["*"]
    cutter = subsetting.Subsetter(options)
    cutter.populate(text="".join(sorted(REPERTOIRE | extra)))
    cutter.subset(face)
    out = io.BytesIO()
    face.save(out)
    return out.getvalue()


def obfuscate(font: bytes, key: str) -> bytes:
    """Return `font` obfuscated with `key`, a GUID in braces as the font table writes it, as ECMA-376 17.8.1 asks
    (obfuscating again undoes it)."""
    digits = key.strip("{}").replace("-", "")
    mask = bytes(int(digits[at : at + 2], 16) for at in range(len(digits) - 2, -2, -2))
    head = bytes(byte ^ mask[at % 16] for at, byte in enumerate(font[:32]))
    return head + font[32:]


def embed(document: Any, font_name: str, text: str, styles: tuple[str, ...], seed: str) -> None:
    """Embed Caladea's `styles` under `font_name` in `document`'s font table, subset to hold `text`."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml.ns import qn

    table = document.part.part_related_by(RELATIONSHIP_TYPE.FONT_TABLE)
    extra = frozenset(character for character in text if character not in REPERTOIRE and character.isprintable())
    entries = []
    for number, style in enumerate(styles, 1):
        key = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{_NAMESPACE}:{seed}:{style}")).upper() + "}"
        part = Part(
            PackURI(f"/word/fonts/font{number}.odttf"),
            FONT_CONTENT_TYPE,
            obfuscate(subset(style, extra), key),
            document.part.package,
        )
        relation = table.relate_to(part, RELATIONSHIP_TYPE.FONT)
        entries.append(f'<w:embed{style} r:id="{relation}" w:fontKey="{key}"/>')
    table._blob = _with_embedding(table.blob.decode("utf-8"), font_name, "".join(entries)).encode("utf-8")
    settings = document.settings.element
    anchor = next((child for child in settings if child.tag in {qn(name) for name in _SETTINGS_AFTER}), None)
    for tag in ("w:saveSubsetFonts", "w:embedTrueTypeFonts"):
        from docx.oxml import OxmlElement

        element = OxmlElement(tag)
        if anchor is None:
            settings.insert(0, element)
        else:
            anchor.addnext(element)
    for leftover in settings.findall(qn("w:savePreviewPicture")):  # no thumbnail is kept
        settings.remove(leftover)


def _with_embedding(table: str, font_name: str, entries: str) -> str:
    """Return the font table's XML with `entries` at the end of `font_name`'s entry (added if missing)."""
    if "xmlns:r=" not in table:
        relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
        table = table.replace("<w:fonts ", f'<w:fonts xmlns:r="{relationships}" ', 1)
    found = re.search(rf'<w:font w:name="{re.escape(font_name)}">.*?</w:font>', table, re.S)
    if found is None:
        return table.replace("</w:fonts>", f'<w:font w:name="{font_name}">{entries}</w:font></w:fonts>', 1)
    end = found.end() - len("</w:font>")
    return table[:end] + entries + table[end:]
