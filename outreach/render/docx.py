"""DOCX: one letter as an editable Word document, with the same content as its PDF, on A4."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from outreach.files import write_atomically
from outreach.letters import Letter, Run

if TYPE_CHECKING:
    from typing import BinaryIO

    from outreach.campaign import Sender

# Cambria ships with Microsoft Office; a subset of Caladea, its metric-compatible clone, is embedded under its
# name (render.docx_fonts), so the letter keeps its line breaks wherever it is opened, LibreOffice included.
FONT = "Cambria"
LANGUAGE = "en-GB"  # so Word and LibreOffice check British spelling
BODY_POINTS = 11
ACCENT = (0x00, 0x5A, 0x8C)
QUIET = (0x5A, 0x5A, 0x5A)

# The children of w:pPr that come after w:pBdr in the schema (ECMA-376 Part 1, 17.3.1.26).
_AFTER_BORDERS = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)
# Parts python-docx's template carries that a letter does not need: a thumbnail of an empty page, Word 2010's
# duplicate styles, web settings and a custom XML item. Dropped by relationship type.
_LEFTOVER_PARTS = (
    "http://schemas.openxmlformats.org/package/2006/relationships/metadata/thumbnail",
    "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/webSettings",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml",
)
_APP_PROPERTIES = "/docProps/app.xml"
# XML 1.0 forbids most control characters; python-docx would refuse the whole document for one of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def write_docx(letter: Letter, path: Path) -> None:
    """Return nothing; write `letter` to `path` as an A4 Word document, laid out as its PDF is."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    document = _new_document()
    section = document.sections[0]
    sender = letter.sender
    _set_properties(document, letter)

    _add_letterhead(document, sender)

    dated = document.add_paragraph()
    dated.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if letter.reference:  # the reference for replies to quote, above the date
        reference = dated.add_run(_clean(letter.reference))
        reference.font.color.rgb = RGBColor(*QUIET)
        reference.add_break()
    dated.add_run(_clean(letter.date_text))
    _add_lines(document, letter.recipient_lines).paragraph_format.space_after = Pt(18)

    if letter.subject:
        document.add_paragraph().add_run(_clean(letter.subject)).bold = True
    document.add_paragraph(_clean(f"{letter.salutation},"))
    for block in letter.blocks:
        if block.kind == "bullet":
            paragraph = document.add_paragraph(style="List Bullet")
            paragraph.paragraph_format.space_after = Pt(3)
        else:
            paragraph = document.add_paragraph()
        _add_runs(paragraph, block.runs)

    closing = document.add_paragraph(_clean(f"{letter.closing},"))
    closing.paragraph_format.space_before = Pt(6)
    closing.paragraph_format.space_after = Pt(30)  # room to sign
    signature = _add_lines(document, letter.signature, bold_first=True)
    if letter.reply:
        signature.paragraph_format.space_after = Pt(0)
        document.add_paragraph().add_run(_clean(letter.reply)).font.size = Pt(BODY_POINTS - 1)
    if letter.enclosures:
        document.paragraphs[-1].paragraph_format.space_after = Pt(10)
        _add_lines(document, letter.enclosures)

    if sender.footer:
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer_run = footer.add_run(_clean(sender.footer))
        footer_run.font.size = Pt(7.5)
        footer_run.font.color.rgb = RGBColor(*QUIET)

    from outreach.render.docx_fonts import embed

    styles = ["Regular", "Bold"]
    if any(run.italic for block in letter.blocks for run in block.runs):
        styles += ["Italic", "BoldItalic"]
    text = "".join(paragraph.text for paragraph in document.paragraphs) + sender.footer
    embed(document, FONT, text, tuple(styles), seed=letter.letter_id)

    def save(stream: BinaryIO) -> None:
        document.save(stream)

    write_atomically(Path(path), save)


def _set_properties(document: Any, letter: Letter) -> None:
    """Give `document` the letter's own metadata: title, author, subject, created now, and outreach as the
    application, in place of the template's (python-docx, 2013, "Microsoft Macintosh Word")."""
    now = datetime.now(UTC).replace(microsecond=0)
    properties = document.core_properties
    properties.title = _clean(_title(letter))
    properties.author = properties.last_modified_by = _clean(letter.sender.organisation)
    properties.subject = _clean(letter.subject)
    properties.comments = f"letter {letter.letter_id}"
    properties.keywords = properties.category = ""
    properties.language = LANGUAGE
    properties.created = properties.modified = now
    properties.revision = 1
    for part in (document.part, document.part.package):
        for key, relationship in list(part.rels.items()):
            if relationship.reltype in _LEFTOVER_PARTS:
                del part.rels[key]
    for part in document.part.package.iter_parts():
        if str(part.partname) == _APP_PROPERTIES:
            part._blob = _app_properties(letter).encode("utf-8")


