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
