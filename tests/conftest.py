"""Shared fixtures: the embedded snapshot, a private OUTREACH_HOME, and a guard that refuses real hosts."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from outreach import snapshot as snapshots
from outreach.resources import embedded_snapshot_dir

_real_connect = socket.socket.connect


def pytest_configure(config: pytest.Config) -> None:
    """Point OUTREACH_HOME away from the user's folder before any fixture, even a session-scoped one, runs."""
    os.environ["OUTREACH_HOME"] = tempfile.mkdtemp(prefix="outreach-test-home-")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's OUTREACH_HOME again (nothing of a test run is left in the temporary folder)."""
    home = os.environ.get("OUTREACH_HOME", "")
    if Path(home).name.startswith("outreach-test-home-"):
        shutil.rmtree(home, ignore_errors=True)


_real_getaddrinfo = socket.getaddrinfo


def _is_loopback(host: object) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        raise RuntimeError(f"a test tried to reach {address[0]}: tests may only use 127.0.0.1")
    return _real_connect(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_loopback(host):
        raise RuntimeError(f"a test tried to look up {host}: tests may only use 127.0.0.1")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def no_real_hosts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse any connection or name lookup that is not loopback."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    yield


@pytest.fixture(autouse=True)
def outreach_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point OUTREACH_HOME at a fresh folder, so no test reads or writes the user's state."""
    home = tmp_path_factory.mktemp("outreach-home")
    monkeypatch.setenv("OUTREACH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def snapshot() -> snapshots.Snapshot:
    """Return the embedded snapshot shipped in data/."""
    return snapshots.load(embedded_snapshot_dir())


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """Start one real PostgreSQL server on loopback for the session (tests/postgres_server.py)."""
    import postgres_server

    try:
        server = postgres_server.start()
    except FileNotFoundError as missing:
        if os.environ.get("CI"):
            raise  # CI installs PostgreSQL (.ci/run): its tests must run there, never skip
        pytest.skip(f"{missing}: the PostgreSQL half of the log tests is skipped")
    yield server
    server.stop()


_databases = iter(range(1 << 30))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test against each engine of the contact log: the SQLite file in OUTREACH_HOME, and a fresh database on
    the session's PostgreSQL server named by OUTREACH_DATABASE_URL. Yields the engine's name."""
    if request.param == "sqlite":
        monkeypatch.delenv("OUTREACH_DATABASE_URL", raising=False)
        yield "sqlite"
        return
    server = request.getfixturevalue("postgres")
    name = f"log_{os.getpid()}_{next(_databases)}"
    monkeypatch.setenv("OUTREACH_DATABASE_URL", server.create_database(name))
    yield "postgresql"
    server.drop_database(name)
