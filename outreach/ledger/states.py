"""The contact log's vocabulary: a contact's states, the channels a letter goes by, the outcomes of a reply.

`State` is a StrEnum: each member equals the text stored in SQLite and printed by `outreach log --json`, so rows
and JSON read the same whether a state was written as `State.SENT` or as "sent".
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where a contact is in the state machine (see the design in `outreach.ledger`)."""

    QUEUED = "queued"  # in the log with its Message-ID fixed, not yet tried
    SENDING = "sending"  # committed before the transaction with the server starts
    SENT = "sent"  # the server accepted it, or it was posted or handed over
    DEFERRED = "deferred"  # the server said "not now" (a 4xx, a dropped connection before the end of DATA)
    FAILED = "failed"  # refused for good (a 5xx): tried again on the next run
    UNCERTAIN = "uncertain"  # may have arrived (the server's reply was lost, or a run died mid-send)


STATES: tuple[State, ...] = tuple(State)
# Letters in these states count as sent for `outreach draft` (an uncertain letter may well have arrived).
DELIVERED_STATES = (State.SENT, State.UNCERTAIN)
# A letter may be (re)tried from these states; any other is left be. A deferred letter goes first (see
# `outreach.delivery.run`): the server has already seen it once and asked for it again later.
SENDABLE_STATES = (State.QUEUED, State.DEFERRED, State.FAILED)
CHANNELS = ("email", "post", "other")
OUTCOMES = ("substantive", "acknowledgement", "meeting", "declined", "none")
# What `outreach inbox` found for a letter: a person's reply, an automatic reply (RFC 3834), a delivery report
# saying it failed (RFC 3464), or the letter's own copy (in the Sent folder, or delivered by --bcc-self).
INBOX_KINDS = ("reply", "auto_reply", "delivery_failure", "copy")
# How a message was tied to its letter; `sender_and_subject` is the fallback, flagged for a person to check.
MATCHED_BY = ("in_reply_to", "references", "returned_message", "sender_and_subject", "message_id")


def sql_list(values: tuple[str, ...]) -> str:
    """Return values as an SQL list of quoted literals, for a CHECK constraint or an IN clause: 'a', 'b'."""
    return ", ".join(f"'{value}'" for value in values)
