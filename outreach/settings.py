"""Settings: where outreach keeps its state, and the endpoints it talks to (flag > environment > campaign > default)."""

from __future__ import annotations

import os
from pathlib import Path

HOME_VARIABLE = "OUTREACH_HOME"


def home() -> Path:
    """Return OUTREACH_HOME: refreshed snapshots, the contact log and caches live here."""
    configured = os.environ.get(HOME_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("outreach", appauthor=False))
