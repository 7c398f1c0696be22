"""The expected failures of outreach, each with the exit code the CLI gives it."""

from __future__ import annotations


class OutreachError(Exception):
    """An expected failure: one line on stderr, no traceback."""

    exit_code = 1


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

    exit_code = 3
