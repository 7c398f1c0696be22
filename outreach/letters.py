"""Letters: the Jinja environment (StrictUndefined) and `Letter`, a letter as Markdown plus structured blocks."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment

from outreach import limits
from outreach.campaign import Sender, reference_line
from outreach.errors import TemplateError
from outreach.safetext import MARK_CLOSE, MARK_OPEN, markdown_plain, markdown_text


@dataclass(frozen=True)
class Run:
    """A stretch of body text with one style; printed literally whatever characters it holds."""

    text: str
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True)
class Block:
    """One paragraph, or one item of a bulleted list, of a letter's body."""

    kind: Literal["paragraph", "bullet"]
    runs: tuple[Run, ...]


@dataclass(frozen=True)
class Letter:
    """One finished letter: every field a layout needs, and the same letter as Markdown."""

    letter_id: str
    kind: str
    template: str
    date: date
    date_text: str
    recipient_lines: tuple[str, ...]
    salutation: str
    subject: str
    blocks: tuple[Block, ...]
    closing: str
    sender: Sender
    markdown: str = ""
    enclosures: tuple[str, ...] = ()  # after the signature, one "Enc. <title>" line for each

    @property
    def reference(self) -> str:
        """Return the reference replies can quote, printed by the date: 'Our ref: 4366-seat'."""
        return reference_line(self.letter_id)

    @property
    def signature(self) -> tuple[str, ...]:
        """Return the lines under the closing: the signatory's name, then their role (each only when set)."""
        return tuple(line for line in (self.sender.signatory_name, self.sender.signatory_role) if line)

    @property
    def reply(self) -> str:
        """Return the line under the signature that says where to reply: 'Email: … · Tel: …' (empty if neither)."""
        parts = (("Email", self.sender.reply_address), ("Tel", self.sender.phone))
        return " · ".join(f"{label}: {value}" for label, value in parts if value)


_INLINE = re.compile(r"(\*\*(?P<bold>.+?)\*\*|\*(?P<italic>[^*\s](?:.*?[^*\s])?)\*)")


def strip_marks(text: str) -> str:
    """Return `text` without the personalisation marks."""
    return text.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")


def _finalize(value: object) -> object:
    """Mark a printed template value as personalised (Jinja's finalize hook), its < and > as Markdown text.

    A value is data (a name, a site, a constituency), so it must not become HTML in the Markdown letter; the
    escaping is idempotent, so a macro's output printed again is not escaped twice.
    """
    if value is None or value == "":
        return value
    return f"{MARK_OPEN}{markdown_text(str(value))}{MARK_CLOSE}"


def _number(value: float, places: int = 0) -> str:
    """Return a number with thousands separators, rounded: `12,345` or `12.3`."""
    return f"{value:,.{places}f}"


def join_and(items: Iterable[object], last: str = "and") -> str:
    """Return 'a', 'a and b', or 'a, b and c'."""
    words = [str(item) for item in items]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _words(value: int) -> str:
    """Return a small count in words, as letters write them: 3 → three."""
    return _WORDS[value] if 0 <= value < len(_WORDS) else str(value)


def _sentence(value: str) -> str:
    """Return text made fit to start a sentence: its first letter upper case, the rest untouched."""
    return value[:1].upper() + value[1:]


def _long_date(value: date) -> str:
    """Return a date as British letters print it: 4 July 2024."""
    return f"{value.day} {value:%B %Y}"


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, refusing the arithmetic that makes one value too large for a letter ('x' * 10**9, 9**9**9).

    The sandbox keeps templates from Python's internals but not from using up memory; the letter's own size is
    capped as it is rendered (render_template), and this stops a single expression before it is computed.
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        """Return `left operator right`, unless the result would be over the letter limit."""
        count, sized = (right, left) if isinstance(right, int) else (left, right)
        if operator == "*" and isinstance(count, int) and isinstance(sized, str | bytes | list | tuple):
            if len(sized) * count > limits.LETTER_BYTES:
                raise SecurityError(f"repeating a value {count:,} times makes it over the letter limit")
        if operator == "**" and isinstance(right, int) and abs(right) > 1000:
            raise SecurityError(f"a power of {right:,} is too large for a letter")
        return super().call_binop(context, operator, left, right)


