"""Split a batch PDF into one small PDF per page, and join several batches' pages into one, from Typst's own bytes.

Every page of a Typst batch shares one set of resources (colour spaces and the embedded font subsets) and has
its own page dictionary and content stream. A general-purpose splitter parses the whole file into objects and
re-serialises the shared fonts once per page; here the batch is read as Typst writes it (a plain cross-reference
table, no object streams), each object's bytes are taken from the file as they stand (streams keep their compressed
bytes) and cut at their references once, and each single-page PDF is assembled from those pieces: a header, the
shared objects, the page and its content, a one-page page tree (in place of the page's /Parent), a catalog, an
information dictionary, and a cross-reference table, the objects numbered anew from 1 as the pieces are joined.
The result is an ordinary PDF 1.7 file; the tests open every one with pypdf and check a sample with qpdf (pikepdf)
in strict mode.

A tagged batch (PDF/UA-1) keeps its tags through the split. Its structure tree is one /Document element whose
children follow the reading order, and every child's content lies on one page, since each letter begins a new
page. Each single-page PDF gets a /Document element in place of the original, holding only the children
of its page, a structure tree root in place of the original, and a parent tree with only its page's entry (under
the page's own /StructParents key, so neither the page nor any marked content changes). The catalog carries what
PDF/UA asks of a document: /MarkInfo, /Lang, /ViewerPreferences /DisplayDocTitle, the letter's own XMP metadata,
and the batch's output intent when it is PDF/A.

`joined_pdf` makes print.pdf when some letters were typeset again smaller: the first batch (every letter) copied
as Typst wrote it, object numbers and all, but for the overflowing letters' pages, with the later batches' pages
for those letters added in their place; the page tree, /Document, the parent tree and the XMP page count are
written anew.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from xml.sax.saxutils import escape

from outreach.errors import OutputError

ObjectId = tuple[int, int]


class BatchError(OutputError):
    """The batch is not a PDF as Typst writes it (a plain cross-reference table, one tagged /Document): one line,
    like any output error, wherever the split finds it."""


class Batch:
    """One PDF as Typst wrote it, read from its bytes: its objects, pages, catalog and structure tree."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.version = data[5:8]
        self.offsets, trailer_at, xref_at = _cross_references(data)
        self.trailer = _entries(data[trailer_at : _skip_value(data, trailer_at)])
        ends = sorted([*self.offsets.values(), xref_at])
        self.ends = dict(zip(ends, ends[1:], strict=False))
        self.texts: dict[int, tuple[bytes, bytes | None]] = {}
        self.parsed: dict[int, dict[bytes, bytes]] = {}
        self.downward: dict[ObjectId, list[ObjectId]] = {}
        self.serialised: dict[ObjectId, _Serialised] = {}
        self.size = int(self.trailer[b"/Size"])
        self.catalog = self.entries(_ref(self.trailer[b"/Root"]))
        self.info = self.entries(_ref(self.trailer[b"/Info"])) if b"/Info" in self.trailer else {}
        self.pages: list[ObjectId] = []
        self._collect_pages(_ref(self.catalog[b"/Pages"]))
        self.language = self.catalog.get(b"/Lang")
        self.intents = self.catalog.get(b"/OutputIntents")
        metadata = self.catalog.get(b"/Metadata")
        self.xmp = self.text(_ref(metadata))[1] if metadata is not None else None
        self.structure = Structure(self) if b"/StructTreeRoot" in self.catalog else None

    def _collect_pages(self, node: ObjectId) -> None:
        entries = self.entries(node)
        if entries.get(b"/Type") == b"/Pages":
            for kid in _refs(self.value(entries[b"/Kids"])):
                self._collect_pages(kid)
        else:
            self.pages.append(node)

    def text(self, objgen: ObjectId) -> tuple[bytes, bytes | None]:
        """Return object `objgen`'s text (a stream's dictionary) and a stream's stored bytes (None for others)."""
        known = self.texts.get(objgen[0])
        if known is None:
            known = self.texts[objgen[0]] = self._read(objgen)
        return known

    def _read(self, objgen: ObjectId) -> tuple[bytes, bytes | None]:
        offset = self.offsets.get(objgen[0])
        if offset is None or objgen[1] != 0:
            raise BatchError(f"object {objgen[0]} {objgen[1]} R is not in the batch")
        data, end = self.data, self.ends[offset]
        head = _OBJECT_HEAD.match(data, offset, end)
        if head is None or int(head[1]) != objgen[0]:
            raise BatchError(f"no object {objgen[0]} at byte {offset}")
        start = head.end()
        stop = data.rindex(b"endobj", start, end)
        if not data[start:stop].rstrip().endswith(b"endstream"):
            return data[start:stop].rstrip(), None
        # A stream: its dictionary, the keyword and an end of line, /Length bytes, an end of line, the end keyword.
        keyword = _STREAM_KEYWORD.search(data, start, stop)
        length = _LENGTH.search(data, start, keyword.start()) if keyword is not None else None
        if keyword is None or length is None:
            raise BatchError(f"stream {objgen[0]} {objgen[1]} R has no dictionary with a direct /Length")
        begin = keyword.end()
        finish = begin + int(length[1])
        if _STREAM_END.match(data, finish, stop) is None:
            raise BatchError(f"stream {objgen[0]} {objgen[1]} R: its /Length does not match its data")
        return data[start : keyword.start() + 2], data[begin:finish]

    def entries(self, objgen: ObjectId) -> dict[bytes, bytes]:
        """Return the top-level entries of dictionary object `objgen` (a stream's dictionary), values as text."""
        known = self.parsed.get(objgen[0])
        if known is None:
            known = self.parsed[objgen[0]] = _entries(self.text(objgen)[0])
        return known

    def value(self, text: bytes) -> bytes:
        """Return a value's text, the referenced object's text if it is a reference."""
        found = _REFERENCE.fullmatch(text.strip())
        return self.text((int(found[1]), int(found[2])))[0] if found else text

    def object(self, objgen: ObjectId) -> _Serialised:
        """Return an object serialised: its text cut at references, and a stream's stored bytes."""
        cached = self.serialised.get(objgen)
        if cached is None:
            text, raw = self.text(objgen)
            cached = self.serialised[objgen] = (_cut(text), raw)
        return cached

    def down(self, objgen: ObjectId) -> list[ObjectId]:
        """Return the references of object `objgen` but those up a tree (see `_downward`), kept."""
        known = self.downward.get(objgen)
        if known is None:
            known = self.downward[objgen] = list(_downward(self.object(objgen)[0]))
        return known

    def page_box(self, number: int) -> tuple[float, float]:
        """Return page `number`'s width and height in points, from its /MediaBox (or its page tree's)."""
        node = self.pages[number]
        while True:
            entries = self.entries(node)
            if b"/MediaBox" in entries:
                box = [float(value) for value in _strip_array(self.value(entries[b"/MediaBox"])).split()]
                return box[2] - box[0], box[3] - box[1]
            if b"/Parent" not in entries:
                raise BatchError(f"page {number + 1} has no /MediaBox")
            node = _ref(entries[b"/Parent"])

    def dates(self) -> tuple[str, str]:
        """Return the batch's creation and modification dates as PDF date strings (D:...), or empty."""
        return _literal(self.info.get(b"/CreationDate", b"")), _literal(self.info.get(b"/ModDate", b""))


