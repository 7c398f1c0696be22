"""What the command-line tests share: running `outreach` in-process and reading the manifest it writes."""

from __future__ import annotations

import csv
import functools
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pytest
from typer.testing import CliRunner

from outreach.cli import app
from outreach.errors import ExitCode
from outreach.letters import Letter

runner = CliRunner()


class Ran(NamedTuple):
    """What a command printed: stdout (the answer) and stderr (status, warnings, errors)."""

    stdout: str
    stderr: str


def run(
    *args: str,
    expect: ExitCode = ExitCode.OK,
    env: Mapping[str, str | None] | None = None,
    input: str | None = None,
) -> Ran:
    """Run `outreach ARGS` in-process and return what it printed; raises AssertionError, with both streams, when it
    crashed (any exception but a clean exit: a bug must never pass as a user error) or exited other than `expect`.
    """
    result = runner.invoke(app, list(args), env=env, input=input)
    command = " ".join(["outreach", *args])
    streams = f"\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{command} crashed with {result.exception!r}{streams}") from result.exception
    if result.exit_code != expect:
        got = ExitCode(result.exit_code).name if result.exit_code in set(ExitCode) else str(result.exit_code)
        raise AssertionError(f"{command} exited {result.exit_code} ({got}), expected {expect} ({expect.name}){streams}")
    return Ran(result.stdout, result.stderr)


def manifest(outbox: Path) -> list[dict[str, str]]:
    """Return an outbox's manifest.csv as one dict per letter."""
    with (outbox / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# The fields of each MP in `outreach mps --json` and in the snapshot (INTERFACE.md).
MP_FIELDS = {
    "member_id",
    "name",
    "full_title",
    "constituency",
    "constituency_code",
    "party",
    "email",
    "is_new",
    "by_election_date",
    "posts",
    "committees",
    "record",
}


def draft_once(tmp_path_factory: pytest.TempPathFactory, campaign: Path, *selection: str) -> Path:
    """Return an outbox drafted from `campaign` with its own OUTREACH_HOME (for a module-scoped fixture)."""
    out = tmp_path_factory.mktemp("drafted") / "outbox"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_HOME", str(tmp_path_factory.mktemp("draft-home")))
        run("draft", *selection, "--out", str(out), "--campaign", str(campaign))
    return out


@functools.cache
def every_letter() -> tuple[Letter, ...]:
    """Return every letter of `draft --all --allow-stale-posts` on the embedded snapshot, dated 2026-12-01, merged
    in this process (once: the tests that typeset or convert letters share them)."""
    from outreach import campaign as campaigns
    from outreach import snapshot as snapshots
    from outreach.draft import merge_all, targets_for
    from outreach.resources import default_campaign_dir, embedded_snapshot_dir
    from outreach.targeting import Selection

    campaign = campaigns.load(default_campaign_dir())
    snapshot = snapshots.load(embedded_snapshot_dir())
    today = date(2026, 12, 1)
    chosen = targets_for(snapshot, campaign, Selection(all=True, allow_stale_posts=True), today)
    return tuple(item.letter for item in merge_all(chosen.targets, campaign, today))
