"""Settings: where outreach keeps its state, and the endpoints it talks to (flag > environment > campaign > default)."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outreach.errors import DataError

HOME_VARIABLE = "OUTREACH_HOME"


def home() -> Path:
    """Return OUTREACH_HOME: refreshed snapshots, the contact log and caches live here."""
    configured = os.environ.get(HOME_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("outreach", appauthor=False))


DATABASE_URL_VARIABLE = "OUTREACH_DATABASE_URL"
USER_VARIABLE = "OUTREACH_USER"


def database_url() -> str | None:
    """Return OUTREACH_DATABASE_URL, a team's PostgreSQL log (postgresql://…); None: the SQLite log in OUTREACH_HOME."""
    url = os.environ.get(DATABASE_URL_VARIABLE, "").strip()
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        # The value may hold a password: name the variable, never echo it.
        raise DataError(
            f"{DATABASE_URL_VARIABLE}: give a postgresql://… URL, or unset it to use the SQLite log in {HOME_VARIABLE}"
        )
    return url


def user() -> str:
    """Return who is acting, as the contact log records them: OUTREACH_USER, else the login name."""
    configured = os.environ.get(USER_VARIABLE, "").strip()
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container with an unnamed uid)
        return f"uid {os.getuid()}"


def machine() -> str:
    """Return this machine's name, as the contact log records it beside the person."""
    return socket.gethostname() or "unknown"