class Structure:
    """The structure tree of a tagged batch, cut per page: each page's children of /Document and parent tree entry."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.root = _ref(batch.catalog[b"/StructTreeRoot"])
        tree = batch.entries(self.root)
        tops = _refs(batch.value(tree[b"/K"]))
        if len(tops) != 1 or batch.entries(tops[0]).get(b"/S") != b"/Document":
            raise BatchError("the tagged batch's structure tree is not one /Document element")
        self.top = tops[0]
        self.role_map = batch.value(tree[b"/RoleMap"]) if b"/RoleMap" in tree else None
        self.entries: dict[int, bytes] = {}
        self._numbers(tree[b"/ParentTree"])
        self.children = self._by_page(_refs(batch.value(batch.entries(self.top)[b"/K"])))

    def _numbers(self, node: bytes) -> None:
        """Read the parent tree's keys and values (a number tree: /Nums here, or /Kids down to them), from the text
        of its node (a dictionary, or a reference to one)."""
        entries = _entries(self.batch.value(node))
        for kid in _items(self.batch.value(entries.get(b"/Kids", b"[]"))):
            self._numbers(kid)
        items = _items(self.batch.value(entries.get(b"/Nums", b"[]")))
        for key, value in zip(items[::2], items[1::2], strict=True):
            self.entries[int(key)] = value

    def entry_of(self, number: int) -> tuple[int, bytes]:
        """Return page `number`'s /StructParents key and its parent tree entry (as text: an array or a reference)."""
        key = int(self.batch.entries(self.batch.pages[number])[b"/StructParents"])
        return key, self.entries[key]

    def _by_page(self, children: list[ObjectId]) -> dict[int, list[ObjectId]]:
        """Return /Document's children grouped by the page their content lies on.

        The children follow the reading order, page after page. A page's parent tree entry names the element
        of each of its marked contents in content order, so the first and last of them, followed up to
        /Document, bound the page's run of children; a run that overlaps the previous page's is an error.
        """
        position = {child: index for index, child in enumerate(children)}
        runs: dict[int, list[ObjectId]] = {}
        end = 0
        for number in range(len(self.batch.pages)):
            owners = _refs(self.batch.value(self.entry_of(number)[1]))
            if not owners:
                continue
            first, last = (position[self._child_of(owner)] for owner in (owners[0], owners[-1]))
            if first < end:
                raise BatchError(f"page {number + 1} shares a structure element with the page before")
            if runs:  # children with no content of their own stay with the page before
                runs[max(runs)] += children[end:first]
            runs[number] = children[first : last + 1]
            end = last + 1
        if runs:
            runs[max(runs)] += children[end:]
        return runs

    def _child_of(self, element: ObjectId) -> ObjectId:
        """Return the child of /Document that `element` lies under."""
        while True:
            parent = _ref(self.batch.entries(element)[b"/P"])
            if parent == self.top:
                return element
            element = parent


