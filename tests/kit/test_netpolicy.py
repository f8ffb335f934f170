"""Outbound URL policy: the private-URL opt-in allows loopback and private ranges, never
link-local addresses or cloud metadata services. No request is sent anywhere: these are
validation-time checks (IP literals, names, and numeric names the resolver maps locally)."""

from __future__ import annotations

import pytest

from unimeter.kit.netpolicy import URLRefusedError, check_url

NEVER = [
    "http://169.254.169.254/latest/meta-data",
    "http://169.254.10.1:8080",
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/",
    "http://[::ffff:169.254.169.254]/",
    "http://metadata.google.internal/computeMetadata/v1",
    "http://METADATA.google.internal./",
    # Names the resolver turns into 169.254.169.254 without asking DNS (inet_aton forms).
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://169.254.43518/",
]


@pytest.mark.parametrize("url", NEVER)
@pytest.mark.parametrize("allow_private", [True, False])
def test_link_local_and_metadata_are_never_allowed(url: str, allow_private: bool) -> None:
    with pytest.raises(URLRefusedError, match="never allowed"):
        check_url(url, allow_private=allow_private)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:9000/x", "http://10.1.2.3", "http://[::1]/"]
)
def test_the_opt_in_allows_loopback_and_private_ranges(url: str) -> None:
    assert check_url(url, allow_private=True) == url.rstrip("/")
    with pytest.raises(URLRefusedError, match="UNIMETER_ALLOW_PRIVATE_URLS"):
        check_url(url, allow_private=False)


def test_public_addresses_pass_either_way() -> None:
    assert check_url("https://93.184.216.34/v1/", allow_private=False) == "https://93.184.216.34/v1"