SMTP_SECURITIES = ("ssl", "starttls", "none")
# The ports each kind of connection conventionally uses (RFC 8314: 465 implicit TLS; RFC 6409: 587 submission).
SMTP_DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
SMTP_VARIABLES = {
    "host": "OUTREACH_SMTP_HOST",
    "port": "OUTREACH_SMTP_PORT",
    "security": "OUTREACH_SMTP_SECURITY",
    "user": "OUTREACH_SMTP_USER",
    "auth": "OUTREACH_SMTP_AUTH",
}
SMTP_PASSWORD_VARIABLE = "OUTREACH_SMTP_PASSWORD"
# Only from the environment, like the password: a campaign folder someone sends you must not run commands.
SMTP_TOKEN_COMMAND_VARIABLE = "OUTREACH_SMTP_TOKEN_COMMAND"
SMTP_CA_FILE_VARIABLE = "OUTREACH_SMTP_CA_FILE"
SMTP_AUTHS = ("password", "xoauth2")
# A hidden knob for tests and benches: every backoff and server-asked wait of `send` is multiplied by it, so a
# greylisting test waits fractions of a second where a real run waits minutes.
SEND_BACKOFF_SCALE_VARIABLE = "OUTREACH_SEND_BACKOFF_SCALE"


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand e-mail over: host, port, ssl|starttls|none, and the login (password kept out of repr)."""

    host: str
    port: int
    security: str
    user: str = ""
    # repr=False: a settings object printed in a log or a traceback must never show the password.
    password: str = field(default="", repr=False)
    auth: str = "password"  # password | xoauth2 (the token printed by token_command)
    token_command: str = field(default="", repr=False)
    ca_file: str = ""  # a private CA's certificates (PEM); empty: the system's trusted CAs

    def describe(self) -> str:
        """Return 'host:port (security, as user)' for messages; never the password."""
        login = f", as {self.user}" if self.user else ""
        return f"{self.host}:{self.port} ({self.security}{login})"


def smtp(
    campaign_table: Mapping[str, Any],
    *,
    source: str = "campaign.toml",
    overrides: Mapping[str, str | int | None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SmtpSettings:
    """Return the SMTP settings: flag > environment (OUTREACH_SMTP_*) > the campaign's [smtp] table > default.

    `campaign_table` is the [smtp] table as read from `source` (named in errors); the password comes only from
    OUTREACH_SMTP_PASSWORD, never from a file.
    """
    environment = os.environ if environ is None else environ
    chosen: dict[str, tuple[Any, str]] = {}
    for key, variable in SMTP_VARIABLES.items():
        flag = (overrides or {}).get(key)
        if flag not in (None, ""):
            chosen[key] = (flag, f"--smtp-{key}")
        elif environment.get(variable, "").strip():
            chosen[key] = (environment[variable].strip(), variable)
        elif campaign_table.get(key) not in (None, ""):
            chosen[key] = (campaign_table[key], f"{source} [smtp] {key}")
    security_value, security_origin = chosen.get("security", ("starttls", "default"))
    security = str(security_value).strip().lower()
    if security not in SMTP_SECURITIES:
        raise DataError(
            f"{security_origin}: SMTP security must be one of {', '.join(SMTP_SECURITIES)}, not {security!r}"
        )
    host_value, _ = chosen.get("host", ("", "default"))
    host = str(host_value).strip()
    if not host:
        raise DataError(f"no SMTP host: set host in the [smtp] table of {source}, or {SMTP_VARIABLES['host']}")
    port_value, port_origin = chosen.get("port", (SMTP_DEFAULT_PORTS[security], "default"))
    try:
        port = int(port_value)
    except (TypeError, ValueError):
        raise DataError(f"{port_origin}: SMTP port must be a number, not {port_value!r}") from None
    if not 0 < port < 65536:
        raise DataError(f"{port_origin}: SMTP port must be between 1 and 65535, not {port}")
    user_value, _ = chosen.get("user", ("", "default"))
    user = str(user_value).strip()
    auth = _smtp_auth(chosen)
    token_command = environment.get(SMTP_TOKEN_COMMAND_VARIABLE, "").strip()
    if auth == "xoauth2" and not (user and token_command):
        missing = SMTP_VARIABLES["user"] if not user else SMTP_TOKEN_COMMAND_VARIABLE
        raise DataError(f"{chosen['auth'][1]}: xoauth2 needs the mailbox's login and a token command: set {missing}")
    return SmtpSettings(
        host=host,
        port=port,
        security=security,
        user=user,
        password=environment.get(SMTP_PASSWORD_VARIABLE, ""),
        auth=auth,
        token_command=token_command,
        ca_file=environment.get(SMTP_CA_FILE_VARIABLE, "").strip(),
    )


def _smtp_auth(chosen: Mapping[str, tuple[Any, str]]) -> str:
    """Return the SMTP login mechanism chosen (password by default); DataError names where a bad one came from."""
    value, origin = chosen.get("auth", ("password", "default"))
    auth = str(value).strip().lower()
    if auth not in SMTP_AUTHS:
        raise DataError(f"{origin}: SMTP auth must be one of {', '.join(SMTP_AUTHS)}, not {auth!r}")
    return auth


def send_backoff_scale(environ: Mapping[str, str] | None = None) -> float:
    """Return the factor on every backoff and server-asked wait of `send` (1 unless a test or bench sets it)."""
    text = (os.environ if environ is None else environ).get(SEND_BACKOFF_SCALE_VARIABLE, "").strip()
    if not text:
        return 1.0
    try:
        scale = float(text)
    except ValueError:
        scale = -1.0
    if not 0 <= scale <= 10:
        raise DataError(f"{SEND_BACKOFF_SCALE_VARIABLE}: must be a number from 0 to 10, not {text!r}")
    return scale


# Live sources: each setting is an origin; the clients append the /api/... (or /postcodes) paths, so a mirror
# or a local server can stand in for Parliament's services (INTERFACE.md, "Environment").
MEMBERS_API_VARIABLE = "OUTREACH_API_URL"
COMMITTEES_API_VARIABLE = "OUTREACH_COMMITTEES_API_URL"
POSTCODES_VARIABLE = "OUTREACH_POSTCODES_URL"
QUESTIONS_API_VARIABLE = "OUTREACH_QUESTIONS_API_URL"
DEFAULT_MEMBERS_API = "https://members-api.parliament.uk"
DEFAULT_COMMITTEES_API = "https://committees-api.parliament.uk"
DEFAULT_POSTCODES = "https://api.postcodes.io"
DEFAULT_QUESTIONS_API = "https://questions-statements-api.parliament.uk"


def _origin(flag: str | None, variable: str, default: str, option: str) -> str:
    """Return an origin by precedence flag > environment > default, without a trailing slash."""
    chosen = (flag or os.environ.get(variable) or default).strip().rstrip("/")
    if not chosen.startswith(("http://", "https://")):
        from outreach.errors import OutreachError

        named = option if flag else variable
        raise OutreachError(f"{named}: '{chosen}' is not an origin such as {default}")
    return chosen


def members_api(flag: str | None = None) -> str:
    """Return the Members API origin (--api-url, OUTREACH_API_URL)."""
    return _origin(flag, MEMBERS_API_VARIABLE, DEFAULT_MEMBERS_API, "--api-url")


def committees_api(flag: str | None = None) -> str:
    """Return the Committees API origin (--committees-api-url, OUTREACH_COMMITTEES_API_URL)."""
    return _origin(flag, COMMITTEES_API_VARIABLE, DEFAULT_COMMITTEES_API, "--committees-api-url")


def postcodes_api(flag: str | None = None) -> str:
    """Return the postcodes.io origin (--postcodes-url, OUTREACH_POSTCODES_URL)."""
    return _origin(flag, POSTCODES_VARIABLE, DEFAULT_POSTCODES, "--postcodes-url")


def questions_api(flag: str | None = None) -> str:
    """Return the Written Questions API origin (--questions-api-url, OUTREACH_QUESTIONS_API_URL)."""
    return _origin(flag, QUESTIONS_API_VARIABLE, DEFAULT_QUESTIONS_API, "--questions-api-url")


# The campaign mailbox that `outreach inbox` reads (INTERFACE.md: OUTREACH_IMAP_*). RFC 8314: 993 is implicit TLS;
# RFC 3501: 143 for STARTTLS or, to a local server only, none.
IMAP_SECURITIES = ("ssl", "starttls", "none")
IMAP_DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
IMAP_AUTHS = ("password", "xoauth2")
IMAP_PREFIX = "OUTREACH_IMAP_"


@dataclass(frozen=True)
class ImapSettings:
    """The campaign mailbox: host, port, ssl|starttls|none, the login, and the Sent folder's name (if set)."""

    host: str
    port: int
    security: str
    user: str
    password: str = field(default="", repr=False)  # never shown, as SmtpSettings' password
    auth: str = "password"  # or xoauth2, with the access token printed by token_command
    token_command: str = field(default="", repr=False)
    ca_file: str = ""  # a private CA's certificates (PEM); empty: the system's trusted CAs
    sent: str = ""  # the Sent folder's name; empty: the folder the server marks \Sent (RFC 6154)

    def mailbox(self) -> str:
        """Return the name the contact log keeps this mailbox's read positions under: imap://user@host:port."""
        return f"imap://{self.user}@{self.host}:{self.port}"

    def describe(self) -> str:
        """Return 'host:port (security, as user)' for messages; never the password or a token."""
        return f"{self.host}:{self.port} ({self.security}, as {self.user})"


