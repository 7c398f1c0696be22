"""Drafting: select the targets, merge every letter, then write the outbox (Markdown, PDF, DOCX, manifest) whole."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from outreach import address, changes, limits, outbox, settings, similarity
from outreach.campaign import Campaign
from outreach.errors import OutreachError
from outreach.merge import Merged, Merger
from outreach.snapshot import Snapshot
from outreach.targeting import Chosen, Selection, Target, select

if TYPE_CHECKING:
    from outreach.render.pdf import Typesetting

FORMATS = ("md", "pdf", "docx")
Progress = Callable[[str, int, int], None]


@dataclass
class DraftResult:
    """What a draft wrote, with the figures its summary reports."""

    out: Path
    merged: list[Merged]
    rows: list[dict[str, str]]
    formats: tuple[str, ...]
    shrunk: list[str] = field(default_factory=list)


def parse_formats(text: str) -> tuple[str, ...]:
    """Return the formats named in a comma-separated list such as 'md,pdf'."""
    formats = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [name for name in formats if name not in FORMATS]
    if unknown or not formats:
        raise OutreachError(f"--format: unknown format '{unknown[0] if unknown else text}' (use md, pdf, docx)")
    return formats


def parse_pdf_standards(names: Sequence[str]) -> tuple[str, ...]:
    """Return the PDF standards `--pdf-standard` names, beyond the PDF/UA-1 every PDF meets."""
    from outreach.render.pdf import PDF_STANDARDS_OFFERED

    standards = tuple(dict.fromkeys(name.strip().lower() for name in names if name.strip()))
    unknown = [name for name in standards if name not in PDF_STANDARDS_OFFERED]
    if unknown:
        offered = ", ".join(PDF_STANDARDS_OFFERED)
        raise OutreachError(f"--pdf-standard: unknown standard '{unknown[0]}' (use {offered}; every PDF is PDF/UA-1)")
    return standards


def targets_for(snapshot: Snapshot, campaign: Campaign, selection: Selection, today: date) -> Chosen:
    """Return the targets a selection names, with the campaign's address overrides and the changes of office
    reported since the posts' date (the embedded list, the campaign's and the user's own) applied."""
    overrides = address.load_overrides(campaign.overrides) if campaign.overrides else None
    changed = changes.reported(snapshot.posts_as_of, campaign.folder)
    return select(snapshot, campaign, selection, today, overrides, changed)


def merge_all(
    targets: Sequence[Target], campaign: Campaign, today: date, progress: Progress | None = None
) -> list[Merged]:
    """Return every target's merged letter; a template error stops the run before anything is written."""
    merger = Merger(campaign, campaign.date_for(today), settings.home() / "cache" / "templates")
    merged = []
    with limits.memory_cap(limits.RENDER_MEMORY_BYTES):  # set once for all the letters: each render then keeps it
        for index, target in enumerate(targets, 1):
            merged.append(merger.merge(target))
            if progress and (index % 50 == 0 or index == len(targets)):
                progress("merge", index, len(targets))
    return merged


def distinctness(merged: Sequence[Merged]) -> similarity.Similarity:
    """Return how alike the letters' bodies are (salutation to sign-off), pair by pair."""
    return similarity.compare(
        {
            item.target.letter_id: similarity.body(item.letter.markdown, item.letter.salutation, item.letter.closing)
            for item in merged
        }
    )


def flags_of(item: Merged, campaign: Campaign) -> tuple[str, ...]:
    """Return what a person should look at in one letter: the target's flags, and `unsigned` when no person signs."""
    return (*item.target.flags, *(() if campaign.sender.signed else ("unsigned",)))


