"""Split a batch PDF into one small PDF per page, writing the objects each page needs and nothing else.

Every page of a Typst batch shares one set of resources (colour spaces and the embedded font subsets) and has
its own page dictionary and content stream. A general-purpose splitter copies the shared fonts into a new
document and re-serialises them once per page; here each object is serialised once (streams keep their
compressed bytes as Typst wrote them), and each single-page PDF is assembled from those bytes: a header, the
shared objects, the page and its content, a one-page page tree (written under the number the page's /Parent
already names, so the page dictionary needs no change), a catalog, an information dictionary, and a
cross-reference table with one subsection per run of object numbers. The result is an ordinary PDF 1.7 file;
the tests open every one with pypdf and check a sample with qpdf (pikepdf) in strict mode.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import pikepdf


class PageWriter:
    """Writes single-page PDFs for the pages of one open batch document, caching shared objects' bytes."""

    def __init__(self, document: pikepdf.Pdf) -> None:
        self.document = document
        self.version = document.pdf_version.encode("ascii")
        self.next_number = int(document.trailer.get("/Size", len(document.objects) + 1))
        self.serialised: dict[tuple[int, int], bytes] = {}
        self.reached: dict[tuple[int, int], frozenset[tuple[int, int]]] = {}
        self.objects: dict[tuple[int, int], Any] = {}
        catalog = document.Root
        self.language = catalog.get("/Lang")

    def _body(self, obj: Any) -> bytes:
        """Return an indirect object's serialised body: a dictionary, array or value, or a stream as stored."""
        if isinstance(obj, pikepdf.Stream):
            raw = obj.read_raw_bytes()
            header = pikepdf.Dictionary(dict(obj.stream_dict.items()))
            header.Length = len(raw)  # the stored (still encoded) length, whatever the original said
            return header.unparse(resolved=True) + b"\nstream\n" + raw + b"\nendstream"
        return bytes(obj.unparse(resolved=True))

    def _object(self, objgen: tuple[int, int], obj: Any) -> bytes:
        cached = self.serialised.get(objgen)
        if cached is None:
            number, generation = objgen
            cached = b"%d %d obj\n%s\nendobj\n" % (number, generation, self._body(obj))
            self.serialised[objgen] = cached
        return cached

    def _reach(self, item: Any) -> frozenset[tuple[int, int]]:
        """Return the indirect objects reachable from `item` (itself included if indirect), not via /Parent.

        Memoised per indirect object, so the fonts every page shares are walked once per batch.
        """
        if isinstance(item, pikepdf.Object) and item.is_indirect:
            objgen = item.objgen
            known = self.reached.get(objgen)
            if known is None:
                self.objects[objgen] = item
                self.reached[objgen] = frozenset((objgen,))  # a cycle back here adds nothing new
                known = frozenset((objgen,)).union(*self._children(item))
                self.reached[objgen] = known
            return known
        return frozenset().union(*self._children(item))

    def _children(self, item: Any) -> Iterator[frozenset[tuple[int, int]]]:
        if isinstance(item, pikepdf.Stream):
            values: Any = item.stream_dict.values()
        elif isinstance(item, pikepdf.Dictionary):
            values = [value for key, value in item.items() if key != "/Parent"]
        elif isinstance(item, pikepdf.Array):
            values = item
        else:
            return
        for value in values:
            if isinstance(value, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)) or (
                isinstance(value, pikepdf.Object) and value.is_indirect
            ):
                yield self._reach(value)

    def page_pdf(self, index: int, info: Mapping[str, str]) -> bytes:
        """Return a complete PDF holding page `index` of the batch alone, with document information `info`."""
        page = self.document.pages[index].obj
        parent_number, parent_generation = page.Parent.objgen
        reached = self._reach(page) - {(parent_number, parent_generation)}
        catalog_number, info_number = self.next_number, self.next_number + 1
        pieces: list[tuple[int, int, bytes]] = [
            (objgen[0], objgen[1], self._object(objgen, self.objects[objgen])) for objgen in reached
        ]
        page_number, page_generation = page.objgen
        pieces.append(
            (
                parent_number,
                parent_generation,
                b"%d %d obj\n<< /Type /Pages /Kids [ %d %d R ] /Count 1 >>\nendobj\n"
                % (parent_number, parent_generation, page_number, page_generation),
            )
        )
        language = b" /Lang " + self.language.unparse() if self.language is not None else b""
        pieces.append(
            (
                catalog_number,
                0,
                b"%d 0 obj\n<< /Type /Catalog /Pages %d %d R%s >>\nendobj\n"
                % (catalog_number, parent_number, parent_generation, language),
            )
        )
        entries = b" ".join(
            pikepdf.Name("/" + key).unparse() + b" " + pikepdf.String(value).unparse()
            for key, value in info.items()
            if value
        )
        pieces.append((info_number, 0, b"%d 0 obj\n<< %s >>\nendobj\n" % (info_number, entries)))
        pieces.sort()
        return _assemble(self.version, pieces, catalog_number, info_number)


def _assemble(version: bytes, pieces: list[tuple[int, int, bytes]], root: int, info: int) -> bytes:
    """Return the PDF file made of `pieces` (sorted by number): header, objects, xref table, trailer."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[tuple[int, int, int]] = []
    for number, generation, data in pieces:
        offsets.append((number, generation, len(out)))
        out += data
    digest = hashlib.md5(bytes(out), usedforsecurity=False).hexdigest().encode("ascii")
    xref_at = len(out)
    # A file never updated has one xref subsection from object 0 (ISO 32000-1, 7.5.4): the numbers this letter
    # does not use become free entries, linked in order, the last pointing back to object 0.
    size = max(number for number, _, _ in offsets) + 1
    used = {number: (generation, offset) for number, generation, offset in offsets}
    free = [number for number in range(1, size) if number not in used]
    next_free = dict(zip([0, *free], [*free, 0], strict=True))
    out += b"xref\n0 %d\n%010d 65535 f \n" % (size, next_free[0])
    for number in range(1, size):
        if number in used:
            generation, offset = used[number]
            out += b"%010d %05d n \n" % (offset, generation)
        else:
            out += b"%010d 00001 f \n" % next_free[number]
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [ <%s> <%s> ] >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        root,
        info,
        digest,
        digest,
        xref_at,
    )
    return bytes(out)
