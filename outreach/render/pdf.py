"""Typst PDF: every letter of a batch typeset in one compile, checked to fill one A4 page, split per letter.

Why one compile: each Typst compile has a fixed cost (10-20 ms for a single letter), so 800 letters
compiled one by one take about five times as long as one document of 800 pages (1.5-2 s on two cores).
Each letter starts a new page and opens with `#metadata(id) <letter>`; after compiling, `Compiler.eval`
asks the finished document (no second compile) on which page each letter starts. Letters that ran onto
a second page are typeset again, together, at the next smaller step of `TYPE_STEPS`; each one's single
page then takes the place of its overflowing pages. `render.split` writes one small PDF per letter from
the batch's objects, serialising the shared fonts once.

The letters reach Typst as JSON in `sys.inputs`, and the layout places every string as content, so no
character in a name or a paragraph can be read as Typst markup.

Every PDF is tagged PDF/UA-1 (Typst checks the standard as it writes: a layout that breaks it is an error naming
the rule); `--pdf-standard a-2b` adds PDF/A-2b. The split keeps the tags: see `render.split`.
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from outreach import forked
from outreach.errors import OutputError
from outreach.files import write_atomically
from outreach.letters import Block, Letter

if TYPE_CHECKING:
    import typst

    from outreach.render.split import Batch, PageWriter

# Body size in pt and a factor on vertical spacing: the first step is the layout's normal setting; an
# overflowing letter tries the next ones in turn, at most half a point per step so the change is hard to see.
TYPE_STEPS: tuple[tuple[float, float], ...] = ((11.0, 1.0), (10.5, 0.9), (10.0, 0.85), (9.5, 0.8))

A4_POINTS = (595.276, 841.89)  # 210 x 297 mm
_PAGE_TOLERANCE = 1.0

# Asks the compiled document, without compiling again, on which page each letter begins.
_LETTER_STARTS = "query(<letter>).map(found => found.location().page())"
# The standards every PDF meets, and the ones a draft may add (`--pdf-standard`), as Typst names them.
PDF_UA = "ua-1"
PDF_STANDARDS_OFFERED = ("a-2b",)

_DIAGNOSTIC_PLACE = re.compile(r"┌─ (?P<file>[^\n]+?):(?P<line>\d+):\d+")


@dataclass
class RenderResult:
    """What render_pdfs did: pages written, letters set smaller to fit, and where the time went."""

    pages: int
    shrunk: list[str] = field(default_factory=list)
    seconds_typst: float = 0.0
    seconds_split: float = 0.0


@dataclass
class _Typeset:
    """One compiled batch: the PDF as read for the split (its objects, pages and structure tree) and the first page
    (0-based) of each of its letters."""

    batch: Batch
    first_pages: list[int]

    @property
    def page_count(self) -> int:
        """Return how many pages the batch has."""
        return len(self.batch.pages)

    def pages_of(self, index: int) -> int:
        """Return how many pages letter `index` of this batch filled."""
        end = self.first_pages[index + 1] if index + 1 < len(self.first_pages) else self.page_count
        return end - self.first_pages[index]


def typeset(letters: Sequence[Letter], layout: Path) -> bytes:
    """Return the tagged PDF of one Typst compile of all `letters` as one document, at the layout's normal size."""
    return typeset_timed(letters, layout)[0]


def typeset_timed(letters: Sequence[Letter], layout: Path) -> tuple[bytes, float]:
    """Return the tagged PDF/UA-1 of one compile of all `letters` and the seconds Typst itself took.

    This is the floor of the drafting work: what Typst alone needs to set these letters with this layout, as
    one tagged document (its inputs made first).
    """
    import typst

    if not letters:
        raise ValueError("typeset: no letters")
    compiler = _compiler(layout)
    inputs = {"letters": letters_json(letters, [0] * len(letters))}
    started = time.perf_counter()
    try:
        pdf = compiler.compile(format="pdf", sys_inputs=inputs, pdf_tags=True, pdf_standards=_standards([PDF_UA]))
    except typst.TypstError as exc:
        raise OutputError(_typst_message(exc, layout)) from None
    seconds = time.perf_counter() - started
    if not isinstance(pdf, bytes):
        raise OutputError(f"{layout}: Typst returned no PDF")
    return pdf, seconds


@dataclass(frozen=True)
class _Step:
    """One compile of the typesetting: the batch, and the letters (by index) it set on one page, with their page."""

    batch: _Typeset
    fits: dict[int, int]