def imap(environ: Mapping[str, str] | None = None) -> ImapSettings:
    """Return the IMAP settings from OUTREACH_IMAP_* (the environment only, as the SMTP password and token command);
    DataError for a missing or bad one."""
    environment = os.environ if environ is None else environ

    def value(name: str, default: str = "") -> str:
        return environment.get(IMAP_PREFIX + name, "").strip() or default

    host = value("HOST")
    if not host:
        raise DataError(f"no IMAP host: set {IMAP_PREFIX}HOST (and _USER, _PASSWORD) to the campaign mailbox")
    security = value("SECURITY", "ssl").lower()
    if security not in IMAP_SECURITIES:
        raise DataError(f"{IMAP_PREFIX}SECURITY must be one of {', '.join(IMAP_SECURITIES)}, not {security!r}")
    auth = value("AUTH", "password").lower()
    if auth not in IMAP_AUTHS:
        raise DataError(f"{IMAP_PREFIX}AUTH must be one of {', '.join(IMAP_AUTHS)}, not {auth!r}")
    port_text = value("PORT", str(IMAP_DEFAULT_PORTS[security]))
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise DataError(f"{IMAP_PREFIX}PORT must be a number between 1 and 65535, not {port_text!r}")
    user = value("USER")
    if not user:
        raise DataError(f"no IMAP login: set {IMAP_PREFIX}USER to the campaign mailbox's user name")
    return ImapSettings(
        host=host,
        port=int(port_text),
        security=security,
        user=user,
        password=environment.get(IMAP_PREFIX + "PASSWORD", ""),
        auth=auth,
        token_command=value("TOKEN_COMMAND"),
        ca_file=value("CA_FILE"),
        sent=value("SENT"),
    )


REFRESH_DEADLINE_VARIABLE = "OUTREACH_REFRESH_DEADLINE"
DEFAULT_REFRESH_DEADLINE = 900.0  # 15 minutes; a cold refresh at the default rate cap took 72 s (bench/refresh.py)


def refresh_deadline(flag: float | None = None) -> float:
    """Return the seconds a refresh may take in all (--deadline, OUTREACH_REFRESH_DEADLINE, default 900)."""
    if flag is not None:
        return flag
    text = os.environ.get(REFRESH_DEADLINE_VARIABLE, "").strip()
    if not text:
        return DEFAULT_REFRESH_DEADLINE
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise DataError(f"{REFRESH_DEADLINE_VARIABLE}: '{text}' is not a number of seconds above 0")
    return seconds
