"""What the command-line tests share: running `outreach` in-process and reading the manifest it writes."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from outreach.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    """Run `outreach ARGS` in-process; return the exit code, stdout and stderr."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def manifest(outbox: Path) -> list[dict[str, str]]:
    """Return an outbox's manifest.csv as one dict per letter."""
    with (outbox / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
