"""The contact log's core on real SQLite files: the state machine, crash recovery, replies, follow-ups, suppression."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from outreach import workdays
from outreach.ledger import (
    DATABASE_FILE,
    SCHEMA_VERSION,
    Actor,
    Contact,
    Ledger,
    LedgerError,
    NewContact,
    Queued,
    default_target,
)

CAMPAIGN = "ipem-2024"
SHA = "9f2c" * 16


def queue(ledger: Ledger, member_id: int = 4602, kind: str = "seat", **changes: object) -> Contact:
    """Queue an e-mail to a real member (Wera Hobhouse, Bath, by default)."""
    fields: dict[str, object] = {
        "campaign": CAMPAIGN,
        "letter_id": f"{member_id}-{kind}",
        "channel": "email",
        "member_id": member_id,
        "name": "Wera Hobhouse",
        "recipient": "wera.hobhouse.mp@parliament.uk",
        "asks": ("equipment", "workforce", "registration"),
        "content_sha256": SHA,
        "message_id": f"<{member_id}-{kind}.{CAMPAIGN}@ipem.ac.uk>",
    }
    fields.update(changes)
    return ledger.enqueue(**fields)  # type: ignore[arg-type]


@pytest.fixture
def ledger(database: str) -> Iterator[Ledger]:
    """The default log on each engine (SQLite in OUTREACH_HOME, and PostgreSQL)."""
    with Ledger.open_default() as opened:
        yield opened


def key(letter_id: str = "4602-seat") -> tuple[str, str, str]:
    return (CAMPAIGN, letter_id, "email")


def test_the_file_is_created_under_outreach_home_in_wal_mode(outreach_home: Path) -> None:
    assert not Ledger.exists_default()
    with Ledger.open_default() as ledger:
        queue(ledger)
    path = outreach_home / DATABASE_FILE
    assert Ledger.exists_default() and path.is_file()
    assert path.stat().st_mode & 0o777 == 0o600  # personal data: owner only
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    raw.close()
    with Ledger.open_default() as reopened:  # a second open keeps the rows and the version
        assert reopened.contact(*key()) is not None
        assert reopened.schema_version() == SCHEMA_VERSION


def test_a_file_from_a_newer_outreach_is_refused_with_one_line(outreach_home: Path) -> None:
    path = outreach_home / DATABASE_FILE
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, future TEXT)")
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(LedgerError) as refused:
        Ledger(path)
    message = str(refused.value)
    assert "\n" not in message
    assert str(path) in message and f"schema version {SCHEMA_VERSION + 1} is newer" in message
    raw = sqlite3.connect(path)  # and it was left as it was
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    raw.close()


def test_a_file_that_is_not_a_database_is_refused(outreach_home: Path) -> None:
    path = outreach_home / DATABASE_FILE
    path.write_text("letter_id,member_id\n4602-seat,4602\n", encoding="utf-8")
    with pytest.raises(LedgerError, match="not a contact log outreach can read"):
        Ledger(path)


def test_an_email_goes_queued_sending_sent(ledger: Ledger) -> None:
    queued = queue(ledger)
    assert (queued.state, queued.attempts, queued.sent_at) == ("queued", 0, None)
    sending = ledger.begin_sending(*key())
    assert (sending.state, sending.attempts) == ("sending", 1)
    moment = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    ledger.mark_sent(*key(), sent_at=moment)
    sent = ledger.contact(*key())
    assert sent is not None
    assert (sent.state, sent.sent_at, sent.message_id) == ("sent", moment, queued.message_id)
    assert sent.asks == ("equipment", "workforce", "registration")
    assert sent.queued_at.tzinfo is not None and sent.updated_at >= sent.queued_at


def test_a_failure_is_recorded_and_retried_with_the_same_message_id(ledger: Ledger) -> None:
    queued = queue(ledger)
    ledger.begin_sending(*key())
    ledger.mark_failed(*key(), "550 5.1.1 mailbox unavailable")
    failed = ledger.contact(*key())
    assert failed is not None and (failed.state, failed.error) == ("failed", "550 5.1.1 mailbox unavailable")
    again = ledger.begin_sending(*key())
    assert (again.state, again.attempts, again.message_id) == ("sending", 2, queued.message_id)
    ledger.mark_sent(*key())
    done = ledger.contact(*key())
    assert done is not None and done.state == "sent" and done.error is None


@pytest.mark.parametrize(
    ("setup", "move", "refused_from"),
    [
        ((), "mark_sent", "queued"),
        ((), "mark_failed", "queued"),
        ((), "requeue_uncertain", "queued"),
        (("begin_sending",), "begin_sending", "sending"),
        (("begin_sending", "mark_sent"), "begin_sending", "sent"),
        (("begin_sending", "mark_sent"), "mark_failed", "sent"),
        (("begin_sending", "mark_sent"), "mark_sent", "sent"),
        (("begin_sending", "mark_failed"), "mark_sent", "failed"),
        (("begin_sending", "settle"), "begin_sending", "uncertain"),
        (("begin_sending", "settle"), "mark_sent", "uncertain"),
    ],
)
def test_refused_transitions_change_nothing(
    ledger: Ledger, setup: tuple[str, ...], move: str, refused_from: str
) -> None:
    queue(ledger)
    for step in setup:
        if step == "settle":
            ledger.settle_interrupted()
        elif step == "mark_failed":
            ledger.mark_failed(*key(), "421 try later")
        else:
            getattr(ledger, step)(*key())
    before = ledger.contact(*key())
    assert before is not None and before.state == refused_from
    arguments: tuple[object, ...] = (*key(), "reason") if move == "mark_failed" else key()
    with pytest.raises(LedgerError, match=f"cannot move from '{refused_from}'"):
        getattr(ledger, move)(*arguments)
    assert ledger.contact(*key()) == before


def test_an_unknown_letter_cannot_be_sent(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="4602-seat \\(email\\): not in the contact log"):
        ledger.begin_sending(*key())


def test_settle_interrupted_leaves_only_sending_rows_uncertain_and_requeue_keeps_the_message_id(ledger: Ledger) -> None:
    for member_id in (4602, 4366, 4514):
        queue(ledger, member_id)
    ledger.begin_sending(*key("4602-seat"))
    ledger.mark_sent(*key("4602-seat"))
    ledger.begin_sending(*key("4366-seat"))  # the run died during this one's SMTP transaction
    settled = ledger.settle_interrupted()
    assert [contact.letter_id for contact in settled] == ["4366-seat"]
    assert settled[0].state == "uncertain" and "interrupted" in (settled[0].error or "")
    states = {contact.letter_id: contact.state for contact in ledger.contacts()}
    assert states == {"4602-seat": "sent", "4366-seat": "uncertain", "4514-seat": "queued"}
    assert ledger.settle_interrupted() == []
    assert ledger.sent_letter_ids(CAMPAIGN) == {"4602-seat", "4366-seat"}  # uncertain counts as perhaps sent
    ledger.requeue_uncertain(*key("4366-seat"))
    requeued = ledger.contact(*key("4366-seat"))
    assert requeued is not None and requeued.state == "queued"
    assert requeued.message_id == "<4366-seat.ipem-2024@ipem.ac.uk>"


def test_enqueue_is_idempotent_and_never_changes_a_message_id(ledger: Ledger) -> None:
    first = queue(ledger)
    again = queue(ledger, message_id="<another@ipem.ac.uk>", content_sha256="ab" * 32)
    assert len(ledger.contacts()) == 1
    assert again.message_id == first.message_id and again.content_sha256 == "ab" * 32  # a fixed draft may replace it
    assert again.queued_at == first.queued_at
    ledger.begin_sending(*key())
    ledger.mark_sent(*key())
    sent = ledger.contact(*key())
    after = queue(ledger, content_sha256="cd" * 32, recipient="someone.else@parliament.uk")
    assert after == sent  # a sent row is returned unchanged
    # The same letter by post is a different contact; a different letter to the same address is one too.
    queue(ledger, channel="post", message_id=None)
    queue(ledger, 4602, "minister")
    assert len(ledger.contacts()) == 3


def test_two_ledgers_racing_for_the_same_rows_each_row_won_once(database: str) -> None:
    letters = [f"{member}-seat" for member in range(4000, 4040)]
    with Ledger.open_default() as ledger:
        for letter in letters:
            queue(ledger, int(letter.split("-")[0]))
    wins: dict[str, list[str]] = {"a": [], "b": []}
    refusals: dict[str, int] = {"a": 0, "b": 0}
    start = threading.Barrier(2)

    def race(name: str) -> None:
        with Ledger.open_default() as own:  # its own connection, as another process would have
            start.wait()
            for letter in letters:
                try:
                    own.begin_sending(*key(letter))
                    wins[name].append(letter)
                except LedgerError:
                    refusals[name] += 1

    threads = [threading.Thread(target=race, args=(name,)) for name in wins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins["a"] + wins["b"]) == sorted(letters)  # every row won exactly once
    assert refusals["a"] + refusals["b"] == len(letters)
    with Ledger.open_default() as ledger:
        assert {contact.attempts for contact in ledger.contacts()} == {1}


def test_record_inserts_sent_and_refuses_a_second_time(ledger: Ledger) -> None:
    posted = datetime(2026, 10, 1, 12, tzinfo=UTC)
    entry = {
        "campaign": CAMPAIGN,
        "letter_id": "4366-seat",
        "channel": "post",
        "member_id": 4366,
        "name": "Sir James Cleverly",
        "recipient": "Rt Hon Sir James Cleverly MP | House of Commons | London | SW1A 0AA",
        "asks": ("equipment", "workforce"),
        "content_sha256": SHA,
        "sent_at": posted,
        "postal_reference": "RM123456789GB",
    }
    recorded = ledger.record(**entry)  # type: ignore[arg-type]
    assert (recorded.state, recorded.sent_at, recorded.postal_reference) == ("sent", posted, "RM123456789GB")
    with pytest.raises(LedgerError, match="ipem-2024/4366-seat \\(post\\): already in the log as 'sent'"):
        ledger.record(**entry)  # type: ignore[arg-type]
    with pytest.raises(LedgerError, match="unknown channel 'fax'"):
        ledger.record(**{**entry, "channel": "fax", "letter_id": "4366-minister"})  # type: ignore[arg-type]
    assert len(ledger.contacts()) == 1


def test_record_all_is_one_transaction(ledger: Ledger) -> None:
    posted = datetime(2026, 10, 1, 12, tzinfo=UTC)
    good = NewContact(CAMPAIGN, "4602-seat", "post", 4602, "Wera Hobhouse", "Bath", ("equipment",), SHA, posted)
    bad = NewContact(CAMPAIGN, "4366-seat", "post", 4366, "Sir James Cleverly", "x", ("a;b",), SHA, posted)
    with pytest.raises(LedgerError, match="must be non-empty and contain no ';'"):
        ledger.record_all([good, bad])
    assert ledger.contacts() == []  # the good row was rolled back with the bad one


def sent_post(ledger: Ledger, member_id: int, name: str, sent: datetime, kind: str = "seat") -> Contact:
    return ledger.record(
        campaign=CAMPAIGN,
        letter_id=f"{member_id}-{kind}",
        channel="post",
        member_id=member_id,
        name=name,
        recipient="House of Commons | London | SW1A 0AA",
        asks=("workforce",),
        content_sha256=SHA,
        sent_at=sent,
    )


def test_reply_attaches_to_the_one_sent_letter_and_asks_to_choose_between_several(ledger: Ledger) -> None:
    sent_post(ledger, 4514, "Sir Keir Starmer", datetime(2026, 10, 1, 12, tzinfo=UTC))
    sent_post(ledger, 4514, "Sir Keir Starmer", datetime(2026, 10, 1, 12, tzinfo=UTC), kind="minister")
    with pytest.raises(LedgerError, match="several letters sent .*4514-minister, ipem-2024/4514-seat"):
        ledger.reply(4514, outcome="acknowledgement", reply_date=date(2026, 10, 8))
    [answered] = ledger.reply(4514, outcome="acknowledgement", reply_date=date(2026, 10, 8), letter_id="4514-minister")
    assert (answered.letter_id, answered.reply_outcome, answered.reply_date) == (
        "4514-minister",
        "acknowledgement",
        date(2026, 10, 8),
    )
    # A later substantive answer is kept beside the acknowledgement and becomes the contact's reply.
    ledger.reply(
        4514,
        outcome="substantive",
        reply_date=date(2026, 11, 2),
        note="Will raise with DHSC",
        letter_id="4514-minister",
    )
    latest = ledger.contact(CAMPAIGN, "4514-minister", "post")
    assert latest is not None and (latest.reply_outcome, latest.reply_note) == ("substantive", "Will raise with DHSC")
    with pytest.raises(LedgerError, match="unknown outcome 'maybe'"):
        ledger.reply(4514, outcome="maybe", reply_date=date(2026, 11, 2), letter_id="4514-seat")
    with pytest.raises(LedgerError, match="before the letter was sent"):
        ledger.reply(4514, outcome="none", reply_date=date(2026, 9, 1), letter_id="4514-seat")
    with pytest.raises(LedgerError, match="member 4602: no sent letter in the contact log"):
        ledger.reply(4602, outcome="none", reply_date=date(2026, 11, 2))


def test_forgetting_a_campaign_deletes_its_replies_by_cascade(ledger: Ledger) -> None:
    sent_post(ledger, 4602, "Wera Hobhouse", datetime(2026, 10, 1, 12, tzinfo=UTC))
    ledger.reply(4602, outcome="meeting", reply_date=date(2026, 10, 9))
    assert ledger.forget_campaign(CAMPAIGN) == 1
    assert ledger._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0] == 0


def test_followups_fall_due_after_twenty_working_days_across_easter(ledger: Ledger) -> None:
    # Posted Wednesday 1 April 2026: Good Friday (3 April) and Easter Monday (6 April) are not working days, so the
    # 20th working day is Friday 1 May, not Wednesday 29 April.
    sent_post(ledger, 4602, "Wera Hobhouse", datetime(2026, 4, 1, 12, tzinfo=UTC))
    sent_post(ledger, 4366, "Sir James Cleverly", datetime(2026, 4, 1, 12, tzinfo=UTC))
    assert ledger.followups_due(date(2026, 4, 30)) == []
    assert ledger.followups_due(date(2026, 5, 1)) == []  # replies may still come on the 20th day
    due = ledger.followups_due(date(2026, 5, 2))
    assert [(contact.letter_id, deadline) for contact, deadline in due] == [
        ("4602-seat", date(2026, 5, 1)),
        ("4366-seat", date(2026, 5, 1)),
    ]
    ledger.reply(4366, outcome="acknowledgement", reply_date=date(2026, 4, 20))
    assert [contact.letter_id for contact, _ in ledger.followups_due(date(2026, 5, 4))] == ["4602-seat"]
    assert ledger.followups_due(date(2026, 5, 4), campaign="another-campaign") == []


def test_a_queued_or_uncertain_letter_is_never_due_a_follow_up(ledger: Ledger) -> None:
    queue(ledger)
    queue(ledger, 4366)
    ledger.begin_sending(*key("4366-seat"))
    ledger.settle_interrupted()
    assert ledger.followups_due(date(2027, 1, 1)) == []


def test_a_suppressed_member_cannot_be_sent_to(ledger: Ledger) -> None:
    queue(ledger)
    ledger.suppress(4602, "asked not to be contacted, e-mail of 2026-11-20", name="Wera Hobhouse")
    assert ledger.is_suppressed(4602) and ledger.suppressed_ids() == {4602}
    with pytest.raises(LedgerError, match="Wera Hobhouse is on the suppression list"):
        ledger.begin_sending(*key())
    assert ledger.contact(*key()).state == "queued"  # type: ignore[union-attr]
    ledger.suppress(4602, "asked again")
    [entry] = ledger.suppressions()
    assert (entry.member_id, entry.name, entry.reason) == (4602, "Wera Hobhouse", "asked again")
    with pytest.raises(LedgerError, match="needs a reason"):
        ledger.suppress(4366, "  ")
    assert ledger.unsuppress(4602) and not ledger.unsuppress(4602)
    assert ledger.begin_sending(*key()).state == "sending"


def test_contacts_filters(ledger: Ledger) -> None:
    sent_post(ledger, 4602, "Wera Hobhouse", datetime(2026, 10, 1, 12, tzinfo=UTC))
    sent_post(ledger, 4366, "Sir James Cleverly", datetime(2026, 11, 2, 12, tzinfo=UTC))
    queue(ledger, 4514, name="Sir Keir Starmer")
    assert [c.letter_id for c in ledger.contacts(member_id=4366)] == ["4366-seat"]
    assert [c.letter_id for c in ledger.contacts(state="queued")] == ["4514-seat"]
    assert [c.letter_id for c in ledger.contacts(since=date(2026, 11, 2), state="sent")] == ["4366-seat"]
    assert [c.letter_id for c in ledger.contacts(since=date(2026, 11, 3), state="sent")] == []
    assert len(ledger.contacts(campaign=CAMPAIGN)) == 3 and ledger.contacts(campaign="ipem-2029") == []
    with pytest.raises(LedgerError, match="unknown state 'posted'"):
        ledger.contacts(state="posted")


@pytest.mark.parametrize(
    ("year", "published"),
    [
        # gov.uk/bank-holidays, England and Wales.
        (2025, ["01-01", "04-18", "04-21", "05-05", "05-26", "08-25", "12-25", "12-26"]),
        (2026, ["01-01", "04-03", "04-06", "05-04", "05-25", "08-31", "12-25", "12-28"]),
        (2027, ["01-01", "03-26", "03-29", "05-03", "05-31", "08-30", "12-27", "12-28"]),
        (2020, ["01-01", "04-10", "04-13", "05-08", "05-25", "08-31", "12-25", "12-28"]),
        (2022, ["01-03", "04-15", "04-18", "05-02", "06-02", "06-03", "08-29", "09-19", "12-26", "12-27"]),
        (2023, ["01-02", "04-07", "04-10", "05-01", "05-08", "05-29", "08-28", "12-25", "12-26"]),
    ],
)
def test_bank_holidays_match_the_published_lists(year: int, published: list[str]) -> None:
    assert [day.strftime("%m-%d") for day in workdays.bank_holidays(year)] == published


def test_substitute_days_are_named_for_the_holiday_they_replace() -> None:
    days = workdays.bank_holidays(2022)
    assert days[date(2022, 12, 26)] == "Boxing Day"
    assert days[date(2022, 12, 27)] == "Christmas Day (substitute day)"
    assert workdays.bank_holidays(2022)[date(2022, 1, 3)] == "New Year’s Day (substitute day)"


def test_working_days_and_uk_dates() -> None:
    assert workdays.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)  # Christmas, the 28th substitute
    assert workdays.add_working_days(date(2026, 5, 22), 1) == date(2026, 5, 26)  # over the spring bank holiday
    assert not workdays.is_working_day(date(2023, 5, 8))  # the coronation
    assert workdays.uk_date(datetime(2026, 7, 31, 23, 30, tzinfo=UTC)) == date(2026, 8, 1)  # 00:30 BST
    assert workdays.uk_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == date(2026, 12, 31)  # GMT in winter


def test_a_batch_is_queued_whole_or_not_at_all(ledger: Ledger) -> None:
    batch = [
        Queued(
            CAMPAIGN, f"{member_id}-seat", "email", member_id, name, address, ("workforce",), SHA, f"<{member_id}@x>"
        )
        for member_id, name, address in (
            (4602, "Wera Hobhouse", "wera.hobhouse.mp@parliament.uk"),
            (4366, "James Cleverly", "james.cleverly.mp@parliament.uk"),
        )
    ]
    assert [contact.state for contact in ledger.enqueue_all(batch)] == ["queued", "queued"]
    # A second batch with one bad entry (an unknown channel) queues nothing, not even its good entry.
    good = Queued(CAMPAIGN, "4124-seat", "email", 4124, "Chi Onwurah", "chi@example.org", ("ai",), SHA, "<4124@x>")
    bad = Queued(CAMPAIGN, "4125-seat", "fax", 4125, "Someone", "x@example.org", ("ai",), SHA, "<4125@x>")
    with pytest.raises(LedgerError, match="unknown channel 'fax'"):
        ledger.enqueue_all([good, bad])
    assert ledger.contact(*key("4124-seat")) is None
    # Queued again, a row keeps the Message-ID it was first given.
    again = ledger.enqueue_all([dataclasses.replace(batch[0], message_id="<another@x>")])
    assert again[0].message_id == "<4602@x>"


def test_the_previous_letters_sent_is_committed_with_the_next_ones_sending(ledger: Ledger) -> None:
    queue(ledger)
    queue(ledger, 4366, name="James Cleverly", recipient="james.cleverly.mp@parliament.uk")
    ledger.begin_sending(*key())
    accepted = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    ledger.begin_sending(*key("4366-seat"), after_sent=(key(), accepted))
    first, second = ledger.contact(*key()), ledger.contact(*key("4366-seat"))
    assert first is not None and (first.state, first.sent_at) == ("sent", accepted)
    assert second is not None and second.state == "sending"
    # Refused as a whole: the next letter cannot start (it was sent), so the previous one is not marked sent either.
    with pytest.raises(LedgerError, match="cannot move from 'sent' to 'sending'"):
        ledger.begin_sending(*key(), after_sent=(key("4366-seat"), accepted))
    still = ledger.contact(*key("4366-seat"))
    assert still is not None and still.state == "sending"


def test_a_lost_reply_leaves_the_letter_uncertain_with_the_reason(ledger: Ledger) -> None:
    queue(ledger)
    ledger.begin_sending(*key())
    ledger.mark_uncertain(*key(), "connection lost after the message was sent")
    contact = ledger.contact(*key())
    assert contact is not None and contact.state == "uncertain"
    assert contact.error == "connection lost after the message was sent"
    with pytest.raises(LedgerError):
        ledger.begin_sending(*key())  # never resent without --resend-uncertain


# -- a shared log: owners, leases, who did it ----------------------------------------------------------------


def other_sender(machine: str, pid: int, user: str = "colleague") -> Ledger:
    """Return the default log opened as another sender: a person, a machine and a process."""
    return Ledger(default_target(), actor=Actor(user, machine, pid))


def test_a_live_senders_row_is_never_settled_only_an_abandoned_one(ledger: Ledger) -> None:
    """On a shared log another machine's run may be mid-letter: its row is left be until its lease runs out."""
    for member_id in (4602, 4366, 4514):
        queue(ledger, member_id)
    with other_sender("laptop-2", 4242) as elsewhere:
        taken = elsewhere.begin_sending(*key("4602-seat"))
        assert (taken.by, taken.machine, taken.owner_pid) == ("colleague", "laptop-2", 4242)
        assert taken.lease_until is not None and taken.lease_until > taken.updated_at
        elsewhere.lease_seconds = -1  # this one's lease has already run out: its machine died mid-letter
        elsewhere.begin_sending(*key("4366-seat"))
    # A process of this machine that is gone (no process has id 2**22 + 1 under Linux's default pid_max).
    with other_sender(ledger.actor.machine, 2**22 + 1) as dead_here:
        dead_here.begin_sending(*key("4514-seat"))
    settled = ledger.settle_interrupted()
    assert sorted(contact.letter_id for contact in settled) == ["4366-seat", "4514-seat"]
    live = ledger.contact(*key("4602-seat"))
    assert live is not None and live.state == "sending"
    with other_sender("laptop-2", 4242) as elsewhere:
        assert elsewhere.renew_leases() == 1
        elsewhere.mark_sent(*key("4602-seat"))  # the live sender finishes: nothing was taken from it
    done = ledger.contact(*key("4602-seat"))
    assert done is not None and done.state == "sent" and done.lease_until is None


