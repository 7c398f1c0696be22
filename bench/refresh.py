"""Benchmark `outreach refresh` against the local stand-in server (tests/parliament_server.py) with 100 ms added to
every response, as Parliament's services roughly answer. Prints wall time and request count, and how many of the
requests were for members' records (Experience, Focus, RegisteredInterests, Spokespersons, written questions), for:

1. a cold `--full` refresh at the default cap (10 requests a second), against the default deadline of 900 s
   (`refresh --deadline`, OUTREACH_REFRESH_DEADLINE), which it must fit well inside;
2. the same with `--max-rps 0` (target: 30 s or less);
3. an incremental refresh with nothing changed, `--max-rps 0` (target: 5 s or less);

and, with --sweep, cold uncapped refreshes run in-process at several thread-pool sizes (how the default
concurrency was chosen). Each command runs as a user runs it, in its own process, on the code in this checkout:

    python bench/refresh.py [--sweep] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the stand-in server lives in tests/, which is not installed

from outreach import campaign as campaigns  # noqa: E402
from outreach import settings  # noqa: E402
from outreach import snapshot as snapshots  # noqa: E402
from outreach.resources import default_campaign_dir, embedded_snapshot_dir  # noqa: E402
from tests.parliament_server import ParliamentServer, serving, world_from_snapshot  # noqa: E402

RECORD_PATHS = ("/Experience", "/Focus", "/RegisteredInterests", "/api/Posts/Spokespersons", "/api/writtenquestions/")


def timed_refresh(server: ParliamentServer, home: Path, *flags: str) -> tuple[float, int, int]:
    """Return (wall seconds, requests served, of which for records) of one `outreach refresh` in a fresh process."""
    env = {**os.environ, "OUTREACH_HOME": str(home), "PYTHONPATH": str(ROOT)}
    origins = ["--api-url", server.url, "--committees-api-url", server.url, "--postcodes-url", server.url]
    origins += ["--questions-api-url", server.url]
    before = len(server.requests())
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "outreach", "refresh", *origins, *flags],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    served = server.requests()[before:]
    return time.perf_counter() - started, len(served), sum(any(p in line for p in RECORD_PATHS) for line in served)


def sweep(server: ParliamentServer, sizes: list[int]) -> None:
    """Print cold uncapped refresh times at several thread-pool sizes, run in this process."""
    from outreach.sources.http import Politeness
    from outreach.sources.member_records import RecordTerms
    from outreach.sources.refresh import Origins, refresh

    previous = snapshots.load(embedded_snapshot_dir())
    origins = Origins(server.url, server.url, server.url, server.url)
    campaign = campaigns.load(default_campaign_dir())  # its committees and terms, as `outreach refresh` uses them
    terms = RecordTerms(campaign.question_terms, campaign.interest_terms)
    for size in sizes:
        with tempfile.TemporaryDirectory() as home:
            started = time.perf_counter()
            politeness = Politeness(max_rps=0, concurrency=size)
            refresh(
                Path(home),
                previous,
                origins,
                committees=campaign.committees,
                terms=terms,
                full=True,
                politeness=politeness,
            )
            print(f"  concurrency {size:>3}: {time.perf_counter() - started:6.2f} s")


def main() -> int:
    """Return 0 after printing the refresh timings."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every response (0.1)")
    parser.add_argument("--sweep", action="store_true", help="also time thread-pool sizes 4, 8, 16, 32")
    args = parser.parse_args()
    world = world_from_snapshot(snapshots.load(embedded_snapshot_dir()))
    with serving(world, latency=args.latency) as server, tempfile.TemporaryDirectory() as work:
        print(f"Local server {server.url}, {args.latency * 1000:.0f} ms added to every response, 650 MPs")
        rows = [
            ("cold --full, default cap (10/s)", timed_refresh(server, Path(work) / "capped", "--full")),
            ("cold --full --max-rps 0", timed_refresh(server, Path(work) / "uncapped", "--full", "--max-rps", "0")),
            (
                "incremental, nothing changed, --max-rps 0",
                timed_refresh(server, Path(work) / "uncapped", "--max-rps", "0"),
            ),
        ]
        targets = {"cold --full --max-rps 0": 30.0, "incremental, nothing changed, --max-rps 0": 5.0}
        print(f"{'run':<44} {'wall':>8} {'requests':>9} {'records':>8}  target")
        for label, (seconds, requests, records) in rows:
            target = targets.get(label)
            verdict = "" if target is None else f"<= {target:g} s: {'met' if seconds <= target else 'MISSED'}"
            print(f"{label:<44} {seconds:7.2f}s {requests:>9} {records:>8}  {verdict}")
        capped = rows[0][1][0]
        deadline = settings.DEFAULT_REFRESH_DEADLINE
        print(f"Default deadline {deadline:g} s: a cold refresh at the default cap used {capped / deadline:.0%} of it")
        if args.sweep:
            print("Cold uncapped refresh by thread-pool size (in-process):")
            sweep(server, [4, 8, 16, 32])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
