"""The e-mail of one letter (plain text, HTML, headers, refusals) and the SMTP settings' sources and precedence."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from outreach import campaign as campaigns
from outreach import settings
from outreach.errors import DataError
from outreach.render.email import Email, check_address, check_header, letter_body, to_html, to_plain_text
from outreach.resources import default_campaign_dir

LETTER = """**Institute of Physics and Engineering in Medicine**  
Fairmount House  
York  

28 November 2026

Seamus Logan MP  
House of Commons  
London  
SW1A 0AA  

**Aberdeenshire North and Moray East: the scientists & engineers behind your local NHS**

Dear Seamus Logan,

Since your election for Aberdeenshire North and Moray East in 2024,
you will have heard from <many> organisations.

Of the six asks, these matter most:

- **Train and keep the people.** Fund more training places.
- **Regulate clinical technologists.** As radiographers are; *now*.

Yours sincerely,

Policy and Public Affairs Team  
Institute of Physics and Engineering in Medicine  
"""  # noqa: W291 - the trailing two spaces are Markdown line breaks, as the drafted letters have them


def test_body_runs_from_the_salutation_to_the_sign_off() -> None:
    body = letter_body(LETTER, "Dear Seamus Logan", "manifest.csv:2")
    assert body.startswith("Dear Seamus Logan,\n")
    assert "Fairmount House" not in body and "SW1A 0AA" not in body and "28 November" not in body
    assert body.rstrip().endswith("Institute of Physics and Engineering in Medicine")


def test_a_letter_without_its_salutation_is_refused() -> None:
    with pytest.raises(DataError, match=r"manifest.csv:7 \(letter 1-seat\): the letter has no salutation line"):
        letter_body(LETTER, "Dear Sir Keir", "manifest.csv:7 (letter 1-seat)")


def test_plain_text_drops_markup_joins_soft_breaks_and_keeps_hard_ones() -> None:
    text = to_plain_text(letter_body(LETTER, "Dear Seamus Logan", "x"))
    assert text == (
        "Dear Seamus Logan,\n\n"
        "Since your election for Aberdeenshire North and Moray East in 2024, you will have heard from <many> "
        "organisations.\n\n"
        "Of the six asks, these matter most:\n\n"
        "- Train and keep the people. Fund more training places.\n\n"
        "- Regulate clinical technologists. As radiographers are; now.\n\n"
        "Yours sincerely,\n\n"
        "Policy and Public Affairs Team\nInstitute of Physics and Engineering in Medicine\n"
    )


def test_html_escapes_everything_and_marks_up_the_subset() -> None:
    html = to_html(letter_body(LETTER, "Dear Seamus Logan", "x"))
    assert "from &lt;many&gt; organisations" in html and "<many>" not in html
    assert "<ul>\n<li><strong>Train and keep the people.</strong> Fund more training places.</li>" in html
    assert "As radiographers are; <em>now</em>.</li>\n</ul>" in html
    assert "<p>Policy and Public Affairs Team<br>\nInstitute of Physics and Engineering in Medicine</p>" in html
    assert to_html("A <script>alert(1)</script> & **<b>**").count("<script>") == 0
    assert "<strong>&lt;b&gt;</strong>" in to_html("A **<b>**")


@pytest.mark.parametrize(
    "address",
    ["someone", "a@b", "a b@example.org", "a@@example.org", ".a@example.org", "a..b@example.org", "a@-x.org", ""],
)
def test_malformed_addresses_are_refused(address: str) -> None:
    with pytest.raises(DataError, match=r"^manifest.csv:3: email is not a valid e-mail address"):
        check_address(address, "email", "manifest.csv:3")


@pytest.mark.parametrize("address", ["seamus.logan.mp@parliament.uk", "o'brien+x@example.co.uk", "a@[127.0.0.1]"])
def test_good_addresses_pass(address: str) -> None:
    assert check_address(f" {address} ", "email", "x") == address


@pytest.mark.parametrize("value", ["Seamus\r\nBcc: a@example.org", "Seamus\nLogan", "Seamus\rLogan", "Tab\tbed\x00"])
def test_line_breaks_in_names_and_subjects_are_refused(value: str) -> None:
    with pytest.raises(DataError, match="contains a line break or control character"):
        check_header(value, "name", "manifest.csv:9 (letter 5280-seat)")


def test_message_headers_and_parts_read_back() -> None:
    email = Email.from_letter(
        letter_id="5280-seat",
        sender_name="Institute of Physics and Engineering in Medicine",
        sender_address="policy@ipem.example.org",
        recipient_name='Seán "Séamus" Ó Logan, MP',
        recipient_address="seamus.logan.mp@parliament.uk",
        subject="Ynys Môn: the scientists & engineers — a very long subject line " * 3,
        salutation="Dear Seamus Logan",
        markdown=LETTER,
        attachment=Path("5280-seat-aberdeenshire.pdf"),
        where="x",
    )
    raw = email.build("<1.2@ipem.example.org>", datetime(2026, 11, 28, 9, 15, tzinfo=UTC), b"%PDF-1.7 fake\n")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")
    parsed = message_from_bytes(raw, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    assert parsed["To"].addresses[0].display_name == 'Seán "Séamus" Ó Logan, MP'
    assert parsed["Subject"] == email.subject
    assert parsed["Message-ID"] == "<1.2@ipem.example.org>"
    assert parsed["Date"].datetime == datetime(2026, 11, 28, 9, 15, tzinfo=UTC)
    assert parsed.get_content_type() == "multipart/mixed"
    (pdf,) = parsed.iter_attachments()
    assert pdf.get_content() == b"%PDF-1.7 fake\n" and pdf.get_filename() == "5280-seat-aberdeenshire.pdf"
    plain = parsed.get_body(("plain",))
    assert plain is not None and plain.get_content().replace("\r\n", "\n") == email.text
    # Without a PDF the message is the two alternatives alone.
    alone = message_from_bytes(email.build("<3@x.org>", datetime.now(UTC)), policy=default_policy)
    assert alone.get_content_type() == "multipart/alternative"


# -- SMTP settings ---------------------------------------------------------------------------------------------


def test_smtp_precedence_flag_environment_campaign_default() -> None:
    table = {"host": "smtp.campaign.example", "port": 2525, "security": "ssl", "user": "campaign-user"}
    assert settings.smtp(table, environ={}) == settings.SmtpSettings(
        "smtp.campaign.example", 2525, "ssl", "campaign-user"
    )
    environ = {
        "OUTREACH_SMTP_HOST": "smtp.env.example",
        "OUTREACH_SMTP_USER": "env-user",
        "OUTREACH_SMTP_PASSWORD": "s3",
    }
    chosen = settings.smtp(table, environ=environ, overrides={"host": "flag.example"})
    assert (chosen.host, chosen.port, chosen.security, chosen.user, chosen.password) == (
        "flag.example",
        2525,
        "ssl",
        "env-user",
        "s3",
    )
    # The default port follows the security chosen.
    assert settings.smtp({"host": "h"}, environ={}).port == 587
    assert settings.smtp({"host": "h"}, environ={"OUTREACH_SMTP_SECURITY": "ssl"}).port == 465
    assert settings.smtp({"host": "h", "security": "none"}, environ={}).port == 25


def test_smtp_password_is_never_in_repr_or_describe() -> None:
    chosen = settings.smtp({"host": "h", "user": "u"}, environ={"OUTREACH_SMTP_PASSWORD": "hunter2-secret"})
    assert chosen.password == "hunter2-secret"
    assert "hunter2-secret" not in repr(chosen) and "hunter2-secret" not in chosen.describe()


@pytest.mark.parametrize(
    ("table", "environ", "message"),
    [
        ({}, {}, "no SMTP host: set host in the [smtp] table of campaign.toml, or OUTREACH_SMTP_HOST"),
        ({"host": "h"}, {"OUTREACH_SMTP_SECURITY": "tls"}, "OUTREACH_SMTP_SECURITY: SMTP security must be one of"),
        ({"host": "h", "port": 0}, {}, "campaign.toml [smtp] port: SMTP port must be between 1 and 65535"),
        ({"host": "h"}, {"OUTREACH_SMTP_PORT": "smtp"}, "OUTREACH_SMTP_PORT: SMTP port must be a number"),
    ],
)
def test_bad_smtp_settings_name_their_source(table: dict[str, object], environ: dict[str, str], message: str) -> None:
    with pytest.raises(DataError) as raised:
        settings.smtp(table, environ=environ)
    assert str(raised.value).startswith(message)


def test_campaign_reads_its_smtp_table_and_refuses_a_password(tmp_path: Path) -> None:
    folder = tmp_path / "campaign"
    shutil.copytree(default_campaign_dir(), folder)
    assert campaigns.load(folder).smtp == {"host": "", "security": "starttls", "user": ""}
    toml = folder / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("\n[smtp]\n", '\n[smtp]\npassword = "hunter2"\n'), encoding="utf-8")
    line = toml.read_text(encoding="utf-8").splitlines().index('password = "hunter2"') + 1
    with pytest.raises(DataError) as raised:
        campaigns.load(folder)
    assert str(raised.value) == (
        f"{toml}:{line}: [smtp] password: never store a password here; set OUTREACH_SMTP_PASSWORD"
    )
    assert "hunter2" not in str(raised.value)


def test_a_long_ascii_subject_is_folded_under_78_characters_and_reads_back_whole() -> None:
    subject = "Aberdeenshire North and Moray East: the scientists and engineers behind your local NHS"
    email = Email.from_letter(
        letter_id="5280-seat",
        sender_name="Institute of Physics and Engineering in Medicine",
        sender_address="policy@ipem.example.org",
        recipient_name="Seamus Logan",
        recipient_address="seamus.logan.mp@parliament.uk",
        subject=subject,
        salutation="Dear Seamus Logan",
        markdown=LETTER,
        attachment=None,
        where="x",
    )
    raw = email.build("<4@ipem.example.org>", datetime(2026, 11, 28, 9, 15, tzinfo=UTC))
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    start = head.index("Subject: ")
    folded = head[start : head.index("\r\nDate: ")]
    assert "\r\n " in folded and all(len(line) <= 78 for line in folded.split("\r\n"))
    assert message_from_bytes(raw, policy=default_policy)["Subject"] == f"{subject} (Our ref: 5280-seat)"