class PageWriter:
    """Writes single-page PDFs for the pages of one batch, each object cut once."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.structure = batch.structure

    def reach(self, texts: Sequence[bytes], objects: Sequence[ObjectId]) -> set[ObjectId]:
        """Return the objects reachable from the references in `texts` and from `objects` (themselves included),
        not up a tree (a page's /Parent, an element's /P): walked over each object's references, found once per
        batch (`Batch.down`)."""
        stack = [*objects, *(ref for text in texts for ref in _downward(_cut(text)))]
        found: set[ObjectId] = set()
        while stack:
            objgen = stack.pop()
            if objgen not in found:
                found.add(objgen)
                stack.extend(self.batch.down(objgen))
        return found

    def page_pdf(self, index: int, info: Mapping[str, str]) -> bytes:
        """Return a complete PDF holding page `index` of the batch alone, with document information `info`.

        `info` holds Title, Author, Subject, Creator and the dates; a tagged batch's letter gets the same in its
        XMP metadata, as PDF/A asks (the two must agree).
        """
        batch = self.batch
        page = batch.pages[index]
        pages = _ref(batch.entries(page)[b"/Parent"])
        catalog, info_id, parent_tree, metadata = ((batch.size + k, 0) for k in range(4))
        entries = [b"/Type /Catalog /Pages %d %d R" % pages]
        if batch.language is not None:
            entries.append(b"/Lang " + batch.language)
        made: dict[ObjectId, _Serialised] = {}
        starts, texts = [page], []
        if self.structure is not None:
            structure = self.structure
            children = structure.children.get(index, [])
            key, entry = structure.entry_of(index)
            starts += children
            texts.append(entry)
            top = b"<< /Type /StructElem /S /Document /P %d %d R /K [ %s ] >>" % (
                *structure.root,
                b" ".join(b"%d %d R" % child for child in children),
            )
            role_map = b" /RoleMap " + structure.role_map if structure.role_map is not None else b""
            root = b"<< /Type /StructTreeRoot /K %d %d R /ParentTree %d %d R /ParentTreeNextKey %d%s >>" % (
                *structure.top,
                *parent_tree,
                key + 1,
                role_map,
            )
            made[structure.top] = (_cut(top), None)
            made[structure.root] = (_cut(root), None)
            made[parent_tree] = (_cut(b"<< /Nums [ %d %s ] >>" % (key, entry)), None)
            entries.append(
                b"/StructTreeRoot %d %d R /MarkInfo << /Marked true >> /ViewerPreferences << /DisplayDocTitle true >>"
                % structure.root
            )
        if batch.xmp is not None:
            xmp = letter_xmp(batch.xmp.decode("utf-8"), info).encode("utf-8")
            made[metadata] = ([b"<< /Type /Metadata /Subtype /XML /Length %d >>" % len(xmp)], xmp)
            entries.append(b"/Metadata %d %d R" % metadata)
        if batch.intents is not None:
            texts.append(batch.intents)
            entries.append(b"/OutputIntents " + batch.intents)
        reached = self.reach(texts, starts) - {pages}
        made[pages] = (_cut(b"<< /Type /Pages /Kids [ %d %d R ] /Count 1 >>" % page), None)
        made[catalog] = (_cut(b"<< " + b" ".join(entries) + b" >>"), None)
        made[info_id] = ([_info_text(info)], None)
        objects = {objgen: batch.object(objgen) for objgen in reached}
        objects.update(made)
        return _assemble(batch.version, objects, catalog, info_id)


def joined_pdf(writers: Sequence[PageWriter], pages: Sequence[tuple[int, int]]) -> bytes:
    """Return one tagged PDF of `pages` ((batch, page number) pairs, in order): the first batch, which holds every
    letter, with some of its pages replaced by pages of later batches (letters typeset again smaller).

    The first batch's objects are copied as Typst wrote them, keeping their numbers, but for its pages left out
    (with their content and structure elements) and four made anew: the page tree, /Document, the structure tree
    root (its parent tree) and the XMP metadata (its page count). A later batch's objects for its pages follow,
    numbered on from the first batch's; each such page gets the next key of the parent tree.
    """
    writer = writers[0]
    first, structure = writer.batch, writer.structure
    if structure is None or any(other.structure is None for other in writers):
        raise BatchError("joining pages needs tagged batches")
    tree_id = _ref(first.catalog[b"/Pages"])
    kept = {number for b, number in pages if b == 0}
    if any(_ref(first.entries(first.pages[number])[b"/Parent"]) != tree_id for number in kept):
        raise BatchError("the first batch's page tree is not one node")
    root_entries = first.entries(structure.root)
    parent_tree_ref = _REFERENCE.fullmatch(root_entries[b"/ParentTree"].strip())
    next_key = max(structure.entries, default=-1) + 1
    # Objects of the first batch's pages that are left out, and those made anew.
    dropped = _pages_own(first, structure, [number for number in range(len(first.pages)) if number not in kept])
    replaced: dict[int, bytes] = {}
    # The later batches' objects, numbered on from the first's: batch b's object n becomes base[b] + n.
    base, total = [0], first.size
    for later in writers[1:]:
        base.append(total)
        total += later.batch.size
    swaps = [_swaps(later, tree_id, structure) for later in writers]  # the first batch's own are not used
    appended: dict[int, tuple[list[bytes | ObjectId], bytes | None]] = {}
    kids: list[bytes] = []
    children: list[bytes] = []
    numbers: list[tuple[int, bytes]] = []
    starts: dict[int, tuple[list[bytes], list[ObjectId]]] = {}
    for b, number in pages:
        other = writers[b]
        assert other.structure is not None
        own = other.structure.children.get(number, [])
        key, entry = other.structure.entry_of(number)
        page = other.batch.pages[number]
        if b == 0:
            kids.append(b"%d 0 R" % page[0])
            children += [b"%d 0 R" % child[0] for child in own]
            numbers.append((key, entry))
            continue
        starts.setdefault(b, ([], []))
        starts[b][0].append(entry)
        starts[b][1].extend((page, *own))
        kids.append(b"%d 0 R" % (base[b] + page[0]))
        children += [b"%d 0 R" % (base[b] + child[0]) for child in own]
        numbers.append((next_key, _joined(_renumbered(_cut(entry), base[b], swaps[b]))))
        appended[base[b] + page[0]] = (
            [
                _STRUCT_PARENTS.sub(b"/StructParents %d" % next_key, part) if isinstance(part, bytes) else part
                for part in other.batch.object(page)[0]
            ],
            None,
        )
        next_key += 1
    for b, (texts, objgens) in starts.items():
        for objgen in writers[b].reach(texts, objgens) - set(swaps[b]):
            parts, raw = appended.get(base[b] + objgen[0]) or writers[b].batch.object(objgen)
            appended[base[b] + objgen[0]] = (_renumbered(parts, base[b], swaps[b]), raw)
    replaced[tree_id[0]] = b"<< /Type /Pages /Kids [ %s ] /Count %d >>" % (b" ".join(kids), len(kids))
    replaced[structure.top[0]] = b"<< /Type /StructElem /S /Document /P %d 0 R /K [ %s ] >>" % (
        structure.root[0],
        b" ".join(children),
    )
    nums = b"<< /Nums [ %s ] >>" % b" ".join(b"%d %s" % (key, entry) for key, entry in sorted(numbers))
    root = dict(root_entries)
    root[b"/ParentTreeNextKey"] = b"%d" % next_key
    if parent_tree_ref is not None:
        replaced[int(parent_tree_ref[1])] = nums
    else:
        root[b"/ParentTree"] = nums
    replaced[structure.root[0]] = b"<< " + b" ".join(key + b" " + value for key, value in root.items()) + b" >>"
    streams: dict[int, bytes] = {}
    if first.xmp is not None and b"/Metadata" in first.catalog:
        metadata = _ref(first.catalog[b"/Metadata"])
        if b"/Filter" not in first.entries(metadata):
            streams[metadata[0]] = _page_count(first.xmp.decode("utf-8"), len(pages)).encode("utf-8")
            replaced[metadata[0]] = b"<< /Type /Metadata /Subtype /XML /Length %d >>" % len(streams[metadata[0]])
    return _copied(first, dropped | set(replaced), replaced, streams, appended)


def _swaps(other: PageWriter, tree: ObjectId, structure: Structure) -> dict[ObjectId, int]:
    """Return what a later batch's page tree, /Document and structure tree root become: the first batch's."""
    own = other.structure
    assert own is not None
    return {_ref(other.batch.catalog[b"/Pages"]): tree[0], own.top: structure.top[0], own.root: structure.root[0]}


def _renumbered(parts: list[bytes | ObjectId], base: int, swap: Mapping[ObjectId, int]) -> list[bytes | ObjectId]:
    """Return `parts` of a later batch with its references numbered on from `base`, or swapped for the first's."""
    return [
        part if isinstance(part, bytes) else ((swap[part], 0) if part in swap else (base + part[0], 0))
        for part in parts
    ]


