"""Rendering: one A4 page per letter, read back from real PDFs (pypdf) and DOCX files (python-docx)."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from outreach.errors import OutputError
from outreach.letters import Block, Letter, Run, Sender
from outreach.render.docx import write_docx
from outreach.render.pdf import render_pdfs, typeset

LAYOUT = Path(__file__).resolve().parent.parent / "letters" / "ipem-2024" / "letter.typ"

IPEM = Sender(
    organisation="Institute of Physics and Engineering in Medicine",
    address_lines=("Fairmount House", "230 Tadcaster Road", "York YO24 1ES"),
    email="publicaffairs@ipem.ac.uk",
    phone="01904 610821",
    website="www.ipem.ac.uk",
    signatory_name="Dr Anne Thompson",
    signatory_role="President, IPEM",
    footer="IPEM is a registered charity in England and Wales (no. 1155931).",
)

SPECIALS = ["#", "$", "*", "_", "@", "<b>", "\\", "[x]"]


def letter(
    letter_id: str,
    recipient: tuple[str, ...],
    salutation: str,
    site: str,
    extra: tuple[Block, ...] = (),
) -> Letter:
    """Return a realistic one-page letter naming `site`, with `extra` blocks before the closing paragraph."""
    body = (
        Block(
            "paragraph",
            (
                Run("Congratulations on your election. I write on behalf of the "),
                Run("Institute of Physics and Engineering in Medicine", bold=True),
                Run(", the professional body for medical physicists and clinical engineers in the UK."),
            ),
        ),
        Block(
            "paragraph",
            (
                Run("Our members at "),
                Run(site, bold=True),
                Run(
                    " plan radiotherapy, keep linear accelerators and MRI scanners safe, and run nuclear "
                    "medicine services for patients across the area."
                ),
            ),
        ),
        Block("paragraph", (Run("We ask the Government to:"),)),
        Block("bullet", (Run("fund more training places for clinical scientists;"),)),
        Block("bullet", (Run("register clinical technologists, as radiographers are;", italic=True),)),
        *extra,
        Block("paragraph", (Run("I would be glad to arrange a visit, at a time that suits you."),)),
    )
    return Letter(
        letter_id=letter_id,
        kind="seat",
        template="new_mp",
        date=date(2024, 7, 22),
        date_text="22 July 2024",
        recipient_lines=recipient,
        salutation=salutation,
        subject="Medical physics and clinical engineering in your constituency",
        blocks=body,
        closing="Yours sincerely",
        sender=IPEM,
    )


SPEAKER = letter(
    "4366-seat",
    (
        "Rt Hon Sir Lindsay Hoyle MP",
        "Speaker of the House of Commons",
        "House of Commons",
        "London",
        "SW1A 0AA",
    ),
    "Dear Mr Speaker",
    "Royal Bolton Hospital",
)
YNYS_MON = letter(
    "5283-seat",
    ("Llinos Medi MP", "House of Commons", "London", "SW1A 0AA"),
    "Dear Ms Medi",
    "Ysbyty Gwynedd, Ynys Môn",
)
SYMBOLS = letter(
    "5301-seat",
    ("Seán O'Brien MP", "House of Commons", "London", "SW1A 0AA"),
    "Dear Mr O'Brien",
    "St James's University Hospital",
    extra=(
        Block(
            "paragraph",
            (Run("Markup must print as typed: # $ * _ @ <b> \\ [x] and #set page(width: 1cm) too."),),
        ),
    ),
)
LETTERS = [SPEAKER, YNYS_MON, SYMBOLS]


def page_text(reader: PdfReader, number: int = 0) -> str:
    """Return one page's text with runs of white space made single spaces."""
    return re.sub(r"\s+", " ", reader.pages[number].extract_text())


def padded(base: Letter, paragraphs: int, letter_id: str) -> Letter:
    """Return `base` with `paragraphs` extra three-line paragraphs in its body."""
    filler = Block(
        "paragraph",
        (
            Run(
                "Medical physicists and clinical engineers keep the equipment of modern medicine safe and in "
                "service, from radiotherapy planning to imaging, and they train the next generation to do so."
            ),
        ),
    )
    return dataclasses.replace(
        base, letter_id=letter_id, blocks=base.blocks[:-1] + (filler,) * paragraphs + base.blocks[-1:]
    )


