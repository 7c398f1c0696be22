"""What an SMTP server's "not now" asks of the sender: how long to wait, and whether the whole run is too fast.

RFC 5321 section 4.2.1: a 4yz reply is a transient negative completion: the command failed, but the same command
may succeed later; a 5yz reply is a permanent refusal. So only a 5yz fails a letter; every 4yz defers it (section
4.5.4.1: the sender keeps the message and retries). A 421 (sections 3.8 and 4.2.5) says the server is closing the
channel, for every message: the run pauses, not only the letter.

RFC 3463 enhanced status codes say why (class 4 = persistent transient failure). The subjects used here:
- 4.7.x, security or policy (section 3.8): greylisting (postgrey through Postfix answers "450 4.7.1 ... Greylisted")
  and rate limits ("421 4.7.0 Try again later" from Gmail, "450 4.7.1 too much mail");
- 4.4.2, bad connection, and 4.4.5, system congestion (section 3.5): Microsoft 365 answers "4.4.2" when a client
  submits faster than its limit;
- 4.3.2, system not accepting network messages (section 3.4): the server is busy or shutting down.
Greylisting concerns one recipient's first try; the others say the run goes too fast, so the run slows down.

A server may say how long to wait in its text ("try again in 5 minutes", "Retry-After: 120"); that wait is
honoured when it is longer than the run's own backoff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 3463 section 2: class "." subject "." detail, e.g. 4.7.1.
_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_GREYLISTING = re.compile(r"gr[ae]y[- ]?list", re.IGNORECASE)
_TOO_FAST = re.compile(r"too (?:much|many|fast)|rate|throttl|limit|exceeded|slow down|congestion", re.IGNORECASE)
_UNIT = r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)"
# "Retry-After: 120" (the HTTP header's habit, seconds by default), or a number with its unit after words that ask
# for a pause: "try again in 5 minutes", "retry in 30s", "wait 2 minutes".
_RETRY_AFTER = re.compile(r"retry[- ]after:?\s*(\d{1,6})\s*" + _UNIT + r"?\b", re.IGNORECASE)
_WAIT = re.compile(r"(?:again in|retry in|wait(?: for)?|after|in)\s+(\d{1,6})\s*" + _UNIT + r"\b", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
# Enhanced codes that speak of the run's pace or the server's load rather than one recipient (RFC 3463 3.4, 3.5).
_LOAD_CODES = {(4, 3, 2), (4, 4, 2), (4, 4, 5)}


@dataclass(frozen=True)
class Pushback:
    """A 4yz reply read: the wait the server asked for (seconds, or None), and whether the run goes too fast."""

    wait: float | None
    throttled: bool


def enhanced_code(text: str) -> tuple[int, int, int] | None:
    """Return the RFC 3463 enhanced status code at the start of a reply's text (after the basic code), if any."""
    found = _ENHANCED.search(text[:24])
    if found is None:
        return None
    return int(found[1]), int(found[2]), int(found[3])


def asked_wait(text: str) -> float | None:
    """Return the seconds a reply's text asks the sender to wait ("try again in 5 minutes"), or None."""
    longest: float | None = None
    for found in [*_RETRY_AFTER.finditer(text), *_WAIT.finditer(text)]:
        unit = (found[2] or "s").lower()[0]
        seconds = float(found[1]) * _UNIT_SECONDS.get(unit, 1)
        longest = seconds if longest is None else max(longest, seconds)
    return longest


def read(code: int, text: str) -> Pushback:
    """Return what a 4yz reply (code and text) asks: its wait, and whether the whole run should slow down."""
    enhanced = enhanced_code(text)
    greylisted = bool(_GREYLISTING.search(text))
    if code == 421:
        throttled = True  # RFC 5321 4.2.5: the server is closing the channel for everyone
    elif greylisted:
        throttled = False  # one recipient's first try, not the run's pace
    elif enhanced in _LOAD_CODES:
        throttled = True
    elif enhanced is not None and enhanced[:2] == (4, 7):
        throttled = bool(_TOO_FAST.search(text))  # policy: a rate limit says so; otherwise a recipient's rule
    elif enhanced is not None:
        throttled = False  # X.1.x addresses, X.2.x one mailbox (even "receiving mail at a rate"), X.3.x, X.5.x
    else:
        throttled = bool(_TOO_FAST.search(text))  # no enhanced code: only the words say
    return Pushback(asked_wait(text), throttled)