def _pages_own(batch: Batch, structure: Structure, numbers: Sequence[int]) -> set[int]:
    """Return the objects only pages `numbers` of `batch` use: each page, its content, its structure elements and its
    parent tree entry (resources are shared, and kept)."""
    own: set[int] = set()
    for number in numbers:
        page = batch.pages[number]
        own.add(page[0])
        own.update(objgen[0] for objgen in _refs_in(batch.entries(page).get(b"/Contents", b"")))
        entry = structure.entry_of(number)[1]
        if _REFERENCE.fullmatch(entry.strip()):
            own.add(_ref(entry)[0])
        stack = list(structure.children.get(number, []))
        while stack:
            element = stack.pop()
            if element[0] in own:
                continue
            own.add(element[0])
            kids = batch.entries(element).get(b"/K")
            if kids is not None:
                stack += [kid for kid in _refs_in(kids) if _is_structure(batch.entries(kid))]
    return own


def _is_structure(entries: Mapping[bytes, bytes]) -> bool:
    """Return whether a dictionary is part of a structure tree: an element, or a reference to content."""
    kind = entries.get(b"/Type")
    return kind in (b"/StructElem", b"/MCR", b"/OBJR") or (kind is None and b"/S" in entries)


def _refs_in(text: bytes) -> list[ObjectId]:
    """Return the references in a value's text, outside its strings."""
    return [part for part in _cut(text) if not isinstance(part, bytes)]


