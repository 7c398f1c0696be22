"""mailmerge 2.3, the baseline the draft and send benches measure against, in a venv of its own beside them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MAILMERGE_VENV = Path(__file__).resolve().parent / ".mailmerge-venv"


def mailmerge_binary() -> Path:
    """Return mailmerge 2.3's command, installing it into its own venv on first use."""
    binary = MAILMERGE_VENV / "bin" / "mailmerge"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(MAILMERGE_VENV)], check=True)
        subprocess.run([str(MAILMERGE_VENV / "bin" / "pip"), "install", "-q", "mailmerge==2.3.0"], check=True)
    return binary


def write_template(folder: Path, sender: str) -> Path:
    """Return the path of the mailmerge template written into `folder`: the letter outreach drafts, in plain text."""
    template = folder / "template.txt"
    template.write_text(
        "TO: {{email}}\nSUBJECT: {{subject}}\nFROM: IPEM Policy <" + sender + ">\n\n"
        "{{salutation}},\n\n"
        "I am writing on behalf of the Institute of Physics and Engineering in Medicine (IPEM) about "
        "{{constituency}}. {{local_sites}} {{nearest_centre}} is about {{nearest_centre_km}} km away.\n\n"
        "Our asks for you: {{asks}}.\n\nYours sincerely,\n\nIPEM\n",
        encoding="utf-8",
    )
    return template
