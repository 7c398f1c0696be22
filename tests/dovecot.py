"""A real IMAP server for tests: Dovecot (Debian's dovecot-imapd) configured in a temporary folder on 127.0.0.1.

The test writes its own dovecot.conf: one user in a passwd-file, a Maildir per user, INBOX and a Sent folder marked
\\Sent (RFC 6154), plain IMAP and IMAP over TLS (a certificate from a private CA made here) on free loopback ports,
and `dovecot -F` in the foreground, stopped when the test module ends. As root (CI), Dovecot's login and internal
processes run as its own users (dovenull, dovecot) and the mail as nobody; as anyone else, all as that user.
"""

from __future__ import annotations

import contextlib
import imaplib
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from certificates import make_ca

USER = "policy@ipem.example.org"
PASSWORD = "correct horse battery staple"
TOKEN = "ya29.a0-inbox-test-token"  # the OAuth access token the issuer knows as USER's
START_SECONDS = 10.0


def dovecot_binary() -> str | None:
    """Return the path of the dovecot binary, or None when Debian's dovecot-imapd is not installed."""
    return shutil.which("dovecot") or next((p for p in ("/usr/sbin/dovecot",) if os.path.exists(p)), None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Issuer(BaseHTTPRequestHandler):
    """An OAuth token issuer's tokeninfo endpoint: TOKEN is USER's; any other token is refused."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        token = parse_qs(urlsplit(self.path).query).get("access_token", [""])[0]
        body = {"email": USER, "active": True} if token == TOKEN else {"error": "invalid_token"}
        data = json.dumps(body).encode()
        self.send_response(200 if token == TOKEN else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Say nothing (the test's output is the test's)."""


def _config(folder: Path, port: int, tls_port: int) -> str:
    """Return dovecot.conf for a server in `folder`."""
    root = os.geteuid() == 0
    mail_user = "nobody" if root else pwd.getpwuid(os.geteuid()).pw_name
    mail_group = "nogroup" if root else ""
    internal = ("dovecot", "dovenull") if root else (mail_user, mail_user)
    # Not root: Dovecot cannot chroot its login processes.
    chroot = "" if root else "  chroot =\n"
    return f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{folder}/server.pem
ssl_key = <{folder}/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
# No wait after a refused login: a test refuses one on purpose, and the next test logs in at once.
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
default_internal_user = {internal[0]}
default_login_user = {internal[1]}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
# XOAUTH2: Dovecot asks the token's issuer (a local stand-in, see TokenIssuer) whose token it is.
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {folder}/oauth2.conf.ext
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {folder}/passwd
  default_fields = uid={mail_user} {"gid=" + mail_group if mail_group else ""} home={folder}/mail/%u
}}
mail_location = maildir:{folder}/mail/%u/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
{chroot}}}
service anvil {{
{chroot}}}
"""


@dataclass
class Dovecot:
    """A running Dovecot: its ports, its CA file, and a client for the test's own setting up and checking."""

    folder: Path
    port: int
    tls_port: int
    process: subprocess.Popen[bytes]

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    def client(self) -> imaplib.IMAP4:
        """Return a logged-in plain IMAP session (the test's, not outreach's)."""
        session = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        session.login(USER, PASSWORD)
        return session

    def append(self, folder: str, message: bytes, flags: str = "") -> None:
        """Deliver a message into a folder, as the mail server would."""
        session = self.client()
        try:
            status, data = session.append(folder, flags or None, None, message)
            assert status == "OK", data
        finally:
            session.logout()

    def snapshot(self) -> dict[str, list[tuple[int, bytes]]]:
        """Return each folder's UIDs with their flags: what a read-only client must leave as it was."""
        session = self.client()
        seen: dict[str, list[tuple[int, bytes]]] = {}
        try:
            for folder in ("INBOX", "Sent"):
                session.select(folder, readonly=True)
                _, data = session.uid("FETCH", "1:*", "(UID FLAGS)")
                seen[folder] = sorted((int(line.split(b"UID ")[1].split()[0]), line) for line in data if line)
        finally:
            session.logout()
        return seen

    def empty(self) -> None:
        """Delete every message in INBOX and Sent (between tests)."""
        session = self.client()
        try:
            for folder in ("INBOX", "Sent"):
                _, count = session.select(folder)
                if count[0] != b"0":
                    session.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                    session.expunge()
        finally:
            session.logout()


@contextlib.contextmanager
def running() -> Iterator[Dovecot]:
    """Start Dovecot in a fresh folder on free loopback ports; stop it and remove the folder at the end."""
    binary = dovecot_binary()
    assert binary is not None, "dovecot is not installed (Debian package dovecot-imapd)"
    # A short folder outside pytest's (root-only) tmp tree: the mail user must reach it, and socket paths are short.
    folder = Path(tempfile.mkdtemp(prefix="dovecot-"))
    folder.chmod(0o755)
    try:
        make_ca(folder)
        (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n", encoding="utf-8")
        mail = folder / "mail"
        mail.mkdir()
        if os.geteuid() == 0:
            shutil.chown(mail, "nobody", "nogroup")
        port, tls_port = _free_port(), _free_port()
        issuer = ThreadingHTTPServer(("127.0.0.1", 0), _Issuer)
        threading.Thread(target=issuer.serve_forever, daemon=True).start()
        (folder / "oauth2.conf.ext").write_text(
            f"tokeninfo_url = http://127.0.0.1:{issuer.server_address[1]}/tokeninfo?access_token=\n"
            "introspection_mode = get\nusername_attribute = email\n",
            encoding="utf-8",
        )
        (folder / "dovecot.conf").write_text(_config(folder, port, tls_port), encoding="utf-8")
        process = subprocess.Popen([binary, "-F", "-c", str(folder / "dovecot.conf")], stderr=subprocess.DEVNULL)
        server = Dovecot(folder, port, tls_port, process)
        try:
            _wait_until_listening(server)
            yield server
        finally:
            process.terminate()
            process.wait(timeout=10)
            issuer.shutdown()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_listening(server: Dovecot) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if server.process.poll() is not None:
            log = (server.folder / "dovecot.log").read_text(errors="replace") if server.folder.exists() else ""
            raise RuntimeError(f"dovecot exited {server.process.returncode}: {log[-2000:]}")
        try:
            server.client().logout()
            return
        except (OSError, imaplib.IMAP4.error):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