def _joined(parts: Sequence[bytes | ObjectId]) -> bytes:
    """Return cut text joined again, each reference written out."""
    return b"".join(part if isinstance(part, bytes) else b"%d %d R" % part for part in parts)


def _copied(
    batch: Batch,
    left_out: set[int],
    replaced: Mapping[int, bytes],
    streams: Mapping[int, bytes],
    appended: Mapping[int, tuple[list[bytes | ObjectId], bytes | None]],
) -> bytes:
    """Return `batch`'s file with objects `left_out` removed, `replaced` objects (text, and stream data from
    `streams`) and `appended` ones (cut text, stream data) added, with a cross-reference table of what it holds."""
    data = batch.data
    out = bytearray(data[: min(batch.offsets.values())])
    offsets: dict[int, int] = {}
    run_start = run_end = -1
    for number, offset in sorted(batch.offsets.items(), key=lambda item: item[1]):
        end = batch.ends[offset]
        if number in left_out:
            continue
        if offset != run_end:
            if run_start >= 0:
                out += data[run_start:run_end]
            run_start = offset
        offsets[number] = len(out) + offset - run_start
        run_end = end
    if run_start >= 0:
        out += data[run_start:run_end]
    if not out.endswith(b"\n"):
        out += b"\n"
    for number, text in replaced.items():
        offsets[number] = len(out)
        _write_object(out, number, [text], streams.get(number), _first)
    for number, (parts, raw) in appended.items():  # their references already numbered as they are written
        offsets[number] = len(out)
        _write_object(out, number, parts, raw, _first)
    info = batch.trailer.get(b"/Info")
    return _finish(out, offsets, batch.trailer[b"/Root"], info)


