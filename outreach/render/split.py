"""Split a batch PDF into one small PDF per page, writing the objects each page needs and nothing else.

Every page of a Typst batch shares one set of resources (colour spaces and the embedded font subsets) and has
its own page dictionary and content stream. A general-purpose splitter copies the shared fonts into a new
document and re-serialises them once per page; here each object is serialised once (streams keep their
compressed bytes as Typst wrote them) and cut at its references, and each single-page PDF is assembled from those
pieces: a header, the shared objects, the page and its content, a one-page page tree (in place of the page's
/Parent), a catalog, an information dictionary, and a cross-reference table, the objects numbered anew from 1
as the pieces are joined. The result is an ordinary PDF 1.7 file;
the tests open every one with pypdf and check a sample with qpdf (pikepdf) in strict mode.

A tagged batch (PDF/UA-1) keeps its tags through the split. Its structure tree is one /Document element whose
children follow the reading order, and every child's content lies on one page, since each letter begins a new
page. Each single-page PDF gets a /Document element in place of the original, holding only the children
of its page, a structure tree root in place of the original, and a parent tree with only its page's entry (under
the page's own /StructParents key, so neither the page nor any marked content changes). The catalog carries what
PDF/UA asks of a document: /MarkInfo, /Lang, /ViewerPreferences /DisplayDocTitle, the letter's own XMP metadata,
and the batch's output intent when it is PDF/A.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from typing import Any
from xml.sax.saxutils import escape

import pikepdf


class PageWriter:
    """Writes single-page PDFs for the pages of one open batch document, caching shared objects' bytes."""

    def __init__(self, document: pikepdf.Pdf) -> None:
        self.document = document
        self.version = document.pdf_version.encode("ascii")
        self.next_number = int(document.trailer.get("/Size", len(document.objects) + 1))
        self.serialised: dict[tuple[int, int], _Serialised] = {}
        self.reached: dict[tuple[int, int], frozenset[tuple[int, int]]] = {}
        self.objects: dict[tuple[int, int], Any] = {}
        catalog = document.Root
        self.language = catalog.get("/Lang")
        self.structure = _Structure(document) if "/StructTreeRoot" in catalog else None
        self.intents = catalog.get("/OutputIntents")
        self.xmp = catalog.Metadata.read_bytes().decode("utf-8") if "/Metadata" in catalog else None

    def _object(self, objgen: tuple[int, int], obj: Any) -> _Serialised:
        """Return an indirect object serialised once: its text cut at references, and a stream's stored bytes."""
        cached = self.serialised.get(objgen)
        if cached is None:
            if isinstance(obj, pikepdf.Stream):
                raw = obj.read_raw_bytes()
                header = pikepdf.Dictionary(dict(obj.stream_dict.items()))
                header.Length = len(raw)  # the stored (still encoded) length, whatever the original said
                cached = (_cut(header.unparse(resolved=True)), raw)
            else:
                cached = (_cut(bytes(obj.unparse(resolved=True))), None)
            self.serialised[objgen] = cached
        return cached

    def _reach(self, item: Any) -> frozenset[tuple[int, int]]:
        """Return the indirect objects reachable from `item` (itself included if indirect), not up a tree.

        Walked over the serialised text (the references _cut found), which every object written needs anyway:
        cheaper than visiting pikepdf's objects. Memoised per indirect object, so the fonts every page shares are
        walked once per batch.
        """
        if not (isinstance(item, pikepdf.Object) and item.is_indirect):
            return frozenset().union(*(self._reach_id(objgen) for objgen in _downward(_cut(bytes(item.unparse())))))
        return self._reach_id(item.objgen, item)

    def _reach_id(self, objgen: tuple[int, int], item: Any = None) -> frozenset[tuple[int, int]]:
        """Return the indirect objects reachable from object `objgen`, itself included."""
        known = self.reached.get(objgen)
        if known is None:
            obj = item if item is not None else self.document.get_object(objgen)
            self.objects[objgen] = obj
            self.reached[objgen] = frozenset((objgen,))  # a cycle back here adds nothing new
            parts, _ = self._object(objgen, obj)
            known = frozenset((objgen,)).union(*(self._reach_id(child) for child in _downward(parts)))
            self.reached[objgen] = known
        return known

    def page_pdf(self, index: int, info: Mapping[str, str]) -> bytes:
        """Return a complete PDF holding page `index` of the batch alone, with document information `info`.

        `info` holds Title, Author, Subject, Creator and the dates; a tagged batch's letter gets the same in its
        XMP metadata, as PDF/A asks (the two must agree).
        """
        page = self.document.pages[index].obj
        pages = page.Parent.objgen
        reached = self._reach(page) - {pages}
        catalog, info_id, parent_tree, metadata = ((self.next_number + k, 0) for k in range(4))
        entries = [b"/Type /Catalog /Pages %d %d R" % pages]
        if self.language is not None:
            entries.append(b"/Lang " + self.language.unparse())
        made: dict[tuple[int, int], _Serialised] = {}
        if self.structure is not None:
            roots, tree = self.structure.for_page(page, parent_tree)
            for item in roots:
                if isinstance(item, pikepdf.Object) and item.is_indirect:
                    reached |= self._reach(item)
            made.update(tree)
            entries.append(
                b"/StructTreeRoot %d %d R /MarkInfo << /Marked true >> /ViewerPreferences << /DisplayDocTitle true >>"
                % self.structure.root
            )
        if self.xmp is not None:
            xmp = letter_xmp(self.xmp, info).encode("utf-8")
            made[metadata] = ([b"<< /Type /Metadata /Subtype /XML /Length %d >>" % len(xmp)], xmp)
            entries.append(b"/Metadata %d %d R" % metadata)
        if self.intents is not None:
            reached |= self._reach(self.intents)
            entries.append(b"/OutputIntents " + self.intents.unparse())
        made[pages] = (_cut(b"<< /Type /Pages /Kids [ %d %d R ] /Count 1 >>" % page.objgen), None)
        made[catalog] = (_cut(b"<< " + b" ".join(entries) + b" >>"), None)
        text = b" ".join(
            pikepdf.Name("/" + key).unparse() + b" " + pikepdf.String(value).unparse()
            for key, value in info.items()
            if value
        )
        made[info_id] = ([b"<< " + text + b" >>"], None)
        objects = {objgen: self._object(objgen, self.objects[objgen]) for objgen in reached}
        objects.update(made)
        return _assemble(self.version, objects, catalog, info_id)


