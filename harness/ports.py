"""Free loopback ports: chosen before anything starts, so every URL is known up front."""

from __future__ import annotations

import socket
from collections.abc import Mapping

from harness.errors import ProviderError


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_busy(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def pick_ports(wanted: Mapping[str, int]) -> dict[str, int]:
    """Host port per service: the configured one (must be free) or a free one, all distinct."""
    chosen: dict[str, int] = {}
    for service, port in wanted.items():
        if port:
            if port_busy(port) or port in chosen.values():
                raise ProviderError(
                    f"port {port} ({service}) is busy on 127.0.0.1: stop what uses it "
                    "or pick another"
                )
            chosen[service] = port
    for service, port in wanted.items():
        if not port:
            candidate = free_port()
            while candidate in chosen.values():
                candidate = free_port()
            chosen[service] = candidate
    return chosen