def _page_count(xmp: str, pages: int) -> str:
    """Return an XMP packet with its page count set to `pages`."""
    return re.sub(r"<xmpTPg:NPages>\d+</xmpTPg:NPages>", f"<xmpTPg:NPages>{pages}</xmpTPg:NPages>", xmp, count=1)


def _info_text(info: Mapping[str, str]) -> bytes:
    """Return a document information dictionary of `info`'s non-empty values, as text strings."""
    text = b" ".join(b"/%s %s" % (key.encode("ascii"), _string(value)) for key, value in info.items() if value)
    return b"<< " + text + b" >>"


def _string(value: str) -> bytes:
    """Return `value` as a PDF text string: literal if it is printable ASCII, else UTF-16BE in hex with its BOM."""
    if all(" " <= character <= "~" for character in value):
        return b"(" + value.encode("ascii").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _literal(text: bytes) -> str:
    """Return the text of a PDF literal string of ASCII, such as a date '(D:20240722000000Z)' (empty if none)."""
    text = text.strip()
    if not (text.startswith(b"(") and text.endswith(b")")):
        return ""
    return re.sub(rb"\\(.)", rb"\1", text[1:-1]).decode("latin-1")


# --- reading the bytes Typst wrote -------------------------------------------------------------------------------

_WHITE = re.compile(rb"[ \t\r\n\f\x00]*")
_DELIMITED = rb"[^ \t\r\n\f\x00/<>\[\]()%{}]"
_NAME = re.compile(rb"/" + _DELIMITED + rb"*")
_ATOM = re.compile(_DELIMITED + rb"+")
_REF_AT = re.compile(rb"(\d+)[ \t\r\n]+(\d+)[ \t\r\n]+R(?!" + _DELIMITED + rb")")
_OBJECT_HEAD = re.compile(rb"(\d+)[ \t\r\n]+(\d+)[ \t\r\n]+obj[ \t\r\n]*")
_STREAM_END = re.compile(rb"(?:\r\n|\n|\r)?endstream[ \t\r\n]*$")
_STREAM_KEYWORD = re.compile(rb">>[ \t\r\n]*stream(?:\r\n|\n)")
_LENGTH = re.compile(rb"/Length[ \t\r\n]+(\d+)(?![ \t\r\n]+\d+[ \t\r\n]+R)")
# An array with nothing nested in it (numbers, names, references): skipped whole, not item by item.
_FLAT_ARRAY = re.compile(rb"\[[^\[\]()<>]*\]")
_STRUCT_PARENTS = re.compile(rb"/StructParents[ \t\r\n]+\d+")
_XREF_SECTION = re.compile(rb"[ \t\r\n]*(\d+)[ \t]+(\d+)[ \t]*\r?\n")


def _cross_references(data: bytes) -> tuple[dict[int, int], int, int]:
    """Return each object's byte offset (from a plain cross-reference table), where the trailer's dictionary
    starts, and where the table starts."""
    found = re.search(rb"startxref[ \t\r\n]+(\d+)[ \t\r\n]+%%EOF[ \t\r\n]*$", data[-64:])
    if found is None:
        raise BatchError("no startxref at the end")
    at = int(found[1])
    if not data.startswith(b"xref", at):
        raise BatchError("the cross-reference section is not a plain table")
    offsets: dict[int, int] = {}
    cursor = at + 4
    while (section := _XREF_SECTION.match(data, cursor)) is not None:
        first, count = int(section[1]), int(section[2])
        cursor = section.end()
        for number in range(first, first + count):
            line = data[cursor : cursor + 20]
            if line[17:18] == b"n":
                offsets[number] = int(line[:10])
            cursor += 20
    trailer = re.compile(rb"[ \t\r\n]*trailer[ \t\r\n]*").match(data, cursor)
    if trailer is None:
        raise BatchError("no trailer after the cross-reference table")
    return offsets, trailer.end(), at


