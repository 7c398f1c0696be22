"""Benchmark drafting: prints the figures the drafting targets are judged by, from one run.

1. wall time of `outreach draft --all` (Markdown + PDF, the whole command as a user runs it);
2. the floor: Typst alone typesetting the same letters as one document with the campaign's layout;
3. `outreach draft --all --format md` beside mailmerge 2.3 merging the same recipients as text e-mails
   (its dry run, output discarded). mailmerge is installed into its own venv under bench/.mailmerge-venv.

Targets: (1) within 1.3x of (2); the Markdown-only draft no slower than mailmerge.

    python bench/draft.py
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAILMERGE_VENV = ROOT / "bench" / ".mailmerge-venv"


def outreach_command() -> list[str]:
    """Return how to run the installed outreach command with this interpreter."""
    return [sys.executable, "-c", "from outreach.cli import main; main()"]


def timed(command: list[str], env: dict[str, str]) -> float:
    """Return the wall time of a command, which must succeed."""
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def mailmerge_binary() -> Path:
    """Return mailmerge 2.3's command, installing it into its own venv on first use."""
    binary = MAILMERGE_VENV / "bin" / "mailmerge"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(MAILMERGE_VENV)], check=True)
        subprocess.run([str(MAILMERGE_VENV / "bin" / "pip"), "install", "-q", "mailmerge==2.3.0"], check=True)
    return binary


def mailmerge_inputs(folder: Path, manifest: Path) -> tuple[Path, Path, Path]:
    """Write a mailmerge template, database (the same recipients) and config; return their paths."""
    template = folder / "template.txt"
    template.write_text(
        "TO: {{email}}\nSUBJECT: {{subject}}\nFROM: IPEM Policy <policy@example.org>\n\n"
        "{{salutation}},\n\n"
        "I am writing on behalf of the Institute of Physics and Engineering in Medicine (IPEM) about "
        "{{constituency}}. {{local_sites}} {{nearest_centre}} is about {{nearest_centre_km}} km away.\n\n"
        "Our asks for you: {{asks}}.\n\nYours sincerely,\n\nIPEM\n",
        encoding="utf-8",
    )
    database = folder / "database.csv"
    with (
        manifest.open(encoding="utf-8", newline="") as source,
        database.open("w", encoding="utf-8", newline="") as target,
    ):
        reader = csv.DictReader(source)
        columns = [
            "email",
            "subject",
            "salutation",
            "constituency",
            "local_sites",
            "nearest_centre",
            "nearest_centre_km",
            "asks",
        ]
        writer = csv.DictWriter(target, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in reader:
            row["email"] = row["email"] or "nobody@example.org"
            writer.writerow(row)
    config = folder / "server.conf"
    config.write_text("[smtp_server]\nhost = 127.0.0.1\nport = 25\nsecurity = Never\n", encoding="utf-8")
    return template, database, config


def typst_floor(out: Path) -> tuple[float, int]:
    """Return the time Typst alone takes to typeset every letter of `out` as one document, and the page count."""
    sys.path.insert(0, str(ROOT))
    from outreach import campaign as campaigns
    from outreach import snapshot as snapshots
    from outreach.draft import merge_all, targets_for
    from outreach.render.pdf import typeset
    from outreach.resources import default_campaign_dir
    from outreach.settings import home
    from outreach.targeting import Selection

    campaign = campaigns.load(default_campaign_dir())
    snapshot = snapshots.newest(home())
    today = date.today()
    letters = [
        m.letter
        for m in merge_all(targets_for(snapshot, campaign, Selection(all=True), today), campaign, today)
    ]
    started = time.perf_counter()
    pdf = typeset(letters, campaign.layout)
    seconds = time.perf_counter() - started
    del out
    return seconds, pdf.count(b"/Type /Page\n") or pdf.count(b"/Type/Page") or len(letters)


def main() -> None:
    """Run the drafting benchmark and print its figures."""
    env = dict(os.environ)
    work = Path(tempfile.mkdtemp(prefix="outreach-bench-"))
    env.setdefault("OUTREACH_HOME", str(work / "home"))
    try:
        full = timed([*outreach_command(), "draft", "--all", "--out", str(work / "full")], env)
        with (work / "full" / "manifest.csv").open(encoding="utf-8") as handle:
            letters = sum(1 for _ in handle) - 1
        floor, _ = typst_floor(work / "full")
        markdown = timed(
            [*outreach_command(), "draft", "--all", "--format", "md", "--out", str(work / "md")], env
        )
        template, database, config = mailmerge_inputs(work, work / "full" / "manifest.csv")
        mailmerge = timed(
            [
                str(mailmerge_binary()),
                "--dry-run",
                "--no-limit",
                "--output-format",
                "raw",
                "--template",
                str(template),
                "--database",
                str(database),
                "--config",
                str(config),
            ],
            env,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"letters drafted:                         {letters}")
    print(f"outreach draft --all (md + pdf):         {full:6.2f} s")
    print(f"Typst alone, same letters, one document: {floor:6.2f} s   (floor)")
    print(f"  ratio to floor:                        {full / floor:6.2f}x  (target <= 1.3x)")
    print(f"outreach draft --all --format md:        {markdown:6.2f} s")
    print(f"mailmerge 2.3 dry run, same recipients:  {mailmerge:6.2f} s")
    print(f"  ratio to mailmerge:                    {markdown / mailmerge:6.2f}x  (target <= 1.0x)")


if __name__ == "__main__":
    main()
