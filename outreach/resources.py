"""Where the files shipped with outreach live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """Return the folder `name` (data or letters) inside the installed package, or in the checkout."""
    inside = _PACKAGE / name
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / name


def embedded_snapshot_dir() -> Path:
    """Return the folder of the embedded snapshot."""
    return shipped("data")


def default_campaign_dir() -> Path:
    """Return the folder of the default campaign (IPEM 2024)."""
    return shipped("letters") / "ipem-2024"