class _Structure:
    """The structure tree of a tagged batch, cut per page: each page's children of /Document and parent tree entry."""

    def __init__(self, document: pikepdf.Pdf) -> None:
        tree = document.Root.StructTreeRoot
        self.root: tuple[int, int] = tree.objgen
        kids = tree.K
        top = kids[0] if isinstance(kids, pikepdf.Array) else kids
        if isinstance(kids, pikepdf.Array) and len(kids) != 1 or top.get("/S") != "/Document":
            raise ValueError("the tagged batch's structure tree is not one /Document element")
        self.top = top
        self.role_map = tree.get("/RoleMap")
        self.page_numbers = {page.objgen: number for number, page in enumerate(document.pages)}
        self.entries = {int(key): value for key, value in pikepdf.NumberTree(tree.ParentTree).items()}
        self.children = self._by_page(document, _as_list(top.K))

    def _by_page(self, document: pikepdf.Pdf, children: list[Any]) -> dict[int, list[Any]]:
        """Return /Document's children grouped by the page their content lies on.

        The children follow the reading order, page after page. A page's parent tree entry names the element
        of each of its marked contents in content order, so the first and last of them, followed up to
        /Document, bound the page's run of children; a run that overlaps the previous page's is an error.
        """
        position = {child.objgen: index for index, child in enumerate(children)}
        top = self.top.objgen
        runs: dict[int, list[Any]] = {}
        end = 0
        for number, page in enumerate(document.pages):
            entry = self.entries[int(page.obj.StructParents)]
            owners = _first_and_last(entry)
            if owners is None:
                continue
            first, last = (position[_child_of(owner, top)] for owner in owners)
            if first < end:
                raise ValueError(f"page {number + 1} shares a structure element with the page before")
            if runs:  # children with no content of their own stay with the page before
                runs[max(runs)] += children[end:first]
            runs[number] = children[first : last + 1]
            end = last + 1
        if runs:
            runs[max(runs)] += children[end:]
        return runs

    def for_page(
        self, page: Any, parent_tree_id: tuple[int, int]
    ) -> tuple[list[Any], dict[tuple[int, int], _Serialised]]:
        """Return what page `page`'s structure reaches in the batch, and the new objects that make its own tree."""
        children = self.children.get(self.page_numbers[page.objgen], [])
        key = int(page.StructParents)
        entry = self.entries[key]
        top = b"<< /Type /StructElem /S /Document /P %d %d R /K [ %s ] >>" % (
            *self.root,
            b" ".join(child.unparse() for child in children),
        )
        role_map = b" /RoleMap " + self.role_map.unparse(resolved=True) if self.role_map is not None else b""
        root = b"<< /Type /StructTreeRoot /K %d %d R /ParentTree %d %d R /ParentTreeNextKey %d%s >>" % (
            *self.top.objgen, *parent_tree_id, key + 1, role_map
        )
        parent_tree = b"<< /Nums [ %d %s ] >>" % (key, entry.unparse())
        return [*children, entry], {
            self.top.objgen: (_cut(top), None),
            self.root: (_cut(root), None),
            parent_tree_id: (_cut(parent_tree), None),
        }



