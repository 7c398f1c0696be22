"""Logging in to a mail server safely, for SMTP and IMAP alike: TLS, the clear-text rule, XOAUTH2 tokens.

- Certificates are always verified (`ssl.create_default_context`); a server with a private certificate is trusted
  by naming its CA's certificates (PEM) in `OUTREACH_SMTP_CA_FILE`, never by turning TLS off.
- A credential (a password or an OAuth token) goes over an unencrypted connection only to a loopback host (a relay
  on this machine): anything else is refused before connecting, with one line naming the setting to change.
- XOAUTH2 (the SASL mechanism Microsoft 365 and Google take for OAuth 2.0 access tokens) gets its token from a
  command the user names (`OUTREACH_SMTP_TOKEN_COMMAND`), as msmtp's `passwordeval` does: run through the shell
  (`/bin/sh -c`), so a user may write a pipeline, its standard output's first line taken as the token. The command
  comes only from the environment, never from a campaign folder; the token is held in memory for one login, and
  never stored, logged or printed.
"""

from __future__ import annotations

import ipaddress
import ssl
import subprocess
from pathlib import Path

from outreach.errors import DataError, SourceError

TOKEN_TIMEOUT_SECONDS = 120.0  # a helper may refresh its token over the network first
_TOKEN_LIMIT = 64 * 1024  # bytes of a token command's output read at most (a real access token is 1-4 kB)


def is_loopback(host: str) -> bool:
    """Return whether `host` names this machine (localhost, 127.0.0.0/8, ::1): a connection that never leaves it."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True  # RFC 6761 section 6.3: localhost names resolve to loopback addresses
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def refuse_clear_text(host: str, security: str, has_credential: bool, *, where: str, variable: str) -> None:
    """Raise DataError when a credential would cross an unencrypted connection to a host that is not loopback."""
    if has_credential and security == "none" and not is_loopback(host):
        raise DataError(
            f"{where}: refusing to send a password or token unencrypted to {host}: set {variable} to starttls "
            "or ssl (or use a relay on this machine)"
        )


def tls_context(ca_file: str, variable: str) -> ssl.SSLContext:
    """Return a TLS context that verifies the server's certificate and name, against `ca_file` if one is named."""
    if not ca_file:
        return ssl.create_default_context()
    path = Path(ca_file).expanduser()
    try:
        return ssl.create_default_context(cafile=str(path))
    except FileNotFoundError:
        raise DataError(f"{variable}: {path} does not exist") from None
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        raise DataError(f"{variable}: {path} holds no CA certificate outreach can read ({reason})") from None


def token(command: str, variable: str) -> str:
    """Return the OAuth access token `command` prints (first line of its output); SourceError if it fails.

    Never the token in an error: only the exit status and the command's last line of standard error.
    """
    if not command:
        raise DataError(f"{variable} is not set: name a command that prints an OAuth access token")
    try:
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TOKEN_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SourceError(f"{variable}: the command printed no token within {TOKEN_TIMEOUT_SECONDS:.0f} s") from None
    except OSError as exc:
        raise SourceError(f"{variable}: cannot run the command ({exc.strerror})") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {' '.join(said[-1].split())[:200]}" if said else ""
        raise SourceError(f"{variable}: the command failed (exit status {done.returncode}){detail}")
    lines = done.stdout[:_TOKEN_LIMIT].decode("utf-8", "replace").strip().splitlines()
    found = lines[0].strip() if lines else ""
    if not found or not found.isascii() or any(character.isspace() for character in found):
        raise SourceError(f"{variable}: the command printed no token (one line of printable ASCII expected)")
    return found


def xoauth2(user: str, access_token: str) -> str:
    """Return the XOAUTH2 initial client response (before base64): user, then the bearer token, ^A-separated.

    The format of Google's and Microsoft's documentation of the mechanism: "user=" user ^A "auth=Bearer " token ^A ^A.
    """
    return f"user={user}\x01auth=Bearer {access_token}\x01\x01"
