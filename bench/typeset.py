"""Benchmark: typeset a batch of realistic one-page letters with Typst and split it per letter.

Run:  /work/venv/bin/python bench/typeset.py [--count 800] [--layout letters/ipem-2024/letter.typ]

Prints the one-document compile time ("Typst alone"), the time render_pdfs spends compiling and splitting,
the page count, and how passing the batch as a JSON string in sys.inputs compares with a JSON file.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.campaign import Sender  # noqa: E402
from outreach.letters import Block, Letter, Run  # noqa: E402
from outreach.render.pdf import letters_json, render_pdfs, typeset  # noqa: E402

SENDER = Sender(
    organisation="Institute of Physics and Engineering in Medicine",
    address_lines=("Fairmount House", "230 Tadcaster Road", "York YO24 1ES"),
    email="publicaffairs@ipem.ac.uk",
    phone="01904 610821",
    website="www.ipem.ac.uk",
    signatory_name="Dr Anne Thompson",
    signatory_role="President, IPEM",
    footer="IPEM is a registered charity in England and Wales (no. 1155931).",
)

MEMBERS = [
    ("Llinos Medi", "Ms", "Ynys Môn"),
    ("Liz Saville Roberts", "Rt Hon", "Dwyfor Meirionnydd"),
    ("Órfhlaith Begley", "Ms", "West Tyrone"),
    ("Siân Berry", "Ms", "Brighton Pavilion"),
    ("Seán O'Brien", "Mr", "Newry & Armagh"),
    ("Zöe Franklin", "Ms", "Guildford"),
    ("Chris McDonald", "Mr", "Stockton North"),
    ("Dr Rosena Allin-Khan", "Dr", "Tooting"),
    ("Ben Lake", "Mr", "Ceredigion Preseli"),
    ("Dáithí McKay", "Mr", "North Antrim"),
    ("Kirsteen Sullivan", "Mrs", "Bathgate & Linlithgow"),
    ("Jo Stevens", "Rt Hon", "Cardiff East"),
]
SITES = [
    "North Wales Cancer Treatment Centre",
    "Velindre Cancer Centre",
    "St James's University Hospital",
    "The Christie",
    "Addenbrooke's Hospital",
    "Beatson West of Scotland Cancer Centre",
    "Royal Surrey County Hospital",
    "Altnagelvin Area Hospital",
]
SENTENCES = [
    "Medical physicists and clinical engineers plan every course of radiotherapy, keep linear accelerators, "
    "MRI and CT scanners safe, and run nuclear medicine and radiation protection services.",
    "Around 5,000 members of the Institute work across the NHS, universities and industry, and a little over "
    "half of them are clinical scientists, clinical technologists and trainees in NHS hospitals.",
    "Staff at {site} deliver thousands of treatments each year, and their work depends on trained people as "
    "much as on the equipment they keep in service.",
    "Vacancy rates in our professions remain high, and training places have not kept pace with demand for "
    "diagnostic imaging and radiotherapy.",
    "We would be delighted to arrange a visit to {site} so that you can meet the team and see their work "
    "at first hand.",
    "Replacing a linear accelerator before the end of its useful life costs around $3m (about £2.4m) and "
    "carries a carbon cost that better planning would avoid.",
    "Clinical technologists are not yet statutorily registered, unlike radiographers, and registration would "
    "reassure patients and give the NHS more flexibility in how it deploys its workforce.",
    "Artificial intelligence will change how images are acquired and read; the standards that govern it "
    "should be written with the healthcare scientists who use it, in patients' interest.",
    "The proposed ARTHUR reactor at Trawsfynydd would give the UK a domestic supply of medical radioisotopes "
    "and an export industry, in partnership with the Welsh Government.",
    "Our members support the Greener NHS programme and want net zero targets met without harm to patient "
    "care or to staff.",
    "A note on data: fields such as #site_id, *priority* and _region_ appear in our records as typed, and "
    "queries go to policy@ipem.ac.uk with [x] marked where relevant.",
]
ASKS = [
    "fund more training places for medical physicists and clinical engineers, with wider access to apprenticeships;",
    "bring clinical technologists into statutory registration, as radiographers already are;",
    "back the ARTHUR reactor so that medical radioisotopes are made in the UK;",
    "set AI-specific standards, led by healthcare professionals, for safe and ethical clinical use;",
    "invest for the long term in equipment such as linear accelerators and MRI scanners, and in the people "
    "who run them safely.",
]


def synthetic_letters(count: int, seed: int = 2024) -> list[Letter]:
    """Return `count` varied letters of about 330 words (one in fifty longer) to typeset."""
    rng = random.Random(seed)
    letters = []
    for number in range(count):
        name, title, seat = MEMBERS[number % len(MEMBERS)]
        site = rng.choice(SITES)
        surname = name.split()[-1]
        full = f"{'Rt Hon ' if title == 'Rt Hon' else ''}{name} MP"
        salutation = f"Dear {name.split()[0]}" if title == "Rt Hon" else f"Dear {title} {surname}"
        paragraphs = rng.randint(6, 8)
        bullets = rng.randint(2, 3)
        body: list[Block] = [
            Block(
                "paragraph",
                (
                    Run("Congratulations on your election as Member of Parliament for "),
                    Run(seat, bold=True),
                    Run(
                        ". I am writing on behalf of the Institute of Physics and Engineering in Medicine "
                        "(IPEM), the professional body for medical physicists and clinical engineers."
                    ),
                ),
            )
        ]
        chosen = rng.sample(SENTENCES, k=len(SENTENCES))
        for index in range(paragraphs - 2):
            text = chosen[index % len(chosen)].format(site=site)
            if index % 3 != 2:
                text += " " + chosen[(index + 5) % len(chosen)].format(site=site)
            if number % 50 == 49 and index < 3:  # one letter in fifty runs long and must be set smaller
                text += " " + chosen[(index + 7) % len(chosen)].format(site=site)
            body.append(Block("paragraph", (Run(text),)))
        body.append(Block("paragraph", (Run("We ask the new Government to:"),)))
        for ask in rng.sample(ASKS, k=bullets):
            body.append(Block("bullet", (Run(ask),)))
        body.append(
            Block(
                "paragraph",
                (
                    Run("I would welcome the chance to discuss these points with you, "),
                    Run("perhaps during a visit to " + site, italic=True),
                    Run(". My colleagues can be reached at <publicaffairs@ipem.ac.uk> or on 01904 610821."),
                ),
            )
        )
        letters.append(
            Letter(
                letter_id=f"{4000 + number}-seat",
                kind="seat",
                template="new_mp",
                date=date(2024, 7, 22),
                date_text="22 July 2024",
                recipient_lines=(full, "House of Commons", "London", "SW1A 0AA"),
                salutation=" ".join(salutation.split()),
                subject=f"Medical physics and clinical engineering in {seat}",
                blocks=tuple(body),
                closing="Yours sincerely",
                sender=SENDER,
            )
        )
    return letters


def word_count(letter: Letter) -> int:
    """Return the words in a letter's body."""
    return sum(len(run.text.split()) for block in letter.blocks for run in block.runs)


