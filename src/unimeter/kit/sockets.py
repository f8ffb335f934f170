"""Listening sockets the servers bind themselves (the demo, ``serve --workers N``)."""

from __future__ import annotations

import socket


def tcp_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``(host, port)``. Raises ``OSError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto
    # says TCP; with Nagle on, each response waited out a 40 ms delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
