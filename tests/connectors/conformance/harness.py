"""What the conformance suite needs from a vendor's test kit.

A harness starts the vendor's simulator (from a seed, optionally with an optional stream
refused or with small pages) and hands out credentials, a connector pointed at it, and
the ground truth to compare a synced store with. Adding a vendor to the suite means
writing one of these (see ``toy.py``) and listing it in ``HARNESSES``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Literal, Protocol

from unimeter.connectors.contract import Connector, Credentials
from unimeter.runtime import Runtime

Transport = Literal["asgi", "http"]
CredentialKind = Literal["valid", "invalid", "not_admin"]
# How a gated optional stream is refused: the plan lacks it (403) or it does not exist (404).
Gate = Literal[403, 404]


class Vendor(Protocol):
    """One running simulator of the vendor."""

    base_url: str

    def connector(self) -> Connector:
        """A connector that reaches this simulator (fast retries, the transport seam)."""
        ...

    def credentials(self, kind: CredentialKind = "valid") -> Credentials:
        """Working admin credentials, credentials the vendor rejects (401), or working
        credentials without admin access (the vendor's own way of saying so)."""
        ...

    def revoke(self) -> None:
        """The valid credentials stop working from now on (every request answers 401)."""
        ...

    def requests(self) -> int:
        """Requests that reached the vendor with the valid credentials so far."""
        ...

    def now_ms(self) -> int:
        """The simulator's (frozen) now, for the runtime's clock."""
        ...

    async def assert_matches_truth(self, runtime: Runtime, account_id: str) -> None:
        """The account's synced members and usage equal the simulator's ground truth."""
        ...


class VendorHarness(Protocol):
    name: str  # the test id
    slug: str
    # The windowed stream that carries usage (paged in the paging check).
    usage_stream: str
    # The optional streams a gated simulator refuses.
    gated_streams: frozenset[str]
    # A read-only path of the vendor's API the proxy may reach (GET).
    proxy_path: str
    # Snapshot streams that keep every reading by design (a new row per run, such as a
    # spend snapshot), with their tables: the idempotency check leaves them out.
    per_run_streams: frozenset[str]
    per_run_tables: frozenset[str]

    def start(
        self,
        *,
        seed: int,
        transport: Transport = "asgi",
        gate: Gate | None = None,
        small_pages: bool = False,
    ) -> AbstractContextManager[Vendor]: ...

    def child_connector(self) -> Connector:
        """A connector for another process that reaches the simulator over real HTTP: the
        SIGKILL check runs each sync in a child process (``child.py``)."""
        ...
