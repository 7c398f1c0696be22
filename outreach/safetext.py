"""Text from outside made safe for where it goes: the terminal, a spreadsheet, a Markdown viewer.

Names, addresses and site names come from sources outreach does not control (the Members API, postcodes.io, the
contacts cache, CSV files people edit), and end up on screens and in files people open. Three rules, each applied
at a boundary, so the parts in between handle plain text:

- `clean`: control characters and terminal escapes are removed from everything a source gives, as it is read (the
  CSV reader, the manifest reader, address overrides) and as it is written (the one CSV writer, so a snapshot never
  holds them), and again from what is printed (tables, errors, previews). C0 controls but tab and newline (which
  become spaces where a field is one line), DEL, C1 controls, ESC sequences (ESC[2J clears a screen, OSC 8 makes a
  link) and the bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069, which reorder what a reader
  sees: "Trojan Source", CVE-2021-42574).
- `spreadsheet_cell`: a CSV cell a spreadsheet would run as a formula (OWASP, "CSV Injection": one starting with
  =, +, - or @, or with a tab or carriage return) gets a leading apostrophe, which spreadsheets show as text. A plain
  number (-4.3848, a longitude) is a number, not a formula, and is left alone. `from_spreadsheet` undoes it exactly,
  for the files outreach reads back (manifest.csv, the snapshot): a value that already started with apostrophes
  before such a character gets one more, so the round trip is exact.
- `markdown_text`: a value from data printed into a Markdown letter has < and > written as &lt; and &gt;, so a name
  `<script>` or `<img onerror=…>` is text in any Markdown viewer, never HTML; `markdown_plain` turns them back for
  the letter's printed forms (PDF, DOCX, e-mail), which take the text as data.
"""

from __future__ import annotations

import re

# CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), any other ESC + one character, and the 8-bit CSI.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?|\x9b[0-?]*[ -/]*[@-~]?")
# What is left to remove: C0 but tab and newline, DEL, C1, and the bidirectional embeddings, overrides and isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\t\r\n]+")


def clean(text: str, *, newlines: bool = False) -> str:
    """Return `text` without control characters, terminal escapes or bidirectional overrides; tabs and line breaks
    kept only with `newlines` (a carriage return never), else each run of them one space."""
    if text.isprintable():  # the usual case, decided in C: nothing to remove
        return text
    text = _ESCAPES.sub("", text)
    text = text.replace("\r\n", "\n") if newlines else _LINE_BREAKS.sub(" ", text)
    return _CONTROLS.sub("", text)


# Every value a template prints is wrapped in these two private-use characters, so a preview can show exactly
# which words were personalised (`outreach.letters`); they are stripped from everything written to disk.
MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _runs_as_formula(value: str) -> bool:
    """Return whether a spreadsheet would take the cell as a formula: a formula character first, not a number."""
    return value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value)


def spreadsheet_cell(value: str) -> str:
    """Return a CSV cell a spreadsheet shows as text: an apostrophe before one it would run as a formula."""
    return f"'{value}" if _runs_as_formula(value.lstrip("'")) else value


def from_spreadsheet(value: str) -> str:
    """Return the value a cell written by `spreadsheet_cell` held (its one added apostrophe removed)."""
    return value[1:] if value.startswith("'") and _runs_as_formula(value.lstrip("'")) else value


def markdown_text(value: str) -> str:
    """Return data as Markdown that stays text: < and > as &lt; and &gt;, so nothing in it becomes HTML."""
    return value.replace("<", "&lt;").replace(">", "&gt;")


def markdown_plain(markdown: str) -> str:
    """Return Markdown text as printed: the &lt; and &gt; that `markdown_text` writes turned back into < and >."""
    return markdown.replace("&lt;", "<").replace("&gt;", ">")
