"""`outreach inbox`: replies, automatic replies and delivery reports read from the campaign mailbox into the log."""

from __future__ import annotations

from outreach import console, settings
from outreach.cli.app import user_errors
from outreach.cli.options import JsonOption
from outreach.cli.output import output_rows, print_json

# What each kind of message found does, as the table says it.
_WHAT = {
    "reply": "reply (set its outcome with 'outreach reply')",
    "auto_reply": "automatic reply: acknowledgement",
    "delivery_failure": "delivery failed",
    "copy": "uncertain → sent (copy found)",
}


def inbox(*, as_json: JsonOption = False) -> None:
    """Read the campaign mailbox over IMAP and record what came back for each letter; the mailbox is not changed.

    Reads INBOX's new messages since the last run: replies (matched by In-Reply-To/References, or flagged when
    matched by sender and subject reference), automatic replies (recorded as acknowledgements) and delivery reports
    (the letter fails with their reason). Settles uncertain letters whose copy is in the Sent folder or INBOX.
    Settings: OUTREACH_IMAP_HOST, _PORT, _SECURITY (ssl|starttls|none), _USER, _PASSWORD, _AUTH (password|xoauth2),
    _TOKEN_COMMAND, _CA_FILE, _SENT (the Sent folder's name).
    """
    from outreach.delivery.inbox import read_inbox
    from outreach.ledger import DATABASE_FILE, Ledger

    with user_errors():
        imap = settings.imap()
        if not Ledger.exists_default():
            console.err.print(f"No contact log yet ({settings.home() / DATABASE_FILE}): no letter to match.")
            if as_json:
                print_json([])
            return
        with Ledger.open_default() as ledger:
            result = read_inbox(ledger, imap)
    console.err.print(
        f"Read {result.read} new messages in INBOX of {result.mailbox}: {len(result.found)} about letters, "
        f"{result.copies} letters' own copies, {result.unmatched} about no letter (left alone)"
        + (f"; Sent folder: {result.sent_folder}" if result.sent_folder else "; no Sent folder found"),
        markup=False,
        soft_wrap=True,
    )
    rows = [
        (
            item.key[1],
            item.name,
            _WHAT[item.kind] + (f": {item.reason}" if item.reason else ""),
            item.sender,
            item.subject,
            item.received_at.date().isoformat(),
            item.matched_by.replace("_", " ") + (" (check)" if item.flagged else ""),
        )
        for item in result.found
    ]
    output_rows(
        result.found,
        lambda item: item.as_json(),
        as_json=as_json,
        table=lambda: console.table(
            "Inbox", ("letter", "name", "what", "from", "subject", "received", "matched by"), rows
        ),
    )
    if result.still_uncertain:
        console.err.print(
            f"{len(result.still_uncertain)} uncertain letters have no copy in the Sent folder or INBOX: they may not "
            "have arrived; send them with 'outreach send --resend-uncertain': "
            + ", ".join(contact.letter_id for contact in result.still_uncertain),
            style="yellow",
            markup=False,
            soft_wrap=True,
        )
