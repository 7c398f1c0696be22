"""A private CA made by a test (with the openssl command), and a server certificate it signed for 127.0.0.1.

Shared by the TLS tests of `send` (tests/reliability/test_mail.py) and of `inbox` (tests/dovecot.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_ca(folder: Path) -> dict[str, Path]:
    """Return the paths of a new CA certificate, and a server certificate and key for 127.0.0.1, made in `folder`."""
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n",
        encoding="utf-8",
    )
    for command in (
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=outreach-test-CA"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2"
        " -extfile server.ext",
    ):
        subprocess.run(command.split(), cwd=folder, check=True, capture_output=True)
    return {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