def render(letters: list[Letter], folder: Path, merged: bool = True) -> tuple[list[Path], Path]:
    """Render `letters` into `folder`; return their paths and the merged PDF's path."""
    paths = [folder / f"{item.letter_id}.pdf" for item in letters]
    all_path = folder / "all.pdf"
    render_pdfs(letters, LAYOUT, folder, paths, all_path if merged else None)
    return paths, all_path


def test_each_letter_is_one_a4_page_with_its_own_words(tmp_path: Path) -> None:
    paths, _ = render(LETTERS, tmp_path)

    for item, path in zip(LETTERS, paths, strict=True):
        reader = PdfReader(path)
        assert len(reader.pages) == 1
        box = reader.pages[0].mediabox
        assert float(box.width) == pytest.approx(595.3, abs=1)
        assert float(box.height) == pytest.approx(841.9, abs=1)
        text = page_text(reader)
        assert f"{item.salutation}," in text
        assert item.recipient_lines[0] in text
        assert "Fairmount House" in text and "York YO24 1ES" in text
        assert f"Our ref: {item.letter_id} 22 July 2024" in text
        assert "Yours sincerely, Dr Anne Thompson President, IPEM Email: publicaffairs@ipem.ac.uk · Tel: 01904" in text
        assert reader.metadata is not None and reader.metadata.title is not None
        assert item.recipient_lines[0] in reader.metadata.title


def test_names_and_markup_characters_print_literally(tmp_path: Path) -> None:
    paths, _ = render(LETTERS, tmp_path)

    assert "Ysbyty Gwynedd, Ynys Môn" in page_text(PdfReader(paths[1]))
    text = page_text(PdfReader(paths[2]))
    assert "Dear Mr O'Brien," in text
    assert "Seán O'Brien MP" in text
    assert "St James's University Hospital" in text
    assert "# $ * _ @ <b> \\ [x] and #set page(width: 1cm) too." in text
    for character in SPECIALS:
        assert character in text


def test_merged_pdf_holds_every_letter_in_order(tmp_path: Path) -> None:
    _, merged = render(LETTERS, tmp_path)

    reader = PdfReader(merged)
    assert len(reader.pages) == len(LETTERS)
    for number, item in enumerate(LETTERS):
        assert item.recipient_lines[0] in page_text(reader, number)


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    render(LETTERS, tmp_path / "out")

    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == sorted(
        ["all.pdf", *(f"{item.letter_id}.pdf" for item in LETTERS)]
    )


def test_rendering_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    first, first_all = render(LETTERS, tmp_path / "one")
    second, second_all = render(LETTERS, tmp_path / "two")

    assert [path.read_bytes() for path in first] == [path.read_bytes() for path in second]
    assert first_all.read_bytes() == second_all.read_bytes()


def test_typeset_puts_every_letter_in_one_document() -> None:
    reader = PdfReader(io.BytesIO(typeset(LETTERS, LAYOUT)))

    assert len(reader.pages) == len(LETTERS)
    assert "Dear Ms Medi," in page_text(reader, 1)


def overflowing_at_normal_size() -> Letter:
    """Return the shortest padding of YNYS_MON that runs onto a second page at the layout's normal size."""
    for paragraphs in range(4, 40):
        candidate = padded(YNYS_MON, paragraphs, "5283-seat")
        if len(PdfReader(io.BytesIO(typeset([candidate], LAYOUT))).pages) > 1:
            return candidate
    raise AssertionError("no padding made the letter overflow")


def test_a_letter_slightly_too_long_is_set_smaller_and_fits(tmp_path: Path) -> None:
    long = overflowing_at_normal_size()
    letters = [SPEAKER, long, SYMBOLS]
    paths = [tmp_path / f"{item.letter_id}.pdf" for item in letters]

    result = render_pdfs(letters, LAYOUT, tmp_path, paths, tmp_path / "all.pdf")

    assert result.shrunk == ["5283-seat"]
    assert result.pages == 3
    for path in paths:
        assert len(PdfReader(path).pages) == 1
    assert "I would be glad to arrange a visit" in page_text(PdfReader(paths[1]))
    merged = PdfReader(tmp_path / "all.pdf")
    assert len(merged.pages) == 3
    for number, item in enumerate(letters):
        assert item.recipient_lines[0] in page_text(merged, number)
    assert "Dear Ms Medi," in page_text(merged, 1)


