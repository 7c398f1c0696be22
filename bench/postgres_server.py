"""A real PostgreSQL server on loopback, for the tests and bench/ledger.py: initdb into a temporary folder, pg_ctl
start on a free port.

Debian's `postgresql` package provides the binaries (`.ci/run` installs it when missing). PostgreSQL refuses to run
as root, so under root (as CI runs) the server runs as the `postgres` user the package creates. The tests start it
with durability off (fsync, synchronous_commit): they check what the log says, not what survives a power cut; the
bench keeps PostgreSQL's defaults.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

USER = "pgadmin"  # the test cluster's superuser
SETTINGS = {"listen_addresses": "'127.0.0.1'", "unix_socket_directories": "''", "max_connections": "60"}
# Off for the tests only: every commit then costs no fsync.
NOT_DURABLE = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def binaries() -> Path | None:
    """Return the newest PostgreSQL server's bin folder on this machine, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda path: int(path.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server: its folder, port and the owner role's password."""

    folder: Path
    bindir: Path
    port: int
    password: str

    def url(self, database: str = "postgres", *, user: str = USER, password: str | None = None) -> str:
        """Return a postgresql:// URL to one database, as a user (default the owner, with its password)."""
        secret = self.password if password is None else password
        login = f"{user}:{secret}" if secret else user
        return f"postgresql://{login}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """Return an autocommit connection to the maintenance database, as the owner."""
        return psycopg.connect(self.url(), autocommit=True)

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        with self.admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, ending any connection to it."""
        with self.admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        _run([str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.folder, ignore_errors=True)


def _as_server_user(command: list[str]) -> list[str]:
    """Return a command run as the postgres user when this process is root (PostgreSQL refuses root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str]) -> None:
    subprocess.run(_as_server_user(command), check=True, capture_output=True, timeout=120)


def start(*, durable: bool = False, under: str | None = None) -> PostgresServer:
    """Initialise a cluster in a new temporary folder (in `under`, default the system's) and start it on a free
    loopback port, durable (PostgreSQL's defaults) or not; FileNotFoundError when PostgreSQL is not installed."""
    bindir = binaries()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL's server binaries (Debian package 'postgresql') are not installed")
    folder = Path(tempfile.mkdtemp(prefix="outreach-pg-", dir=under))
    password = secrets.token_urlsafe(12)
    (folder / "password").write_text(password, encoding="utf-8")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(folder / "password", "postgres", "postgres")
    data = folder / "data"
    _run(
        [str(bindir / "initdb"), "-D", str(data), "-U", USER, "--pwfile", str(folder / "password"), "-E", "UTF8"]
        + ["--auth-host=scram-sha-256", "--auth-local=scram-sha-256"]
    )
    port = free_port()
    with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write(f"port = {port}\n")
        settings = SETTINGS if durable else SETTINGS | NOT_DURABLE
        conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
    _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60", "start"])
    return PostgresServer(folder, bindir, port, password)