def test_a_lost_race_is_a_skip_that_still_commits_the_previous_sent(ledger: Ledger) -> None:
    for member_id in (4602, 4366):
        queue(ledger, member_id)
    ledger.begin_sending(*key("4602-seat"))
    with other_sender("laptop-2", 4242) as elsewhere:
        elsewhere.begin_sending(*key("4366-seat"))
    accepted = datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert ledger.claim(*key("4366-seat"), after_sent=(key("4602-seat"), accepted)) is None
    sent = ledger.contact(*key("4602-seat"))
    assert sent is not None and (sent.state, sent.sent_at) == ("sent", accepted)


def test_every_contact_reply_and_suppression_records_the_person_and_machine(database: str) -> None:
    with other_sender("desk-1", 1, user="alice") as alice:
        queue(alice)
        alice.begin_sending(*key())
        alice.mark_sent(*key())
        alice.suppress(4366, "asked not to be written to", name="Jeremy Corbyn")
    with other_sender("laptop-2", 2, user="bob") as bob:
        sent_post(bob, 4514, "Layla Moran", datetime(2026, 10, 1, 12, tzinfo=UTC))
        bob.reply(4602, outcome="meeting", reply_date=date(2026, 12, 1))
        assert [(c.letter_id, c.by, c.machine) for c in bob.contacts(by="alice")] == [("4602-seat", "alice", "desk-1")]
        assert [c.letter_id for c in bob.contacts(by="bob")] == ["4514-seat"]
        assert bob.contacts(by="carol") == []
        (suppressed,) = bob.suppressions()
        assert (suppressed.by, suppressed.machine) == ("alice", "desk-1")
        replied_by = bob._db.execute("SELECT by_user, machine FROM replies").fetchall()
        assert [tuple(row) for row in replied_by] == [("bob", "laptop-2")]
        json = bob.contacts(by="alice")[0].as_json()
        assert (json["by"], json["machine"]) == ("alice", "desk-1")


def test_each_log_has_one_id_made_with_its_schema(ledger: Ledger) -> None:
    log_id = ledger.log_id()
    assert len(log_id) == 36 and log_id.count("-") == 4
    with Ledger.open_default() as again:  # a second connection (another home on a team log) reads the same id
        assert again.log_id() == log_id and again.known_log_ids() == {log_id}
    with Ledger(Path(":memory:")) as other:
        assert other.log_id() != log_id
