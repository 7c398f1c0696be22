"""Killing `outreach send` part-way: shared by the send bench's crash loop and the crash test in tests/."""

from __future__ import annotations

import random
import signal
import subprocess
import time


def kill_mid_send(process: subprocess.Popen[bytes], chance: random.Random, *, window: float) -> bool:
    """Return whether `process` was killed after letting 0 to 2 letters through, within `window` seconds.

    Anywhere in a transaction, in the log's commits, or (with 0 letters) during start-up and the settling of the
    previous kill. The process is reaped and its stderr closed either way.
    """
    assert process.stderr is not None
    let_through = chance.choice((0, 1, 1, 2))
    seen = 0
    while seen < let_through:
        line = process.stderr.readline()
        if not line:
            break
        seen += line.startswith(b"sent")
    time.sleep(chance.uniform(0, window) if let_through else chance.uniform(0, 0.6))
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    return killed
