"""E-mails encoded ahead, in a second process, while the run sends: an uncapped send uses both cores.

Encoding a letter's e-mail (both bodies in quoted-printable, its PDF in base64: `Email.encoded`) is most of the
CPU time a send spends on it, and it is the same on every try, so it can be done before the letter's turn. A forked
child encodes the run's messages from the last towards the first and hands each one back through a pipe; the run
encodes the first ones itself as it comes to them, and takes the rest from the child. The two meet somewhere in the
middle: a shared counter tells the child how far the run has come, and it stops there.

The child is only a help: whatever it has not handed over when the run asks, the run encodes itself, so a child
that fails, is slow or is killed changes nothing but the time. It touches nothing of the parent but the messages
and its pipe (no log, no socket), and ends with os._exit. Linux only: fork in a process with threads is not safe
on macOS.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import signal
import struct
import threading
from collections.abc import Sequence
from typing import NoReturn

from outreach import forked
from outreach.render.email import Email, Encoded

# Fewer messages than this are encoded by the run alone: forking costs a few milliseconds, a letter about one.
AHEAD_MESSAGES = 64
_FRAME = struct.Struct("!II")  # a handed-over message: its position in the run's order, the length of its pickle
_REACHED = struct.Struct("!q")  # in the shared page: the highest position the run has encoded itself (or -1)


class Ahead:
    """The messages of one run, encoded by a forked child from the last backwards; `take` hands each over once."""

    def __init__(self, messages: Sequence[Email]) -> None:
        self._position = {id(message): at for at, message in enumerate(messages)}
        self._messages = list(messages)  # kept alive, so no id above is reused
        self._done: dict[int, Encoded] = {}
        self._reached = mmap.mmap(-1, _REACHED.size)  # anonymous and shared with the child
        _REACHED.pack_into(self._reached, 0, -1)
        self._lock = threading.Lock()
        reading, writing = os.pipe()
        self._child = forked.fork()
        if self._child == 0:
            os.close(reading)
            _encode_backwards(self._messages, self._reached, writing)
        os.close(writing)
        self._reader = threading.Thread(target=self._read, args=(reading,), name="outreach-ahead", daemon=True)
        self._reader.start()

    @classmethod
    def start(cls, messages: Sequence[Email]) -> Ahead | None:
        """Return the child encoding `messages`, or None where the run is better off alone (few messages, one
        core, not Linux)."""
        if len(messages) < AHEAD_MESSAGES or not forked.two_cores():
            return None
        return cls(messages)

    def _read(self, reading: int) -> None:
        """Keep what the child hands over until it ends (the pipe never fills, so the child never waits). Whatever
        goes wrong here only ends the handing over: the run encodes the rest itself."""
        with os.fdopen(reading, "rb") as pipe, contextlib.suppress(Exception):
            while header := pipe.read(_FRAME.size):
                if len(header) < _FRAME.size:
                    return
                at, length = _FRAME.unpack(header)
                data = pipe.read(length)
                if len(data) < length:
                    return  # the child was stopped mid-message: the run encodes that one itself
                encoded = pickle.loads(data)
                if not isinstance(encoded, Encoded):
                    return
                with self._lock:
                    self._done[at] = encoded

    def take(self, message: Email) -> Encoded | None:
        """Return `message` encoded by the child, or None if it has not been (the run then encodes it itself, and
        the child learns not to go below it)."""
        at = self._position.get(id(message))
        if at is None:
            return None
        with self._lock:
            found = self._done.pop(at, None)
        if found is None and at > _REACHED.unpack_from(self._reached, 0)[0]:
            _REACHED.pack_into(self._reached, 0, at)
        return found

    def close(self) -> None:
        """Stop the child if it still runs, reap it, and let go of what it handed over (once; then nothing)."""
        child, self._child = self._child, 0
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child, 0)
            self._reader.join()
            self._reached.close()
        self._done.clear()


def _encode_backwards(messages: Sequence[Email], reached: mmap.mmap, writing: int) -> NoReturn:
    """In the forked child: encode from the last message down to just above where the run has come, writing each
    to `writing`; then exit. Any failure ends the child quietly: the run encodes what it did not get."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle; it stops the child
        with os.fdopen(writing, "wb") as pipe:
            parent = os.getppid()
            for at in range(len(messages) - 1, -1, -1):
                if at <= _REACHED.unpack_from(reached, 0)[0] or os.getppid() != parent:
                    break  # the run has come this far, or is gone (killed): nothing more is wanted
                data = pickle.dumps(messages[at].encoded(), protocol=pickle.HIGHEST_PROTOCOL)
                pipe.write(_FRAME.pack(at, len(data)) + data)
                pipe.flush()
    except BaseException:
        code = 1
    finally:
        os._exit(code)
