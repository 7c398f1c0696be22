"""Time the near-identical check and the campaign report on every letter of the IPEM campaign (`draft --all`).

Usage: python bench/report.py [--runs N]   (after `pip install .`; best of N runs, default 3)

Prints: the pairwise comparison of the 774 letter bodies in-process (shingling, counting, figures), the same with
numpy already imported, and `outreach report` as a user runs it, without an outbox and with the drafted outbox
(which adds reading every letter's Markdown and the comparison), each as a whole command in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def best(runs: int, command: list[str], environment: dict[str, str]) -> float:
    """Return the fastest wall time of a command over `runs` runs (it must succeed)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=environment)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="outreach-bench-report-") as temporary:
        work = Path(temporary)
        environment = {**os.environ, "OUTREACH_HOME": str(work / "home")}
        outreach = [sys.executable, "-m", "outreach"]
        subprocess.run(
            [*outreach, "draft", "--all", "--allow-stale-posts", "--format", "md", "--out", str(work / "outbox")],
            check=True,
            capture_output=True,
            env=environment,
        )

        os.environ["OUTREACH_HOME"] = environment["OUTREACH_HOME"]
        from outreach import draft, snapshot
        from outreach.campaign import load
        from outreach.resources import default_campaign_dir
        from outreach.targeting import Selection

        campaign = load(default_campaign_dir())
        today = date.today()
        targets = draft.targets_for(
            snapshot.newest(None), campaign, Selection(all=True, allow_stale_posts=True), today
        ).targets
        merged = draft.merge_all(targets, campaign, today)
        started = time.perf_counter()
        found = draft.distinctness(merged)
        first = time.perf_counter() - started
        warm = []
        for _ in range(runs):
            started = time.perf_counter()
            draft.distinctness(merged)
            warm.append(time.perf_counter() - started)
        print(
            f"near-identical check, {found.letters} letters, {found.pairs:,} pairs: {first:.3f} s with numpy's import, "
            f"{min(warm):.3f} s without (median {found.median:.3f}, maximum {found.maximum:.3f}, "
            f"{len(found.above)} pairs above {found.threshold})"
        )

        bare = best(runs, [*outreach, "report", "--out", str(work / "report-bare")], environment)
        full = best(
            runs,
            [*outreach, "report", "--outbox", str(work / "outbox"), "--out", str(work / "report")],
            environment,
        )
        with_png = best(
            runs,
            [*outreach, "report", "--outbox", str(work / "outbox"), "--out", str(work / "report-png"), "--png"],
            environment,
        )
        size = (work / "report" / "index.html").stat().st_size
        print(f"outreach report, no outbox: {bare:.2f} s")
        print(f"outreach report --outbox (774 letters): {full:.2f} s (index.html {size / 1024:.0f} kB)")
        print(f"outreach report --outbox --png: {with_png:.2f} s")


if __name__ == "__main__":
    main()
