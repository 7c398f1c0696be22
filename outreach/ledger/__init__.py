"""The contact log: who was written to, when, how, with which asks, and what came back: the system of record.

Design
------
By default one SQLite file, ``$OUTREACH_HOME/outreach.db``, opened by every command that reads or writes the log. With
``OUTREACH_DATABASE_URL=postgresql://…`` the same log lives in a team's PostgreSQL database instead: the same schema
(one ordered list of migrations), the same SQL (written once; ``engine.py`` adapts placeholders and types in one
place), the same states and rules, so several people on several machines share one record.

**One row per (campaign, letter_id, channel).** A letter id names a member and a kind of letter (``4366-seat``,
``4366-minister``), so the key says "this letter, in this campaign, by this channel". A unique index on it is what
makes "never the same letter twice" a property of the database rather than of careful code: a second send of the
same letter finds the row and its state instead of inserting a new one. The key is not the recipient's address,
because one address may rightly receive several different letters (a minister's seat letter and ministerial letter;
ministers sharing a departmental inbox). The channel is part of the key because a letter posted and later e-mailed
is two contacts, each with its own proof (a postal reference, a Message-ID).

**The state machine.** An e-mail moves ``queued → sending → sent | deferred | failed | uncertain``. ``deferred``
means the server said "not now" (a 4xx reply, or the connection was lost before the end of DATA): the letter cannot
have arrived, and goes back to ``sending`` later in the same run or first in the next; a failed one (a 5xx) goes
back to ``sending`` on the next run. Each move is its own ``BEGIN IMMEDIATE`` transaction, committed before the
caller goes on: ``sending`` is on disk *before* the SMTP transaction starts and ``sent`` right after the server
accepts the message. So if the process dies mid-transaction, the row is left ``sending``, and the next run (holding
the send lock, so no live run owns that row) moves it to ``uncertain``: the server may or may not have taken the
message. An uncertain letter is never resent automatically — that would risk the one failure worst for the campaign,
an MP receiving the same letter twice — only after a person checks the sent folder and asks for it (``send
--resend-uncertain``, which calls ``requeue_uncertain``), or once ``outreach inbox`` finds its copy in the Sent
folder (``sent``). An uncapped send groups its commits (``begin_sending_batch``: a batch of letters marked
``sending`` in one commit, their ``sent`` marks with the next batch's), so a crash leaves at most one batch
uncertain (``delivery.run.GROUP_COMMIT`` letters), and none lost: the moves are conditional UPDATEs (``... WHERE
state IN (allowed)``), so two processes racing for the same row cannot both win. Letters sent by post or by hand
(``outreach log add``) are recorded directly as ``sent``.

**The Message-ID is fixed before sending**, when the letter is queued, and kept across retries. A retry after a
dropped connection or a resend of an uncertain letter then carries the same Message-ID, so a duplicate that does
slip through can be recognised (and is collapsed by many mail systems), and the log can be matched against the
sent folder or the server's log by that id.

**Durability.** WAL journal with ``synchronous=FULL``: every commit is fsynced to the WAL before the call returns,
so a committed state survives not only a killed process (which WAL with ``synchronous=NORMAL`` would also survive)
but a power cut or kernel crash. With NORMAL a power cut can roll back the last commits — a ``sent`` or ``sending``
could revert to ``queued``, and the letter would be e-mailed again. The cost is one fsync per commit: the
1,300 changes of a 650-letter send took 0.34 s on ext4 and 0.07 s on tmpfs when measured (``bench/ledger.py``),
and group commit makes a send pay one for every GROUP_COMMIT letters (``bench/send.py`` prints fsyncs per letter
and one fsync's cost), so durability is not traded for speed. WAL also lets
``outreach log`` read while a send is writing. Foreign keys are on, so a reply cannot point at no contact.
A busy timeout lets two processes take turns instead of failing at once.

**Replies** are their own table, linked to a contact by foreign key: a letter may get an acknowledgement first and a
substantive answer later, and each is kept. A contact shows its latest reply (by reply date). Outcomes:
substantive, acknowledgement, meeting, declined, none. A contact sent with no reply falls due for a follow-up after
20 working days (the Cabinet Office standard for replies to MPs' correspondence; see ``outreach.workdays``).

**Suppressions** are the opt-out list: a member who asked not to be written to is never sent to (``begin_sending``
refuses them even if a caller forgot to check) and ``outreach draft`` leaves them out. A suppression is not tied to
a campaign: an opt-out outlives the campaign it was made in.

**Lawful basis and retention.** The log holds personal data about MPs and their offices: names, e-mail and postal
addresses used for their public role, and notes of replies. IPEM processes it under legitimate interests (UK GDPR
Article 6(1)(f)): a professional body's interest in putting its members' expertise before Parliament, balanced
against MPs' expectation, in their public role, of being written to about policy. Keep only what that needs
(no private or special-category data in reply notes). Retention: rows are kept for the life of the campaign and
then for the period IPEM's records-retention schedule sets (a suggested default: two years after the campaign
ends), after which ``Ledger.forget_campaign`` deletes a campaign's contacts and, by cascade, their replies;
suppressions are kept until the member withdraws the opt-out.

**Who and which log.** Every contact, reply and suppression records the person (``OUTREACH_USER``, default the login
name) and the machine. Each log has an id (a UUID in the ``meta`` table, made with the schema); an outbox records the
id of the log it was first sent from, so a send from another log is refused.

**Schema versions.** ``PRAGMA user_version`` (SQLite) or the ``outreach_schema`` table (PostgreSQL) holds the schema
version; ``MIGRATIONS`` (``schema.py``) is the ordered list of steps from an empty log, each applied in one
transaction with the version bump. A file from a newer outreach
is refused with one line rather than misread. Timestamps are UTC ISO 8601 text (``2026-11-28T09:15:00+00:00``), dates
``YYYY-MM-DD``, so they sort and compare as text.

**The parts.** ``engine.py``: the two engines behind one ``Database`` (``postgres.py``: PostgreSQL); ``states.py``:
the vocabulary (``State``, a StrEnum whose members equal the text stored, so rows and JSON are the same as before
it); ``records.py``: ``Contact`` and the entries written; ``schema.py``: the migrations and the connection;
``reading.py``: every query; ``transitions.py``: the state machine of a letter sent, owners and leases; ``log.py``:
``Ledger``, which adds letters recorded by post or by hand, replies, suppressions and forgetting a campaign;
``check.py``: ``outreach log check``; ``copying.py``: ``outreach log migrate``.
"""