def structure_types(element: pikepdf.Object) -> list[str]:
    """Return the types of a structure element and of every element under it, depth first."""
    kids = element.get("/K")
    found = [str(element.get("/S"))]
    for kid in (list(kids) if isinstance(kids, pikepdf.Array) else [kids]) if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            found += structure_types(kid)
    return found


def document_element(pdf: pikepdf.Pdf) -> pikepdf.Object:
    kids = pdf.Root.StructTreeRoot.K
    return kids[0] if isinstance(kids, pikepdf.Array) else kids


def test_the_split_reads_references_but_not_digits_in_strings() -> None:
    from outreach.render.split import _cut, _entries, _refs

    text = (
        rb"<</Type/StructElem/Alt(see \(1 0 R\) and (2 0 R) here)/ActualText<FEFF0033 0020 0030>"
        rb"/P 5 0 R/K[7 0 R 8 0 R]>>"
    )
    assert [part for part in _cut(text) if not isinstance(part, bytes)] == [(5, 0), (7, 0), (8, 0)]
    entries = _entries(text)
    assert entries[b"/Alt"] == rb"(see \(1 0 R\) and (2 0 R) here)"
    assert _refs(entries[b"/K"]) == [(7, 0), (8, 0)] and _refs(entries[b"/P"]) == [(5, 0)]


