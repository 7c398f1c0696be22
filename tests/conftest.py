"""Shared fixtures: the embedded snapshot, loaded once per test session."""

from __future__ import annotations

import pytest

from outreach import snapshot as snapshots
from outreach.resources import embedded_snapshot_dir


@pytest.fixture(scope="session")
def snapshot() -> snapshots.Snapshot:
    """Return the embedded snapshot shipped in data/."""
    return snapshots.load(embedded_snapshot_dir())
