"""Writing files whole or not at all: the one atomic writer every part of outreach uses."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from outreach.errors import OutputError, OutreachError


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Return nothing; `write` fills a temporary file beside `path`, which then replaces `path` in one step.

    A reader (or a crash) never sees a half-written file: os.replace is atomic within one file system,
    which is why the temporary file lives in the same folder.
    """
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.chmod(temporary, 0o644)  # mkstemp makes the file private; what outreach writes is for people to open
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Return nothing; write `data` to `path` whole or not at all."""
    write_atomically(path, lambda stream: stream.write(data))


@contextlib.contextmanager
def held_lock(path: Path, command: str) -> Iterator[Path]:
    """Hold `path` as an exclusive lock for one run of `command`; a second concurrent run fails at once, one line.

    flock is released by the kernel when the process dies, however it dies, so a killed run never leaves a stale
    lock behind; that is why the lock is a held file lock, not a file whose presence means "locked".
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise OutreachError(f"{path}: cannot open the lock of 'outreach {command}' ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutreachError(f"another 'outreach {command}' is running (it holds {path}); wait for it") from None
            raise OutreachError(f"{path}: cannot lock ({exc.strerror})") from None
        yield path
    finally:
        os.close(handle)  # closing the descriptor releases the lock