class Typesetting:
    """Typst setting a batch of letters in a thread of its own, started as soon as the letters are merged.

    Typst releases the GIL while it compiles, so the drafting work that follows (the similarity check, the
    letter checks, the Markdown files) and the split of the first compile's pages run beside it rather than
    after it. The thread compiles every letter at the layout's normal size, then the overflowing ones smaller,
    step by step (`TYPE_STEPS`); `steps()` hands each compile over in order, and raises what the thread raised.
    """

    def __init__(self, letters: Sequence[Letter], layout: Path, standards: Sequence[str] = ()) -> None:
        unknown = [standard for standard in standards if standard not in PDF_STANDARDS_OFFERED]
        if unknown:
            raise OutputError(
                f"unknown PDF standard {unknown[0]!r}: outreach offers {', '.join(PDF_STANDARDS_OFFERED)}"
            )
        if not letters:
            raise ValueError("Typesetting: no letters")
        self.letters = list(letters)
        self.seconds = 0.0  # the thread's own time, compiling and finding each letter's pages
        self._layout = layout
        self._standards = [PDF_UA, *standards]
        self._handed: queue.SimpleQueue[_Step | BaseException | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="outreach-typst")
        self._thread.start()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            for step in self._compile_steps():
                self._handed.put(step)
            self._handed.put(None)
        except BaseException as exc:  # handed to the caller's thread, which raises it
            self._handed.put(exc)
        finally:
            self.seconds = time.perf_counter() - started

    def _compile_steps(self) -> Iterator[_Step]:
        """Yield each compile with the letters it fitted; raise OutputError naming a letter that never fits."""
        compiler = _compiler(self._layout)
        waiting = list(range(len(self.letters)))
        for step in range(len(TYPE_STEPS)):
            if not waiting:
                return
            batch = _compile(
                compiler, [self.letters[i] for i in waiting], [step] * len(waiting), self._layout, self._standards
            )
            fits = {index: batch.first_pages[at] for at, index in enumerate(waiting) if batch.pages_of(at) == 1}
            waiting = [index for index in waiting if index not in fits]
            yield _Step(batch, fits)
        names = [self.letters[index].letter_id for index in waiting]
        more = f" (nor do {len(names) - 1} more: {', '.join(names[1:6])}{', ...' if len(names) > 6 else ''})"
        raise OutputError(
            f"letter {names[0]} does not fit on one A4 page, even at {TYPE_STEPS[-1][0]:g} pt"
            f"{more if len(names) > 1 else ''}; shorten it"
        )

    def steps(self) -> Iterator[_Step]:
        """Yield each compile as the thread finishes it (waiting for it); raise what the thread raised."""
        while (step := self._handed.get()) is not None:
            if isinstance(step, BaseException):
                raise step
            yield step

    def close(self) -> None:
        """Wait for the thread to end (a second call does nothing)."""
        self._thread.join()


def render_pdfs(
    letters: Sequence[Letter],
    layout: Path,
    out_dir: Path,
    paths: Sequence[Path],
    merged: Path | None,
    standards: Sequence[str] = (),
    typesetting: Typesetting | None = None,
) -> RenderResult:
    """Return a RenderResult after writing one single-page A4 PDF per letter (paths[i] for letters[i]).

    Letters that overflow are set smaller, step by step; one that still does not fit raises OutputError
    naming it, and nothing is written. `merged`, if given, receives every letter in order as one print-ready PDF.
    `out_dir` is created if missing; `paths` are used as given (absolute, or relative to the working directory).
    Every PDF is tagged PDF/UA-1; `standards` adds others of PDF_STANDARDS_OFFERED (PDF/A-2b). `typesetting`, if
    given, is these letters' typesetting already started (with these standards); else it starts here.
    While Typst sets the overflowing letters smaller, the pages that fitted are split.
    """
    if len(paths) != len(letters):
        raise ValueError(f"render_pdfs: {len(letters)} letters but {len(paths)} paths")
    if not letters:
        return RenderResult(pages=0)
    typesetting = typesetting or Typesetting(letters, layout, standards)
    try:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
        pdfs, batches, writers, source, split_seconds = _split_steps(letters, typesetting)
        for path, data in zip(paths, pdfs, strict=True):
            write_atomically(Path(path), _writing(data))
        if merged is not None:
            _write_merged(letters, batches, writers, source, merged)
    finally:
        typesetting.close()
    return RenderResult(
        pages=len(letters),
        shrunk=[letters[index].letter_id for index, (batch, _) in sorted(source.items()) if batch > 0],
        seconds_typst=typesetting.seconds,
        seconds_split=split_seconds,
    )


