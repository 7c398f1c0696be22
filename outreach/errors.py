"""The expected failures of outreach, each with the exit code the CLI gives it."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes of every command (INTERFACE.md): mapped once, here."""

    OK = 0
    FAILURE = 1  # an expected failure: bad input, an unknown target, a check that failed
    USAGE = 2  # Typer's own: a wrong flag or argument
    SOURCE = 3  # a live source failed (Members API, postcodes.io, SMTP, IMAP) or a refresh was refused
    SEND_INCOMPLETE = 4  # a send finished with some letters failed or still deferred (see failures.csv)


class OutreachError(Exception):
    """An expected failure: one line on stderr, no traceback."""

    exit_code: ExitCode = ExitCode.FAILURE


class DataError(OutreachError):
    """A data or campaign file is missing, malformed or inconsistent (names the file and line or record)."""


class TemplateError(OutreachError):
    """A letter template failed to render (names the template file and line)."""


class TargetError(OutreachError):
    """A named target (member, constituency) matched nothing; the message suggests near misses."""


class OutputError(OutreachError):
    """An output folder cannot be written, or would be overwritten without --force."""


class SourceError(OutreachError):
    """A live source (Members API, postcodes.io, SMTP) failed or answered badly."""

    exit_code = ExitCode.SOURCE


class SendIncomplete(OutreachError):
    """A send finished, but some letters failed or are still deferred: they are listed in the outbox's failures.csv."""

    exit_code = ExitCode.SEND_INCOMPLETE