def _compile_once(letters: list[Letter], layout: Path, how: str) -> float:
    """Return the seconds of one Typst compile of the batch, the JSON passed as `how` ("string" or "file")."""
    import typst

    data = letters_json(letters, [0] * len(letters))
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        if how == "file":
            json_file = Path(folder) / "letters.json"
            json_file.write_text(data, encoding="utf-8")
            # A file must sit under the compile root; "/" lets the layout read it wherever it is.
            compiler = typst.Compiler(
                str(layout), root="/", ignore_system_fonts=True, sys_inputs={"letters-file": str(json_file)}
            )
        else:
            compiler = typst.Compiler(
                str(layout), root=str(layout.parent), ignore_system_fonts=True, sys_inputs={"letters": data}
            )
        compiler.compile(format="pdf", pdf_tags=how == "tagged")
        return time.perf_counter() - started


def measure(what: str, letters: list[Letter], layout: Path) -> str:
    """Return one line of figures; each runs in a fresh process, as Typst caches layouts within one."""
    if what == "typeset":
        started = time.perf_counter()
        pdf = typeset(letters, layout)
        return (
            f"typeset(): one compile of {len(letters)} letters, Typst alone: "
            f"{time.perf_counter() - started:.2f} s ({len(pdf) / 1e6:.1f} MB PDF)"
        )
    if what == "render":
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder)
            paths = [out / f"{letter.letter_id}.pdf" for letter in letters]
            started = time.perf_counter()
            result = render_pdfs(letters, layout, out, paths, out / "all.pdf")
            total = time.perf_counter() - started
            sizes = [path.stat().st_size for path in paths]
            return (
                f"render_pdfs(): {total:.2f} s = Typst {result.seconds_typst:.2f} s (compile, page check"
                f"{', re-typeset' if result.shrunk else ''}) + split/write {result.seconds_split:.2f} s; "
                f"pages {result.pages}; shrunk {len(result.shrunk)}; per-letter PDF "
                f"{sum(sizes) / len(sizes) / 1e3:.0f} kB; "
                f"merged {(out / 'all.pdf').stat().st_size / 1e6:.1f} MB"
            )
    if what in ("string", "file", "tagged"):
        label = {
            "string": "JSON string in sys.inputs",
            "file": "JSON file (root /)",
            "tagged": "JSON string, tagged PDF",
        }[what]
        return f"{label + ':':27} {_compile_once(letters, layout, what):.2f} s"
    if what == "single":
        sample = letters[:20]
        typeset(sample[:1], layout)  # the first compile of a process also loads the fonts
        started = time.perf_counter()
        for letter in sample[1:]:
            typeset([letter], layout)
        each = (time.perf_counter() - started) / (len(sample) - 1)
        return f"one letter per compile (warm): {each * 1e3:.0f} ms each"
    raise SystemExit(f"unknown measure {what!r}")


def main() -> None:
    """Print the figures for one batch, each measured in a fresh process."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=800)
    parser.add_argument("--layout", type=Path, default=ROOT / "letters" / "ipem-2024" / "letter.typ")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    letters = synthetic_letters(arguments.count)
    layout = arguments.layout.resolve()
    if arguments.measure:
        print(measure(arguments.measure, letters, layout), flush=True)
        return
    words = [word_count(letter) for letter in letters]
    mean = sum(words) // len(words)
    print(f"{len(letters)} letters, body words min/mean/max {min(words)}/{mean}/{max(words)}; {os.cpu_count()} CPUs")
    for what in ("typeset", "render", "string", "file", "tagged", "single"):
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--count",
                str(arguments.count),
                "--layout",
                str(layout),
                "--measure",
                what,
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