def test_the_split_refuses_a_pdf_not_written_as_typst_writes_it_in_one_line() -> None:
    from outreach.render.split import Batch

    typst_pdf = typeset([SPEAKER], LAYOUT)
    assert len(Batch(typst_pdf).pages) == 1
    compressed = io.BytesIO()
    with pikepdf.open(io.BytesIO(typst_pdf)) as document:  # object streams and a cross-reference stream
        document.save(compressed, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    with pytest.raises(OutputError, match=r"^the cross-reference section is not a plain table$"):
        Batch(compressed.getvalue())
    with pytest.raises(OutputError, match=r"^no startxref at the end$"):
        Batch(typst_pdf[: len(typst_pdf) // 2])


def test_print_pdf_with_a_letter_set_smaller_keeps_one_whole_structure_tree(tmp_path: Path) -> None:
    long = overflowing_at_normal_size()
    letters = [SPEAKER, long, SYMBOLS]
    paths = [tmp_path / f"{item.letter_id}.pdf" for item in letters]

    assert render_pdfs(letters, LAYOUT, tmp_path, paths, tmp_path / "all.pdf").shrunk == ["5283-seat"]

    with pikepdf.open(tmp_path / "all.pdf", attempt_recovery=False) as merged:
        assert merged.get_warnings() == []
        assert len(merged.pages) == 3
        assert str(merged.Root.Lang) == "en-GB" and merged.Root.MarkInfo.Marked is True
        assert "<xmpTPg:NPages>3</xmpTPg:NPages>" in merged.Root.Metadata.read_bytes().decode("utf-8")
        tree = merged.Root.StructTreeRoot
        nums = tree.ParentTree.Nums
        entries = {int(nums[at]): nums[at + 1] for at in range(0, len(nums), 2)}
        assert int(tree.ParentTreeNextKey) > max(entries)
        for page in merged.pages:  # each page's marked content names elements on that page
            entry = entries[int(page.obj.StructParents)]
            assert len(entry) > 0
            assert all(element.Pg.objgen == page.obj.objgen for element in entry if "/Pg" in element)
        # The letter set smaller has the same tags in print.pdf as in its own file, between the other two letters'.
        merged_types = structure_types(document_element(merged))
        singles = [pikepdf.open(path) for path in paths]  # kept open while their elements are read
        own = [structure_types(document_element(single)) for single in singles]
        assert all(len(types) > 20 for types in own)
        assert merged_types == ["/Document", *(kind for types in own for kind in types[1:])]
        assert "I would be glad to arrange a visit" in page_text(PdfReader(tmp_path / "all.pdf"), 1)


def test_a_letter_that_cannot_fit_names_itself_and_writes_nothing(tmp_path: Path) -> None:
    endless = padded(SYMBOLS, 60, "5301-seat")
    letters = [SPEAKER, endless]
    paths = [tmp_path / f"{item.letter_id}.pdf" for item in letters]

    with pytest.raises(OutputError, match=r"letter 5301-seat does not fit on one A4 page"):
        render_pdfs(letters, LAYOUT, tmp_path, paths, tmp_path / "all.pdf")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_layout_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "letter.typ"

    with pytest.raises(OutputError, match="nowhere/letter.typ"):
        render_pdfs([SPEAKER], missing, tmp_path, [tmp_path / "a.pdf"], None)


def test_an_error_in_the_layout_names_its_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "campaign" / "letter.typ"
    broken.parent.mkdir()
    broken.write_text("#let batch = json(bytes(sys.inputs.letters))\n#let oops = 1 +\n", encoding="utf-8")

    with pytest.raises(OutputError, match=r"campaign/letter\.typ:2: "):
        render_pdfs([SPEAKER], broken, tmp_path / "out", [tmp_path / "out" / "a.pdf"], None)


def test_a_layout_that_is_not_a4_is_refused_before_any_file_is_written(tmp_path: Path) -> None:
    a5 = tmp_path / "a5.typ"
    a5.write_text(
        "#let batch = json(bytes(sys.inputs.letters))\n"
        "#set document(title: batch.title)\n"
        '#for l in batch.letters { page(paper: "a5")[#metadata(l.id) <letter> #l.salutation] }\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"

    with pytest.raises(OutputError, match="letter 4366-seat: page is 420 x 595 pt, not A4"):
        render_pdfs(LETTERS, a5, out, [out / f"{item.letter_id}.pdf" for item in LETTERS], out / "all.pdf")
    assert list(out.iterdir()) == []


def test_a_layout_that_breaks_pdf_ua_is_one_line_naming_the_rule(tmp_path: Path) -> None:
    untitled = tmp_path / "untitled.typ"
    untitled.write_text(
        "#let batch = json(bytes(sys.inputs.letters))\n"
        "#for l in batch.letters { [#metadata(l.id) <letter> #l.salutation] }\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"

    refused = r"untitled.typ: Typst failed: PDF/UA-1 error: missing document title"
    with pytest.raises(OutputError, match=refused) as error:
        render_pdfs(LETTERS, untitled, out, [out / f"{item.letter_id}.pdf" for item in LETTERS], None)
    assert "\n" not in str(error.value)
    assert list(out.iterdir()) == []


def test_pdf_a_2b_is_added_on_request_and_agrees_with_the_information_dictionary(tmp_path: Path) -> None:
    paths = [tmp_path / f"{item.letter_id}.pdf" for item in LETTERS]
    render_pdfs(LETTERS, LAYOUT, tmp_path, paths, tmp_path / "all.pdf", standards=["a-2b"])
    for path in [*paths, tmp_path / "all.pdf"]:
        with pikepdf.open(path) as pdf:
            metadata = pdf.open_metadata()
            parts = (metadata["pdfaid:part"], metadata["pdfaid:conformance"], metadata["pdfuaid:part"])
            assert parts == ("2", "B", "1")
            assert "/OutputIntents" in pdf.Root, path
            info = pdf.docinfo
            # PDF/A: what the information dictionary says, the XMP metadata says too.
            assert metadata["dc:title"] == str(info.Title)
            assert metadata["xmp:CreatorTool"] == str(info.Creator)
            assert metadata["xmp:CreateDate"].startswith(str(info.CreationDate)[2:6] + "-")
    with pytest.raises(OutputError, match="unknown PDF standard 'a-1a': outreach offers a-2b"):
        render_pdfs(LETTERS, LAYOUT, tmp_path, paths, None, standards=["a-1a"])


def test_docx_holds_the_same_letter_on_a4(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "letters" / "5301-seat.docx"
    write_docx(SYMBOLS, path)

    document = docx.Document(str(path))
    section = document.sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    paragraphs = [paragraph.text for paragraph in document.paragraphs]
    text = "\n".join(paragraphs)
    assert paragraphs[0] == "Institute of Physics and Engineering in Medicine"
    assert "Fairmount House" in text and "www.ipem.ac.uk" in text
    assert "Seán O'Brien MP\nHouse of Commons\nLondon\nSW1A 0AA" in paragraphs
    assert "Dear Mr O'Brien," in paragraphs
    assert "Markup must print as typed: # $ * _ @ <b> \\ [x] and #set page(width: 1cm) too." in paragraphs
    assert "Yours sincerely," in paragraphs
    assert "Our ref: 5301-seat\n22 July 2024" in paragraphs
    assert "Dr Anne Thompson\nPresident, IPEM" in paragraphs
    assert paragraphs[-1] == "Email: publicaffairs@ipem.ac.uk · Tel: 01904 610821"
    bullets = [p for p in document.paragraphs if p.style is not None and p.style.name == "List Bullet"]
    assert [p.text for p in bullets] == [
        "fund more training places for clinical scientists;",
        "register clinical technologists, as radiographers are;",
    ]
    assert bullets[1].runs[0].italic is True
    bold = [run.text for p in document.paragraphs for run in p.runs if run.bold]
    assert "St James's University Hospital" in bold
    assert "registered charity" in section.footer.paragraphs[0].text
    assert document.core_properties.title.startswith("Letter to Seán O'Brien MP")
    assert [item.name for item in path.parent.iterdir()] == ["5301-seat.docx"]


def test_single_letter_pdfs_are_well_formed_and_self_contained(tmp_path: Path) -> None:
    import pikepdf

    letters = [*LETTERS, overflowing_at_normal_size()]  # set smaller: its page comes from a second batch
    paths = [tmp_path / f"{item.letter_id}.pdf" for item in letters]
    assert render_pdfs(letters, LAYOUT, tmp_path, paths, None).shrunk == [letters[-1].letter_id]
    for item, path in zip(letters, paths, strict=True):
        # qpdf's strict reading: no repair of the cross-reference table, no warnings.
        with pikepdf.open(path, attempt_recovery=False) as pdf:
            assert len(pdf.pages) == 1
            assert pdf.get_warnings() == []
            fonts = pdf.pages[0].Resources.Font
            assert all("/FontDescriptor" in font.DescendantFonts[0] for font in fonts.values())
            assert str(pdf.docinfo.Title).startswith(f"Letter to {item.recipient_lines[0]}")
            assert str(pdf.docinfo.Creator) == "outreach"
            assert pdf.Root.Pages.Count == 1
        assert_one_xref_section_from_zero(path.read_bytes())
        # Nothing of the other letters travels with it.
        text = page_text(PdfReader(path))
        others = [other.recipient_lines[0] for other in letters if other.recipient_lines[0] != item.recipient_lines[0]]
        assert not any(name in text for name in others)


def assert_one_xref_section_from_zero(data: bytes) -> None:
    """A file never updated has one xref subsection, from object 0 to /Size - 1 (ISO 32000-1, 7.5.4): each
    entry 20 bytes, each object in use found at its offset, the free entries one list ending at object 0."""
    start = int(data[data.rindex(b"startxref") + 9 :].split()[0])
    assert data[start:].startswith(b"xref\n")
    header = data[start + 5 : data.index(b"\n", start + 5)]
    first, count = (int(part) for part in header.split())
    size = int(re.search(rb"/Size (\d+)", data[data.rindex(b"trailer") :]).group(1))  # type: ignore[union-attr]
    assert (first, count) == (0, size)
    table = data[start + 5 + len(header) + 1 :]
    entries = [table[index * 20 : index * 20 + 20] for index in range(size)]
    assert table[size * 20 :].startswith(b"trailer")
    free = {}
    for number, entry in enumerate(entries):
        offset, generation, kind = entry.split()
        if kind == b"n":
            assert data[int(offset) :].startswith(b"%d %d obj" % (number, int(generation)))
        else:
            free[number] = int(offset)
    seen, number = [], free[0]
    while number:
        seen.append(number)
        number = free[number]
    assert sorted(seen) == sorted(set(free) - {0}) and entries[0].endswith(b"65535 f \n")