def manifest_row(item: Merged, stem: str, formats: Sequence[str], campaign: Campaign) -> dict[str, str]:
    """Return the manifest row of one letter (columns: INTERFACE.md)."""
    target, letter = item.target, item.letter
    local = target.local
    nearest = local.nearest_centre if local else None
    return {
        "letter_id": target.letter_id,
        "member_id": str(target.member_id),
        "kind": target.kind,
        "template": target.template,
        "name": target.name,
        "constituency": target.constituency.name if target.constituency else "",
        "constituency_code": target.constituency.code if target.constituency else "",
        "posts": ";".join(post.post for post in target.posts) if target.kind != "seat" else "",
        "salutation": letter.salutation,
        "address": " | ".join(letter.recipient_lines),
        "email": target.email or "",
        "asks": ";".join(chosen.ask.id for chosen in target.asks),
        "local_sites": ";".join(site.letter_name for site in local.sites[:3]) if local else "",
        "nearest_centre": nearest.site.letter_name if nearest else "",
        "nearest_centre_km": f"{nearest.km:.1f}" if nearest else "",
        "flags": ";".join(flags_of(item, campaign)),
        "markdown": f"{outbox.LETTERS_DIR}/{stem}.md" if "md" in formats else "",
        "pdf": f"{outbox.LETTERS_DIR}/{stem}.pdf" if "pdf" in formats else "",
        "docx": f"{outbox.LETTERS_DIR}/{stem}.docx" if "docx" in formats else "",
        "subject": letter.subject,
        "letter_date": letter.date.isoformat(),
        "nation": target.constituency.nation if target.constituency else "",
        "party": target.member.party if target.member else "",
        "campaign": campaign.id,
        "figures": ";".join(figure.id for figure in item.figures),
        "hooks": ";".join(target.hook.cited()) if target.hook else "",
        "enclosures": ";".join(enclosure.outbox_path for enclosure in item.enclosures),
    }


def start_pdfs(
    merged: Sequence[Merged], campaign: Campaign, formats: Sequence[str], pdf_standards: Sequence[str]
) -> Typesetting | None:
    """Return the PDFs' typesetting, begun now in a thread of its own (None without pdf among the formats).

    Begun as soon as the letters are merged, Typst sets them while the checks run and the Markdown files are
    written; `write` takes it over.
    """
    if "pdf" not in formats or not merged:
        return None
    from outreach.render.pdf import Typesetting

    return Typesetting([item.letter for item in merged], campaign.layout, pdf_standards)


def write(
    merged: Sequence[Merged],
    campaign: Campaign,
    out: Path,
    *,
    formats: Sequence[str],
    force: bool,
    progress: Progress | None = None,
    pdf_standards: Sequence[str] = (),
    typesetting: Typesetting | None = None,
) -> DraftResult:
    """Write the outbox for merged letters: one file per letter and format, the merged print PDF, the manifest.

    Every PDF is tagged PDF/UA-1; `pdf_standards` adds PDF/A-2b ("a-2b"). `typesetting` is the PDFs' typesetting
    if `start_pdfs` began it; else, with pdf among the formats, it begins here.
    """
    try:
        return _write(merged, campaign, out, formats, force, progress, pdf_standards, typesetting)
    finally:
        if typesetting is not None:  # taken over by render_pdfs, or left unused when writing stopped before it
            typesetting.close()


def _write(
    merged: Sequence[Merged],
    campaign: Campaign,
    out: Path,
    formats: Sequence[str],
    force: bool,
    progress: Progress | None,
    pdf_standards: Sequence[str],
    typesetting: Typesetting | None,
) -> DraftResult:
    """Return what `write` wrote, writing it."""
    result = DraftResult(out=out, merged=list(merged), rows=[], formats=tuple(formats))
    stems = [outbox.letter_stem(item.target) for item in merged]
    with outbox.staging(out, force=force) as stage:
        (stage / outbox.LETTERS_DIR).mkdir()
        for index, (item, stem) in enumerate(zip(merged, stems, strict=True), 1):
            if "md" in formats:
                outbox.write_text(outbox.inside(stage, f"{outbox.LETTERS_DIR}/{stem}.md"), item.letter.markdown)
            result.rows.append(manifest_row(item, stem, formats, campaign))
            if progress and (index % 50 == 0 or index == len(merged)):
                progress("write", index, len(merged))
        if "pdf" in formats:
            from outreach.render.pdf import render_pdfs

            paths = [outbox.inside(stage, f"{outbox.LETTERS_DIR}/{stem}.pdf") for stem in stems]
            rendered = render_pdfs(
                [item.letter for item in merged],
                campaign.layout,
                stage,
                paths,
                outbox.inside(stage, outbox.MERGED_PDF),
                standards=pdf_standards,
                typesetting=typesetting,
            )
            result.shrunk = list(rendered.shrunk)
        if "docx" in formats:
            from outreach.render.docx import write_docx

            for index, (item, stem) in enumerate(zip(merged, stems, strict=True), 1):
                write_docx(item.letter, outbox.inside(stage, f"{outbox.LETTERS_DIR}/{stem}.docx"))
                if progress and (index % 10 == 0 or index == len(merged)):
                    progress("docx", index, len(merged))
        outbox.copy_enclosures(stage, [enclosure for item in merged for enclosure in item.enclosures])
        outbox.write_text(stage / outbox.MANIFEST, outbox.manifest_text(result.rows))
    return result
