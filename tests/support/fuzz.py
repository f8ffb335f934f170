"""``make fuzz``: schemathesis over ``/openapi.json`` against a real ``unimeter serve``.

A simulated Cursor team (in a thread) is linked and synced into a fresh SQLite store, then
``st run`` fires generated requests at every operation and fails on any 5xx
(``not_a_server_error``). DELETE is left out: it would remove the one account the other
operations read; so is linking an account, whose default base URL is Cursor's own API (no
traffic leaves the machine; tests/api/test_schemathesis.py links against the simulator). ``FUZZ_EXAMPLES`` sets the examples per operation (default 30).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.support.cli import CLI
from tests.support.live import serve
from tests.support.server import running_server
from tests.support.world import make_sim
from unimeter.connectors.cursor.simulator import create_app as simulator_app

ENV = {
    "UNIMETER_ALLOW_PRIVATE_URLS": "1",
    "UNIMETER_ACCOUNT_RATE_LIMIT": "off",
    "UNIMETER_TOKEN_RATE_LIMIT": "off",
    "UNIMETER_WEBHOOK_DISPATCHER": "0",
}


def _linked_account(base: str, headers: dict[str, str], cursor_url: str, key: str) -> str:
    link = {"integration": "cursor", "credentials": {"api_key": key}, "tenant_id": "fuzz",
            "base_url": cursor_url, "sync_frequency_minutes": None}  # fmt: skip
    account = httpx.post(base + "/integrated-accounts", json=link, headers=headers, timeout=60)
    account.raise_for_status()
    account_id: str = account.json()["id"]
    run = httpx.post(f"{base}/integrated-accounts/{account_id}/sync", headers=headers, timeout=60)
    run.raise_for_status()
    deadline = time.monotonic() + 300
    while True:
        status = httpx.get(f"{base}/sync-runs/{run.json()['id']}", headers=headers).json()
        if status["status"] in ("succeeded", "failed"):
            assert status["status"] == "succeeded", status
            return account_id
        assert time.monotonic() < deadline, "the first sync did not finish"
        time.sleep(0.2)


def _config(path: Path, account_id: str) -> Path:
    # Known ids for the path and query parameters that name the account, so operations get
    # past a random id's 404 and reach their own validation and queries.
    path.write_text(
        "[parameters]\n"
        f'"query.integrated_account_id" = "{account_id}"\n'
        f'"path.account_id" = "{account_id}"\n'
    )
    return path


def fuzz(examples: int, extra: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="unimeter-fuzz-") as tmp:
        data_dir = Path(tmp)
        cli = CLI(data_dir, f"sqlite:///{data_dir / 'fuzz.db'}", extra_env=ENV)
        token = json.loads(cli("tokens", "create", "--json").stdout)["token"]
        headers = {"Authorization": f"Bearer {token}"}
        sim = make_sim(users=12, days=20)
        log = data_dir / "serve.log"
        with (
            serve(simulator_app(sim)) as cursor_url,
            running_server(cli.env(), "--no-scheduler", log=log) as (base, _),
        ):
            account_id = _linked_account(base, headers, cursor_url, sim.keys[0])
            config = _config(data_dir / "schemathesis.toml", account_id)
            command = [
                str(Path(sys.executable).with_name("st")), "--config-file", str(config), "run",
                base + "/openapi.json", "--checks", "not_a_server_error",
                "--header", f"Authorization: Bearer {token}", "--exclude-method", "DELETE",
                "--exclude-operation-id", "create_account_integrated_accounts_post",
                "--max-examples", str(examples), "--seed", "1", "--workers", "1",
                "--request-timeout", "60", *extra,
            ]  # fmt: skip
            code = subprocess.run(command, check=False).returncode
        if code:
            tracebacks = [line for line in log.read_text().splitlines() if "Error" in line]
            print("\n".join(tracebacks[-20:]), file=sys.stderr)  # noqa: T201
        return code


if __name__ == "__main__":
    sys.exit(fuzz(int(os.environ.get("FUZZ_EXAMPLES", "30")), sys.argv[1:]))