def _skip_value(text: bytes, at: int) -> int:
    """Return where the PDF value starting at `at` (after any white space) ends."""
    at = _WHITE.match(text, at).end()  # type: ignore[union-attr]
    head = text[at : at + 1]
    if head == b"(":
        return _skip_string(text, at)
    if head == b"[" and (flat := _FLAT_ARRAY.match(text, at)) is not None:
        return flat.end()
    if head == b"[" or text.startswith(b"<<", at):
        close = b"]" if head == b"[" else b">>"
        at += 1 if head == b"[" else 2
        while True:
            at = _WHITE.match(text, at).end()  # type: ignore[union-attr]
            if text.startswith(close, at):
                return at + len(close)
            if at >= len(text):
                raise BatchError("an array or dictionary is not closed")
            at = _skip_value(text, at)
    if head == b"<":
        return text.index(b">", at) + 1
    if head == b"/":
        return _NAME.match(text, at).end()  # type: ignore[union-attr]
    found = _REF_AT.match(text, at) or _ATOM.match(text, at)
    if found is None:
        raise BatchError(f"unexpected {text[at : at + 8]!r}")
    return found.end()


def _skip_string(text: bytes, at: int) -> int:
    """Return where the literal string starting at `at` ends (balanced parentheses, backslash escapes)."""
    depth = 0
    while at < len(text):
        byte = text[at]
        if byte == 0x5C:  # backslash: the next byte is escaped
            at += 2
            continue
        if byte == 0x28:
            depth += 1
        elif byte == 0x29:
            depth -= 1
            if depth == 0:
                return at + 1
        at += 1
    raise BatchError("a string is not closed")


def _entries(text: bytes) -> dict[bytes, bytes]:
    """Return the top-level entries of a dictionary's text, each value as its text."""
    at = _WHITE.match(text).end()  # type: ignore[union-attr]
    if not text.startswith(b"<<", at):
        raise BatchError(f"not a dictionary: {text[:16]!r}")
    at += 2
    entries: dict[bytes, bytes] = {}
    while True:
        at = _WHITE.match(text, at).end()  # type: ignore[union-attr]
        if text.startswith(b">>", at):
            return entries
        name = _NAME.match(text, at)
        if name is None:
            raise BatchError(f"not a dictionary key: {text[at : at + 16]!r}")
        start = _WHITE.match(text, name.end()).end()  # type: ignore[union-attr]
        end = _skip_value(text, start)
        entries[name.group()] = text[start:end]
        at = end


def _items(text: bytes) -> list[bytes]:
    """Return the items of an array's text, each as its text."""
    inner = _strip_array(text)
    items, at = [], 0
    while (at := _WHITE.match(inner, at).end()) < len(inner):  # type: ignore[union-attr]
        end = _skip_value(inner, at)
        items.append(inner[at:end])
        at = end
    return items


def _strip_array(text: bytes) -> bytes:
    text = text.strip()
    if not (text.startswith(b"[") and text.endswith(b"]")):
        raise BatchError(f"not an array: {text[:16]!r}")
    return text[1:-1]


def _ref(text: bytes) -> ObjectId:
    """Return the object a reference's text names."""
    found = _REFERENCE.fullmatch(text.strip())
    if found is None:
        raise BatchError(f"not a reference: {text[:16]!r}")
    return int(found[1]), int(found[2])


def _refs(text: bytes) -> list[ObjectId]:
    """Return the objects a reference or an array of references names, in order (nulls left out)."""
    text = text.strip()
    if not text.startswith(b"["):
        return [] if text == b"null" else [_ref(text)]
    if _FLAT_ARRAY.fullmatch(text) and not _REFERENCE.sub(b"", text[1:-1]).replace(b"null", b"").strip():
        return [(int(number), int(generation)) for number, generation in _REFERENCE.findall(text)]
    return [_ref(item) for item in _items(text) if item != b"null"]


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
    return _page_count(xmp, 1)


# An object serialised: its text cut at each indirect reference (the reference kept as its object id), and the
# stored bytes of a stream (None for any other object).
_Serialised = tuple[list[bytes | tuple[int, int]], bytes | None]

