"""A list's work shared with a forked child: the CPU-bound steps of `draft` and `send` on a second core.

The steps are pure Python (splitting PDFs, checking an outbox's letters), so a second core needs a second process.
A forked child has everything already (the open documents, the checked rows; no re-opening, no imports); it does
the second half of the list while this process does the first, hands its results back pickled through a pipe,
and ends with os._exit, so nothing of the parent (buffers, locks, the log, an outbox) is run twice. The results
come back in the list's order, and so does the first exception: the parent's half is done first, so an error
there is raised before the child's is looked at, just as one process going through the list would.

Linux only: fork in a process with threads (Typst's, a reader's) is not safe on macOS. One core, another system,
or a short list: the parent does it all.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar

from outreach.errors import OutputError

Item = TypeVar("Item")
Result = TypeVar("Result")


def fork() -> int:
    """Return os.fork()'s value (the child's id, or 0 in the child), without Python 3.12's warning about threads.

    The warning is for children that go on running the parent's code; these run one piece of work and exit.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def two_cores() -> bool:
    """Return whether a second process can run beside this one here (Linux, two cores or more)."""
    return sys.platform == "linux" and (os.cpu_count() or 1) >= 2


def map_halves(
    work: Callable[[Item], Result],
    items: Sequence[Item],
    *,
    minimum: int,
    what: str,
) -> list[Result]:
    """Return [work(item) for item in items], the second half done by a forked child when there are at least
    `minimum` items and two cores; `what` names the work in the one error of its own (a child that died)."""
    share = len(items) // 2
    if len(items) < minimum or share == 0 or not two_cores():
        return [work(item) for item in items]
    reading, writing = os.pipe()
    child = fork()
    if child == 0:
        os.close(reading)
        _child(writing, work, items[share:], what)
    os.close(writing)
    try:
        made = [work(item) for item in items[:share]]
        with os.fdopen(reading, "rb") as pipe:
            handed = pipe.read()
        reading = -1
        _, status = os.waitpid(child, 0)
        child = 0
    finally:
        if reading >= 0:
            os.close(reading)
        if child:  # the parent stopped early (an error, Ctrl-C): the child's work is not wanted
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
    outcome = pickle.loads(handed) if handed else None
    if isinstance(outcome, BaseException):
        raise outcome
    if not isinstance(outcome, list) or os.waitstatus_to_exitcode(status) != 0:
        raise OutputError(f"{what}: the second process ended without its part (status {status})")
    return made + outcome


def _child(writing: int, work: Callable[[Item], Result], items: Sequence[Item], what: str) -> NoReturn:
    """In the forked child: write the pickled results of `items` (or the exception raised) to `writing`, then exit."""
    code = 0
    try:
        outcome: object = [work(item) for item in items]
    except BaseException as exc:  # handed to the parent, which raises it
        outcome, code = exc, 1
    try:
        try:
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            data = pickle.dumps(OutputError(f"{what}: {type(outcome).__name__}: {outcome}"))
        with os.fdopen(writing, "wb") as pipe:
            pipe.write(data)
    finally:
        os._exit(code)