class _Loader(jinja2.FileSystemLoader):
    """The campaign's templates folder: a template is a file inside it (links resolved) within the size limit."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """Return the template's source, refusing a link out of the folder or a file over the limit, unread."""
        for folder in self.searchpath:
            path = Path(folder, *split_template_path(template))
            if path.is_file():
                if not path.resolve().is_relative_to(Path(folder).resolve()):
                    raise TemplateError(f"{path}: a link out of the campaign's templates folder")
                limits.check_file(path, limits.CAMPAIGN_FILE_BYTES, "the template")
        return super().get_source(environment, template)


def environment(template_folder: Path, cache: Path | None = None) -> jinja2.Environment:
    """Return the strict Jinja environment for a campaign's templates (compiled templates cached in `cache`)."""
    bytecode_cache = None
    if cache is not None:
        try:
            cache.mkdir(parents=True, exist_ok=True)
            bytecode_cache = jinja2.FileSystemBytecodeCache(str(cache))
        except OSError:
            bytecode_cache = None  # a cache that cannot be written only costs time
    # Campaign templates are the campaign author's, not ours: Jinja's sandbox keeps them from Python's internals
    # ({{ ''.__class__ }} and the like are refused), and any failure is one line naming template:line.
    env = _Sandbox(
        bytecode_cache=bytecode_cache,
        loader=_Loader(template_folder),
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # one run renders hundreds of letters: check the template files once, not per include
        autoescape=False,  # the output is Markdown, and reaches Typst and DOCX as data, never as markup
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,  # a partial ends where its text ends; '+%}' keeps breaks
        finalize=_finalize,
    )
    env.filters["number"] = _number
    env.filters["join_and"] = join_and
    env.filters["long_date"] = _long_date
    env.filters["words"] = _words
    env.filters["sentence"] = _sentence
    return env


def template_error(exc: Exception, folder: Path) -> TemplateError:
    """Return a one-line error naming the template file and line where rendering failed."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = f"{folder / exc.name}:{exc.lineno}" if exc.name else str(folder)
        return TemplateError(f"{where}: {exc.message}")
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return TemplateError(
                f"{frame.filename}:{frame.lineno}: {_undefined_name(exc, frame.filename, frame.lineno)}"
            )
    return TemplateError(f"{folder}: {exc}")


def _undefined_name(exc: Exception, filename: str, line: int | None) -> str:
    """Return Jinja's message, naming the dotted expression ('recipient.nmae') where an attribute was missing."""
    missing = re.search(r"has no attribute '(\w+)'", str(exc))
    if missing and line:
        try:
            source = Path(filename).read_text(encoding="utf-8").splitlines()[line - 1]
        except (OSError, IndexError):
            return str(exc)
        expression = re.search(rf"([A-Za-z_][\w.]*\.{re.escape(missing.group(1))})\b", source)
        if expression:
            return f"'{expression.group(1)}' is undefined"
    return str(exc)


def parse_body(markdown: str) -> tuple[Block, ...]:
    """Return the blocks of a Markdown body: paragraphs split on blank lines, `- ` bullets, **bold** and *italic*."""
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("paragraph", _runs(" ".join(paragraph))))
            paragraph.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith(("- ", "* ")):
            flush()
            blocks.append(Block("bullet", _runs(line[2:].strip())))
        elif blocks and blocks[-1].kind == "bullet" and not paragraph and raw.startswith("  "):
            last = blocks.pop()
            joined = "".join(run.text for run in last.runs)
            blocks.append(Block("bullet", _runs(f"{joined} {line}")))
        else:
            paragraph.append(line)
    flush()
    return tuple(blocks)


def _runs(text: str) -> tuple[Run, ...]:
    """Return the styled runs of one line of Markdown."""
    runs: list[Run] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            runs.append(Run(markdown_plain(text[position : match.start()])))
        if match.group("bold") is not None:
            runs.append(Run(markdown_plain(match.group("bold")), bold=True))
        else:
            runs.append(Run(markdown_plain(match.group("italic")), italic=True))
        position = match.end()
    if position < len(text):
        runs.append(Run(markdown_plain(text[position:])))
    return tuple(runs)


