"""Letters: the Jinja environment (StrictUndefined) and `Letter`, a letter as Markdown plus structured blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal


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
class Sender:
    """Who a campaign's letters come from: letterhead, reply details and signatory."""

    organisation: str
    address_lines: tuple[str, ...]
    email: str = ""
    phone: str = ""
    website: str = ""
    signatory_name: str = ""
    signatory_role: str = ""
    footer: str = ""


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
    extra: dict[str, str] = field(default_factory=dict)