from outreach.ledger.engine import IntegrityViolation, is_url, redact
from outreach.ledger.inbox import Found
from outreach.ledger.log import Ledger
from outreach.ledger.reading import FOLLOW_UP_WORKING_DAYS, default_target
from outreach.ledger.records import (
    Actor,
    Contact,
    LedgerError,
    NewContact,
    Overdue,
    Queued,
    Suppression,
    now,
    overdue_by_letter,
)
from outreach.ledger.schema import BUSY_TIMEOUT_SECONDS, DATABASE_FILE, MIGRATIONS, SCHEMA_VERSION
from outreach.ledger.states import CHANNELS, DELIVERED_STATES, OUTCOMES, SENDABLE_STATES, STATES, State
from outreach.ledger.transitions import LEASE_SECONDS, StateRefused

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "LEASE_SECONDS",
    "CHANNELS",
    "DATABASE_FILE",
    "DELIVERED_STATES",
    "FOLLOW_UP_WORKING_DAYS",
    "MIGRATIONS",
    "OUTCOMES",
    "SCHEMA_VERSION",
    "SENDABLE_STATES",
    "STATES",
    "Actor",
    "Contact",
    "Found",
    "Ledger",
    "IntegrityViolation",
    "LedgerError",
    "NewContact",
    "Overdue",
    "Queued",
    "State",
    "StateRefused",
    "Suppression",
    "default_target",
    "is_url",
    "now",
    "overdue_by_letter",
    "redact",
]