_REFERENCE = re.compile(rb"(\d+)[ \t\r\n]+(\d+)[ \t\r\n]+R\b")
_STRINGS = re.compile(rb"\(|<[0-9A-Fa-f]")
# Where a string starts (a literal one, or a hex one: a "<" not part of "<<" or ">>"), or a reference "N G R".
_TOKENS = re.compile(rb"\(|(?<![<>])<(?![<>])|(\d+)[ \t\r\n]+(\d+)[ \t\r\n]+R\b")


def _cut(text: bytes) -> list[bytes | tuple[int, int]]:
    """Return `text` cut into runs of text and the object ids of the references between them (a string's digits
    are not references)."""
    if _STRINGS.search(text) is None:  # no string to skip: most objects, and the fast way
        pieces = _REFERENCE.split(text)
        cut: list[bytes | tuple[int, int]] = [pieces[0]]
        for at in range(1, len(pieces), 3):
            cut += [(int(pieces[at]), int(pieces[at + 1])), pieces[at + 2]]
        return cut
    parts: list[bytes | tuple[int, int]] = []
    start = at = 0
    while (found := _TOKENS.search(text, at)) is not None:
        if found.group(1) is None:  # a string: skip to its end
            at = _skip_string(text, found.start()) if found.group() == b"(" else text.index(b">", found.start()) + 1
            continue
        parts += [text[start : found.start()], (int(found.group(1)), int(found.group(2)))]
        start = at = found.end()
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


def _assemble(version: bytes, objects: Mapping[ObjectId, _Serialised], root: ObjectId, info: ObjectId) -> bytes:
    """Return the PDF file of `objects`, numbered anew from 1 in the batch's order: header, objects, xref, trailer.

    The batch's numbers run into the tens of thousands in a tagged batch and a letter uses a few hundred of
    them; a cross-reference table lists every number from 0 (ISO 32000-1, 7.5.4), and readers refuse numbers
    far beyond what a file's size could hold, so each letter's objects are numbered 1..n.
    """
    order = sorted(objects)
    numbers = {objgen: number for number, objgen in enumerate(order, start=1)}
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for objgen in order:
        offsets[numbers[objgen]] = len(out)
        _write_object(out, numbers[objgen], *objects[objgen], numbers.__getitem__)
    return _finish(out, offsets, b"%d 0 R" % numbers[root], b"%d 0 R" % numbers[info])


def _write_object(
    out: bytearray,
    number: int,
    parts: Sequence[bytes | ObjectId],
    raw: bytes | None,
    number_of: Callable[[ObjectId], int],
) -> None:
    """Append indirect object `number` to `out`: its cut text with each reference numbered by `number_of`, and a
    stream's stored bytes."""
    out += b"%d 0 obj\n" % number
    for part in parts:
        out += part if isinstance(part, bytes) else b"%d 0 R" % number_of(part)
    if raw is not None:
        out += b"\nstream\n" + raw + b"\nendstream"
    out += b"\nendobj\n"


def _first(objgen: ObjectId) -> int:
    """Return a reference's object number as it stands."""
    return objgen[0]


def _finish(out: bytearray, offsets: Mapping[int, int], root: bytes, info: bytes | None) -> bytes:
    """Return a PDF's objects `out` ({object number: offset}) with its cross-reference table, one subsection per run
    of consecutive numbers (object 0 the head of the free list), and its trailer; `root` and `info` are references."""
    digest = hashlib.md5(bytes(out), usedforsecurity=False).hexdigest().encode("ascii")
    xref_at = len(out)
    numbers = [0, *sorted(offsets)]
    out += b"xref\n"
    start = 0
    for at in range(1, len(numbers) + 1):
        if at == len(numbers) or numbers[at] != numbers[at - 1] + 1:
            out += b"%d %d\n" % (numbers[start], at - start)
            out += b"".join(
                b"%010d 00000 n \n" % offsets[number] if number else b"0000000000 65535 f \n"
                for number in numbers[start:at]
            )
            start = at
    out += b"trailer\n<< /Size %d /Root %s%s /ID [ <%s> <%s> ] >>\nstartxref\n%d\n%%%%EOF\n" % (
        numbers[-1] + 1,
        root,
        b" /Info " + info if info is not None else b"",
        digest,
        digest,
        xref_at,
    )
    return bytes(out)