def _split_steps(
    letters: Sequence[Letter], typesetting: Typesetting
) -> tuple[list[bytes], list[_Typeset], list[PageWriter], dict[int, tuple[int, int]], float]:
    """Return each letter's single-page PDF, the batches and their page writers, where each letter's page is, and the
    seconds splitting.

    Each compile's pages are checked to be A4 and split as soon as it is handed over, while the next compiles.
    """
    from outreach.render.split import PageWriter

    pdfs: list[bytes] = [b""] * len(letters)
    batches: list[_Typeset] = []
    writers: list[PageWriter] = []
    source: dict[int, tuple[int, int]] = {}  # letter → (batch, page) holding its single page
    seconds = 0.0
    for number, step in enumerate(typesetting.steps()):
        started = time.perf_counter()
        batches.append(step.batch)
        batch = step.batch.batch
        for index, page in step.fits.items():  # before any split: a wrong layout leaves no files
            _check_a4(batch, page, letters[index])
        # The dates are the batch's own, which its XMP metadata repeats (PDF/A wants the two to agree).
        created, modified = batch.dates()
        pages = [(index, page, _info(letters[index], created, modified)) for index, page in step.fits.items()]
        writer = PageWriter(batch)
        writers.append(writer)
        for index, data in _split_pages(writer, pages):
            pdfs[index] = data
        source.update({index: (number, page) for index, page in step.fits.items()})
        seconds += time.perf_counter() - started
    return pdfs, batches, writers, source, seconds