def _as_list(kids: Any) -> list[Any]:
    """Return a structure element's /K as a list (it may be one kid or an array)."""
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def _first_and_last(entry: Any) -> tuple[Any, Any] | None:
    """Return the first and the last structure element a parent tree entry names (None if it names none).

    Only the two ends are looked at: an entry names dozens of elements, and each one read costs a pikepdf object.
    """
    count = len(entry)
    first = next((entry[at] for at in range(count) if isinstance(entry[at], pikepdf.Dictionary)), None)
    if first is None:
        return None
    last = next(entry[at] for at in reversed(range(count)) if isinstance(entry[at], pikepdf.Dictionary))
    return first, last


def _child_of(element: Any, top: tuple[int, int]) -> tuple[int, int]:
    """Return the object id of the child of /Document (`top`) that `element` lies under."""
    while element.P.objgen != top:
        element = element.P
    found: tuple[int, int] = element.objgen
    return found


def letter_xmp(batch: str, info: Mapping[str, str]) -> str:
    """Return the batch's XMP packet made one letter's: its title, subject and creator tool, and one page."""
    title = escape(info.get("Title", ""))
    subject = escape(info.get("Subject", ""))
    xmp = re.sub(
        r"<dc:title>.*?</dc:title>",
        lambda _: f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>'
        + (f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{subject}</rdf:li></rdf:Alt></dc:description>'
           if subject else ""),
        batch,
        count=1,
        flags=re.S,
    )
    if "Creator" in info:
        xmp = re.sub(r"<xmp:CreatorTool>.*?</xmp:CreatorTool>",
                     lambda _: f"<xmp:CreatorTool>{escape(info['Creator'])}</xmp:CreatorTool>", xmp, count=1)
    return re.sub(r"<xmpTPg:NPages>\d+</xmpTPg:NPages>", "<xmpTPg:NPages>1</xmpTPg:NPages>", xmp, count=1)


# An object serialised: its text cut at each indirect reference (the reference kept as its object id), and the
# stored bytes of a stream (None for any other object).
_Serialised = tuple[list[bytes | tuple[int, int]], bytes | None]

# Literal strings (qpdf escapes the parentheses inside them) and hex strings are skipped; "N G R" is a reference.
_TOKENS = re.compile(rb"(\((?:\\.|[^\\)])*\))|(<[0-9A-Fa-f\s]*>)|(\d+) (\d+) R\b", re.S)


_REFERENCE = re.compile(rb"(\d+) (\d+) R\b")
_STRINGS = re.compile(rb"\(|<[0-9A-Fa-f]")


def _cut(text: bytes) -> list[bytes | tuple[int, int]]:
    """Return `text` cut into runs of text and the object ids of the references between them."""
    if _STRINGS.search(text) is None:  # no string to skip: most objects, and the fast way
        pieces = _REFERENCE.split(text)
        cut: list[bytes | tuple[int, int]] = [pieces[0]]
        for at in range(1, len(pieces), 3):
            cut += [(int(pieces[at]), int(pieces[at + 1])), pieces[at + 2]]
        return cut
    parts: list[bytes | tuple[int, int]] = []
    start = 0
    for found in _TOKENS.finditer(text):
        if found.group(3) is None:
            continue  # a string: its digits are not references
        parts.append(text[start : found.start()])
        parts.append((int(found.group(3)), int(found.group(4))))
        start = found.end()
    parts.append(text[start:])
    return parts


