"""Where unimeter may send requests: http(s) only, and no private networks by default.

Base URLs and webhook URLs come from API callers. Without this check a caller could make
unimeter call its own cloud metadata service or internal admin ports (SSRF). Tests and the
demo talk to 127.0.0.1 and opt in with ``UNIMETER_ALLOW_PRIVATE_URLS=1``. The opt-in covers
loopback and private ranges only: link-local addresses and the clouds' metadata services are
refused always, by name, by literal and by what a name resolves to now.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class URLRefusedError(ValueError):
    """The URL is not allowed as an outbound target."""


# Instance metadata services (AWS, GCP, Azure, OCI: 169.254.169.254; AWS over IPv6;
# Alibaba), besides every link-local address they mostly live in.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
METADATA_NAMES = ("metadata.google.internal", "metadata.goog", "metadata", "instance-data")


def _never(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Refused even with the opt-in: link-local (169.254.0.0/16, fe80::/10) and metadata."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_link_local or address in METADATA_ADDRESSES


def check_url(
    url: str,
    *,
    allow_private: bool,
    resolve: bool = True,
    opt_in: str = "UNIMETER_ALLOW_PRIVATE_URLS",
) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise URLRefusedError("the URL must be http(s)://host[:port][/path]")
    if parts.username or parts.password:
        raise URLRefusedError("the URL must not contain credentials")
    host = parts.hostname.lower().rstrip(".")
    if host in METADATA_NAMES:
        raise URLRefusedError(f"{parts.hostname} is a cloud metadata service; it is never allowed")
    for address in _addresses(parts.hostname, resolve):
        if _never(address):
            raise URLRefusedError(
                f"{parts.hostname} is a link-local or cloud metadata address; it is never allowed"
            )
        if not allow_private and not address.is_global:
            raise URLRefusedError(
                f"{parts.hostname} is a loopback, private or reserved address; set "
                f"{opt_in}=1 to allow it"
            )
    return url.strip().rstrip("/")


def _addresses(host: str, resolve: bool) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    if host.lower() in ("localhost",) or host.lower().endswith(".localhost"):
        return [ipaddress.ip_address("127.0.0.1")]
    if not resolve:
        return []
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return []  # unresolvable now; the request itself will fail cleanly
    return [ipaddress.ip_address(info[4][0]) for info in infos]
