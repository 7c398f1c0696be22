"""Writing files whole or not at all: the one atomic writer every part of outreach uses."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from outreach.errors import OutputError


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