def _downward(parts: list[bytes | tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Return the references in `parts` but those up a tree: a page's /Parent, a structure element's /P (each
    single PDF writes its own page tree and /Document)."""
    before = b""
    for part in parts:
        if isinstance(part, bytes):
            before = part
        elif not (before.endswith(b"/Parent ") or before.endswith(b"/P ")):
            yield part


def _assemble(
    version: bytes, objects: Mapping[tuple[int, int], _Serialised], root: tuple[int, int], info: tuple[int, int]
) -> bytes:
    """Return the PDF file of `objects`, numbered anew from 1 in the batch's order: header, objects, xref, trailer.

    The batch's numbers run into the tens of thousands in a tagged batch and a letter uses a few hundred of
    them; a cross-reference table lists every number from 0 (ISO 32000-1, 7.5.4), and readers refuse numbers
    far beyond what a file's size could hold, so each letter's objects are numbered 1..n.
    """
    numbers = {objgen: number for number, objgen in enumerate(sorted(objects), start=1)}
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for objgen in sorted(objects):
        parts, raw = objects[objgen]
        offsets.append(len(out))
        out += b"%d 0 obj\n" % numbers[objgen]
        for part in parts:
            out += part if isinstance(part, bytes) else b"%d 0 R" % numbers[part]
        if raw is not None:
            out += b"\nstream\n" + raw + b"\nendstream"
        out += b"\nendobj\n"
    digest = hashlib.md5(bytes(out), usedforsecurity=False).hexdigest().encode("ascii")
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [ <%s> <%s> ] >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(offsets) + 1,
        numbers[root],
        numbers[info],
        digest,
        digest,
        xref_at,
    )
    return bytes(out)


class StructureGraft:
    """Replaces pages of a tagged batch with pages of another, carrying each page's part of the structure tree.

    Used for `print.pdf` when some letters were typeset again smaller: the new page and its structure elements
    are copied in, the old pages' elements dropped, and the parent tree rebuilt for the pages that remain.
    """

    def __init__(self, document: pikepdf.Pdf, structure: _Structure | None = None) -> None:
        """`structure` is the document's structure tree as a PageWriter of it read it, if one did (it is read
        again otherwise: a second reading of 800 pages costs about 0.4 s)."""
        self.document = document
        structure = structure or _Structure(document)
        self.top = structure.top
        # Per page, in page order: its children of /Document and its parent tree entry.
        self.slots: list[tuple[list[Any], Any]] = [
            (structure.children.get(number, []), structure.entries[int(page.obj.StructParents)])
            for number, page in enumerate(document.pages)
        ]
        self.others: dict[int, _Structure] = {}

    def replace(
        self, start: int, count: int, other: pikepdf.Pdf, number: int, structure: _Structure | None = None
    ) -> None:
        """Put page `number` of `other`, with its structure, in place of this document's pages start..start+count.

        `structure` is `other`'s structure tree as a PageWriter read it, if one did.
        """
        if structure is None:
            structure = self.others.get(id(other)) or self.others.setdefault(id(other), _Structure(other))
        page = other.pages[number]
        del self.document.pages[start : start + count]
        self.document.pages.insert(start, page)
        children = []
        for child in structure.children.get(number, []):
            # Cut the link up to the other /Document first, so copying the element copies only its own subtree.
            parent = child.get("/P")
            del child["/P"]
            copied = self.document.copy_foreign(child)
            if parent is not None:
                child.P = parent
            copied.P = self.top
            children.append(copied)
        entry = self.document.copy_foreign(structure.entries[int(page.obj.StructParents)])
        self.slots[start : start + count] = [(children, entry)]

    def finish(self) -> None:
        """Write /Document's children and the parent tree anew for the pages the document now holds."""
        self.top.K = pikepdf.Array([child for children, _ in self.slots for child in children])
        numbers: list[Any] = []
        for key, (page, (_, entry)) in enumerate(zip(self.document.pages, self.slots, strict=True)):
            page.obj.StructParents = key
            numbers += [key, entry]
        tree = self.document.Root.StructTreeRoot
        tree.ParentTree = self.document.make_indirect(pikepdf.Dictionary(Nums=pikepdf.Array(numbers)))
        tree.ParentTreeNextKey = len(self.slots)