def _app_properties(letter: Letter) -> str:
    """Return docProps/app.xml naming outreach as the application and the sender as the company."""
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        f"<Application>outreach</Application><Company>{escape(_clean(letter.sender.organisation))}</Company>"
        "<Pages>1</Pages><DocSecurity>0</DocSecurity></Properties>"
    )


def _new_document() -> Any:
    """Return an empty A4 Word document with the letter's margins and body font."""
    import docx
    from docx.shared import Mm, Pt

    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(25), Mm(20)
    section.top_margin, section.bottom_margin = Mm(12), Mm(18)
    section.footer_distance = Mm(8)

    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_POINTS)
    _set_east_asian_font(normal, FONT)
    _set_language(document)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(5)
    normal.paragraph_format.line_spacing = 1.0
    return document


def _add_letterhead(document: Any, sender: Sender) -> None:
    """Return nothing; add the sender's letterhead to `document`."""
    from docx.shared import Pt, RGBColor

    # Letterhead: the organisation, then a thin rule, then the address and contact details, small.
    head = document.add_paragraph()
    head.paragraph_format.space_after = Pt(2)
    name = head.add_run(_clean(sender.organisation))
    name.bold = True
    name.font.size = Pt(17)
    name.font.color.rgb = RGBColor(*ACCENT)
    _rule_below(head)
    contact = [line for line in (*sender.address_lines, sender.email, sender.phone, sender.website) if line]
    details = document.add_paragraph()
    details.paragraph_format.space_after = Pt(12)
    run = details.add_run(_clean("  ·  ".join(contact)))
    run.font.size = Pt(8)
    run.font.color.rgb = RGBColor(*QUIET)


def _add_lines(document: Any, lines: tuple[str, ...], *, bold_first: bool = False) -> Any:
    """Return the paragraph added with `lines`, a line break between each; the first in bold if asked."""
    paragraph = document.add_paragraph()
    for number, line in enumerate(lines):
        run = paragraph.add_run(_clean(line))
        run.bold = (bold_first and number == 0) or None
        if number + 1 < len(lines):
            run.add_break()
    return paragraph


def _add_runs(paragraph: Any, runs: tuple[Run, ...]) -> None:
    """Add each run of a block to `paragraph` with its bold and italic."""
    for run in runs:
        added = paragraph.add_run(_clean(run.text))
        added.bold = run.bold or None
        added.italic = run.italic or None


def _title(letter: Letter) -> str:
    """Return the document title: to whom, and about what."""
    to = letter.recipient_lines[0] if letter.recipient_lines else letter.letter_id
    return f"Letter to {to}: {letter.subject}" if letter.subject else f"Letter to {to}"


def _clean(text: str) -> str:
    """Return `text` without the control characters that XML cannot hold."""
    return _NOT_XML.sub("", text)


def _set_east_asian_font(style: Any, font: str) -> None:
    """Name `font` for every script of a style; python-docx sets only the Latin one (w:ascii, w:hAnsi)."""
    from docx.oxml.ns import qn

    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), font)


def _set_language(document: Any) -> None:
    """Make British English the language of every run (the defaults and Normal) and of the theme's fonts."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    defaults = document.styles.element.find(qn("w:docDefaults"))
    holders = [defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))] if defaults is not None else []
    holders.append(document.styles["Normal"].element.get_or_add_rPr())
    for holder in holders:
        language = holder.find(qn("w:lang"))
        if language is None:
            language = OxmlElement("w:lang")
            holder.append(language)
        language.set(qn("w:val"), LANGUAGE)
        language.set(qn("w:eastAsia"), LANGUAGE)
    theme = document.settings.element.find(qn("w:themeFontLang"))
    if theme is not None:
        theme.set(qn("w:val"), LANGUAGE)


def _rule_below(paragraph: Any) -> None:
    """Draw a thin accent-coloured rule under `paragraph` (a bottom paragraph border, as Word does it)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    colour = "".join(f"{part:02X}" for part in ACCENT)
    for key, value in (("w:val", "single"), ("w:sz", "4"), ("w:space", "4"), ("w:color", colour)):
        bottom.set(qn(key), value)
    borders.append(bottom)
    # Word rejects a document whose pPr children are out of schema order, so pBdr goes before these.
    paragraph._p.get_or_add_pPr().insert_element_before(borders, *_AFTER_BORDERS)