def letters_json(letters: Sequence[Letter], steps: Sequence[int]) -> str:
    """Return the JSON the layout reads from sys.inputs.letters: a title, an author, and the letters."""
    organisations = sorted({letter.sender.organisation for letter in letters})
    if len(letters) == 1:
        title = _title(letters[0])
    else:
        title = f"{len(letters)} letters from {', '.join(organisations)}"
    return json.dumps(
        {
            "title": title,
            "author": ", ".join(organisations),
            "letters": [_letter_data(letter, step) for letter, step in zip(letters, steps, strict=True)],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _letter_data(letter: Letter, step: int) -> dict[str, Any]:
    """Return one letter as the plain data the layout expects."""
    size, spacing = TYPE_STEPS[step]
    sender = letter.sender
    return {
        "id": letter.letter_id,
        "size": size,
        "spacing": spacing,
        "date": letter.date_text,
        "recipient": list(letter.recipient_lines),
        "salutation": letter.salutation,
        "subject": letter.subject,
        "blocks": _blocks_data(letter.blocks),
        "closing": letter.closing,
        "reference": letter.reference,
        "signature": list(letter.signature),
        "reply": letter.reply,
        "enclosures": list(letter.enclosures),
        "sender": {
            "organisation": sender.organisation,
            "address_lines": list(sender.address_lines),
            "email": sender.email,
            "phone": sender.phone,
            "website": sender.website,
            "signatory_name": sender.signatory_name,
            "signatory_role": sender.signatory_role,
            "footer": sender.footer,
        },
    }


def _blocks_data(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Return the body as paragraphs and lists, consecutive bullets gathered into one list."""
    body: list[dict[str, Any]] = []
    for block in blocks:
        runs = [[run.text, run.bold, run.italic] for run in block.runs]
        if block.kind == "bullet":
            if body and body[-1]["kind"] == "list":
                body[-1]["items"].append(runs)
            else:
                body.append({"kind": "list", "items": [runs]})
        else:
            body.append({"kind": "paragraph", "runs": runs})
    return body


def _title(letter: Letter) -> str:
    """Return the PDF title of one letter: to whom, and about what."""
    to = letter.recipient_lines[0] if letter.recipient_lines else letter.letter_id
    return f"Letter to {to}: {letter.subject}" if letter.subject else f"Letter to {to}"


def _compiler(layout: Path) -> typst.Compiler:
    """Return a Typst compiler for `layout`, using only the fonts inside Typst and the layout's `fonts/`."""
    import typst

    if not layout.is_file():
        raise OutputError(f"{layout}: Typst layout not found")
    layout = layout.resolve()
    fonts = layout.parent / "fonts"
    # System fonts are left out on purpose: the same letter sets the same way on every machine,
    # and the compiler starts faster without scanning them.
    return typst.Compiler(
        str(layout),
        root=str(layout.parent),
        font_paths=[str(fonts)] if fonts.is_dir() else [],
        ignore_system_fonts=True,
    )


def _compile(
    compiler: typst.Compiler, letters: Sequence[Letter], steps: Sequence[int], layout: Path, standards: Sequence[str]
) -> _Typeset:
    """Return one tagged compile of `letters` at the given type steps and standards, with each letter's first page."""
    import typst

    # Letter dates, not the clock, date the PDF: re-rendering the same letters gives the same bytes.
    latest = max(letter.date for letter in letters)
    timestamp = datetime(latest.year, latest.month, latest.day, tzinfo=UTC)
    try:
        pdf = compiler.compile(
            format="pdf",
            sys_inputs={"letters": letters_json(letters, steps)},
            timestamp=timestamp,
            pdf_tags=True,
            pdf_standards=_standards(standards),
        )
        starts = json.loads(compiler.eval(_LETTER_STARTS, format="json"))
    except typst.TypstError as exc:
        raise OutputError(_typst_message(exc, layout)) from None
    if not isinstance(pdf, bytes):
        raise OutputError(f"{layout}: Typst returned no PDF")
    if len(starts) != len(letters):
        raise OutputError(f"{layout}: the layout marked {len(starts)} letters with <letter>, expected {len(letters)}")
    from outreach.render.split import Batch, BatchError

    try:
        batch = Batch(pdf)
    except BatchError as exc:
        raise OutputError(f"{layout}: Typst wrote a PDF outreach cannot split ({exc})") from None
    first_pages = [page - 1 for page in starts]
    return _Typeset(batch=batch, first_pages=first_pages)


def _standards(names: Sequence[str]) -> Any:
    """Return the standards as Typst's binding takes them (names it checks itself; ours are validated first)."""
    return list(names)


def _typst_message(exc: Exception, layout: Path) -> str:
    """Return a Typst error as one line: the layout file and line it points at, the message, its hints."""
    message = str(getattr(exc, "message", "") or exc).strip().splitlines()
    hints = getattr(exc, "hints", None) or []
    text = (message[0] if message else type(exc).__name__) + "".join(f" (hint: {hint})" for hint in hints)
    # The diagnostic draws the source: "error: ...\n  ┌─ letters/x/letter.typ:12:3\n ...", the path
    # relative to the working directory.
    where = _DIAGNOSTIC_PLACE.search(str(getattr(exc, "diagnostic", "") or ""))
    if where is None:
        return f"{layout}: Typst failed: {text}"
    return f"{os.path.normpath(where['file'])}:{where['line']}: {text}"


def _info(letter: Letter, created: str, modified: str) -> dict[str, str]:
    """Return a letter's PDF information dictionary: title, author, subject, creator and the batch's dates."""
    return {
        "Title": _title(letter),
        "Author": letter.sender.organisation,
        "Subject": letter.subject,
        "Creator": "outreach",
        "CreationDate": created,
        "ModDate": modified,
    }


# A batch at least this large is split by two processes when the machine has two cores or more: forking costs
# a few milliseconds, a page a few.
PARALLEL_SPLIT_PAGES = 64


def _split_pages(writer: PageWriter, pages: Sequence[tuple[int, int, dict[str, str]]]) -> list[tuple[int, bytes]]:
    """Return (letter index, single-page PDF) for each (index, page, info), the second half made in a child process
    (`outreach.forked`: the split is pure Python over objects Typst wrote, and the child has the open batch)."""
    return forked.map_halves(
        lambda page: (page[0], writer.page_pdf(page[1], page[2])),
        pages,
        minimum=PARALLEL_SPLIT_PAGES,
        what="splitting the PDFs",
    )


def _writing(data: bytes) -> Callable[[BinaryIO], object]:
    """Return a writer of `data` for write_atomically."""
    return lambda stream: stream.write(data)


def _write_merged(
    letters: Sequence[Letter],
    batches: Sequence[_Typeset],
    writers: Sequence[PageWriter],
    source: dict[int, tuple[int, int]],
    merged: Path,
) -> None:
    """Write every letter's page in order as one tagged PDF: Typst's own output when nothing had to be reset, else
    the pages joined from the batches that set them (`render.split.joined_pdf`)."""
    first = batches[0]
    if first.page_count == len(letters):
        write_atomically(merged, _writing(first.batch.data))
        return
    from outreach.render.split import joined_pdf

    data = joined_pdf(writers, [source[index] for index in range(len(letters))])
    write_atomically(merged, _writing(data))


def _check_a4(batch: Batch, page: int, letter: Letter) -> None:
    """Raise OutputError unless page `page` of `batch` is A4 portrait."""
    width, height = batch.page_box(page)
    if abs(width - A4_POINTS[0]) > _PAGE_TOLERANCE or abs(height - A4_POINTS[1]) > _PAGE_TOLERANCE:
        raise OutputError(f"letter {letter.letter_id}: page is {width:.0f} x {height:.0f} pt, not A4; check the layout")