@dataclass(frozen=True)
class Rendered:
    """A template's output: the subject line and the body, both still carrying personalisation marks."""

    subject: str
    body: str


def _render_capped(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """Return a template's output, stopped as soon as it is over the letter limit.

    The limit is raised inside the template, where it was reached, so the error names the template and line.
    """
    parts: list[str] = []
    size = 0
    generator = cast(Generator[str, None, None], template.generate(context))  # typed as an Iterator; it is one
    for chunk in generator:
        size += len(chunk.encode("utf-8")) if not chunk.isascii() else len(chunk)
        if size > limits.LETTER_BYTES:
            over = f"the letter grew past {limits.size(limits.LETTER_BYTES)}, the limit for one letter"
            generator.throw(SecurityError(f"{over}: look for a loop, or a recursion of includes"))
        parts.append(chunk)
    return "".join(parts)


def render_template(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> Rendered:
    """Return a template's subject (its first line, '# ' removed) and body; raises TemplateError."""
    try:
        with limits.memory_cap(limits.RENDER_MEMORY_BYTES):
            text = _render_capped(env.get_template(f"{name}.md.j2"), context)
    except (
        jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError, RecursionError, MemoryError
    ) as exc:
        # A template's own fault of any kind ({{ 1/0 }}, a recursive include) is the campaign author's to fix.
        if isinstance(exc, MemoryError):
            over = f"this needs over {limits.size(limits.RENDER_MEMORY_BYTES)} of memory, the limit for one letter"
            exc = jinja2.TemplateRuntimeError(over).with_traceback(exc.__traceback__)
        loader = env.loader
        folder = Path(loader.searchpath[0]) if isinstance(loader, jinja2.FileSystemLoader) else Path(".")
        raise template_error(exc, folder) from None
    text = text.lstrip("\n")
    first, _, rest = text.partition("\n")
    if not strip_marks(first).startswith("# "):
        raise TemplateError(f"{name}.md.j2:1: a letter template starts with its subject line ('# ...')")
    subject = first.replace("# ", "", 1).strip()
    body = re.sub(r"\n{3,}", "\n\n", rest.strip("\n"))
    return Rendered(subject=subject, body=body)


def enclosure_line(title: str) -> str:
    """Return the line after the signature that lists one enclosure."""
    return f"Enc. {title}"


def assemble(
    *,
    letter_id: str,
    kind: str,
    template: str,
    letter_date: date,
    recipient_lines: Sequence[str],
    salutation: str,
    rendered: Rendered,
    closing: str,
    sender: Sender,
    enclosures: Sequence[str] = (),
) -> tuple[Letter, str]:
    """Return the finished letter and its marked Markdown (for a preview that highlights what was personalised)."""
    date_text = _long_date(letter_date)
    letter = Letter(
        letter_id=letter_id,
        kind=kind,
        template=template,
        date=letter_date,
        date_text=date_text,
        recipient_lines=tuple(strip_marks(line) for line in recipient_lines),
        salutation=strip_marks(salutation),
        subject=markdown_plain(strip_marks(rendered.subject)),
        blocks=parse_body(strip_marks(rendered.body)),
        closing=closing,
        sender=sender,
        enclosures=tuple(enclosure_line(title) for title in enclosures),
    )
    text = markdown_text  # every line from data or the campaign is Markdown text, never HTML (the body already is)
    marked = "\n".join(
        [
            f"**{text(sender.organisation)}**  ",
            *[f"{text(line)}  " for line in sender.address_lines],
            "",
            f"{text(letter.reference)}  ",
            date_text,
            "",
            *[f"{text(line)}  " for line in recipient_lines],
            "",
            f"**{rendered.subject}**",
            "",
            f"{text(salutation)},",
            "",
            rendered.body,
            "",
            f"{text(closing)},",
            "",
            *[f"{text(line)}  " for line in (*letter.signature, sender.organisation, letter.reply) if line],
            *(["", *[f"{text(line)}  " for line in letter.enclosures]] if letter.enclosures else []),
            "",
        ]
    )
    letter = replace(letter, markdown=strip_marks(marked))
    return letter, marked
