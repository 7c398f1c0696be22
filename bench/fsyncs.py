"""How often a command waits on the disk, and what one wait costs here: shared by the send bench.

The contact log keeps synchronous=FULL, so each commit is one fsync of its write-ahead log; group commit (issue 14,
item 5) makes that one commit for every GROUP_COMMIT letters. The cost of one fsync differs more than tenfold
between machines (0.14-3.5 ms were measured on the team's), so the bench prints both the count and the cost.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

_SYNC_CALLS = ("fsync", "fdatasync", "sync_file_range", "msync")


def count_fsyncs(command: list[str], env: dict[str, str]) -> int | None:
    """Return how many fsync-like system calls one run of `command` made (all its processes), or None without strace.

    strace -c counts them; the run must succeed.
    """
    strace = shutil.which("strace")
    if strace is None:
        return None
    with tempfile.NamedTemporaryFile(prefix="fsyncs-", suffix=".txt") as summary:
        traced = [strace, "-f", "-c", "-e", f"trace={','.join(_SYNC_CALLS)}", "-o", summary.name, *command]
        done = subprocess.run(traced, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            return None  # ptrace refused (a container without it), or the command failed
        text = Path(summary.name).read_text(encoding="utf-8", errors="replace")
    # strace -c's table: % time, seconds, usecs/call, calls, [errors,] syscall
    counts = (re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line) for line in text.splitlines())
    return sum(int(match[1]) for match in counts if match and match[2] in _SYNC_CALLS)


def fsync_cost(folder: Path, samples: int = 200) -> float:
    """Return the median seconds one fsync of a small append takes in `folder` (what a commit of the log waits)."""
    times = []
    descriptor, name = tempfile.mkstemp(prefix=".fsync-cost-", dir=folder)
    try:
        block = b"x" * 4096  # about one page of the write-ahead log
        for _ in range(samples):
            os.write(descriptor, block)
            started = time.perf_counter()
            os.fsync(descriptor)
            times.append(time.perf_counter() - started)
    finally:
        os.close(descriptor)
        os.unlink(name)
    return statistics.median(times)
