"""Request size limits (api/limits.py): 413, 414 and 431 with the error envelope."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.support.api import api_world
from tests.support.cli import CLI
from tests.support.server import running_server

MiB = 1024 * 1024


async def test_a_large_body_is_refused_before_it_is_read(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        big = json.dumps({"tenant_id": "x" * (2 * MiB)})
        declared = await api.client.post(
            "/integrated-accounts",
            content=big,
            headers={**api.auth(), "content-type": "application/json"},
        )
        assert declared.status_code == 413, declared.text
        assert declared.json()["message"] == "the request body is larger than 1 MiB"

        streamed_chunks = 0

        async def chunks() -> AsyncIterator[bytes]:
            nonlocal streamed_chunks
            for _ in range(64):  # 4 MiB in all, without a Content-Length
                streamed_chunks += 1
                yield b" " * (64 * 1024)

        streamed = await api.client.post(
            "/integrated-accounts",
            content=chunks(),
            headers={**api.auth(), "content-type": "application/json"},
        )
        assert streamed.status_code == 413, streamed.text
        assert streamed.json()["statusCode"] == 413
        assert streamed_chunks < 64  # refused once past the limit, not after reading it all


async def test_a_directory_upload_has_its_own_larger_limit(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        rows = "".join(
            f"u{i}@example.com,User {i},team-{i % 7},cc-1,active\n" for i in range(60_000)
        )
        csv = "email,name,team,cost_center,status\n" + rows
        assert MiB < len(csv) < 10 * MiB
        response = await api.client.put(
            "/directory",
            params={"integrated_account_id": account},
            content=csv,
            headers={**api.auth(), "content-type": "text/csv"},
        )
        assert response.status_code == 200, response.text[:300]
        too_big = await api.client.put(
            "/directory",
            params={"integrated_account_id": account},
            content=b"x" * (11 * MiB),
            headers={**api.auth(), "content-type": "text/csv"},
        )
        assert too_big.status_code == 413


def _raw_get(base: str, target: str, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    """One GET over a plain socket: httpx itself refuses URLs this long."""
    host, port = base.removeprefix("http://").split(":")
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_long_urls_and_headers_are_answered_over_http(sqlite_url: str, data_dir: Path) -> None:
    cli = CLI(data_dir=data_dir, database_url=sqlite_url)
    token = json.loads(cli("tokens", "create", "--json").stdout)["token"]
    auth = {"Authorization": f"Bearer {token}"}
    with running_server(cli.env(), "--no-scheduler") as (base, _):
        status, body = _raw_get(base, "/integrated-accounts?tenant_id=" + "a" * 500_000, auth)
        assert status == 414
        assert body["message"] == "the URL is longer than 16 KiB"
        huge_headers = httpx.get(
            base + "/integrated-accounts", headers={**auth, "X-Padding": "p" * 100_000}
        )
        assert huge_headers.status_code == 431
        assert huge_headers.json()["statusCode"] == 431
        assert httpx.get(base + "/integrated-accounts", headers=auth).status_code == 200
