"""The test guard: no test can reach a real host, while loopback stays open."""

from __future__ import annotations

import socket

import pytest


def test_real_hosts_are_refused() -> None:
    with pytest.raises(RuntimeError, match="may only use 127.0.0.1"):
        socket.create_connection(("members-api.parliament.uk", 443), timeout=1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(RuntimeError):
        sock.connect(("93.184.216.34", 80))


def test_loopback_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
