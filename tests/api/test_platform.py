"""Platform API: integrated accounts and sync runs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.support.api import KEYS, api_world
from tests.support.world import SIM_BASE_URL


async def test_create_list_get_update_delete_account(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        body = {
            "integration": "cursor",
            "credentials": {"api_key": KEYS[0]},
            "tenant_id": "cust-7",
            "name": "Customer 7",
            "base_url": SIM_BASE_URL,
        }
        created = await api.client.post("/integrated-accounts", json=body, headers=api.auth())
        assert created.status_code == 201, created.text
        account = created.json()
        assert set(account) == {
            "id", "integration", "tenant_id", "name", "status", "last_synced_at", "last_error",
            "sync_frequency_minutes", "next_sync_at", "created_at", "updated_at", "capabilities",
        }  # fmt: skip
        # Not synced yet: every stream's availability is still unknown.
        assert {c["status"] for c in account["capabilities"].values()} == {"unknown"}
        assert account["status"] == "active"
        assert KEYS[0] not in created.text

        listed = (await api.get("/integrated-accounts", tenant_id="cust-7")).json()
        assert [a["id"] for a in listed["result"]] == [account["id"]]
        assert listed["result_count"] == 1
        assert listed["next_cursor"] is None
        assert (await api.get(f"/integrated-accounts/{account['id']}")).json() == account

        renamed = await api.client.patch(
            f"/integrated-accounts/{account['id']}", json={"name": "C7", "tenant_id": "cust-8"},
            headers=api.auth(),
        )  # fmt: skip
        assert renamed.json()["name"] == "C7"
        assert renamed.json()["tenant_id"] == "cust-8"
        bad_key = await api.client.patch(
            f"/integrated-accounts/{account['id']}",
            json={"credentials": {"api_key": "crsr_" + "9" * 64}},
            headers=api.auth(),
        )
        assert bad_key.status_code == 422
        assert "rejected" in bad_key.json()["message"]

        deleted = await api.client.delete(
            f"/integrated-accounts/{account['id']}", headers=api.auth()
        )
        assert deleted.json() == {"id": account["id"]}
        assert (await api.get(f"/integrated-accounts/{account['id']}")).status_code == 404


async def test_invalid_key_is_422_and_stores_nothing(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        before = (await api.get("/integrated-accounts")).json()["result"]
        response = await api.client.post(
            "/integrated-accounts",
            json={
                "integration": "cursor",
                "credentials": {"api_key": "crsr_" + "0" * 64},
                "tenant_id": "t",
                "base_url": SIM_BASE_URL,
            },
            headers=api.auth(),
        )
        assert response.status_code == 422
        body = response.json()
        assert body["statusCode"] == 422
        assert body["error"] == "Unprocessable Entity"
        assert "rejected the API key" in body["message"]
        assert (await api.get("/integrated-accounts")).json()["result"] == before


async def test_private_base_urls_are_refused_unless_allowed(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False, allow_private_urls=False) as api:
        for url in ("http://127.0.0.1:9", "http://169.254.169.254/latest", "file:///etc/passwd"):
            response = await api.client.post(
                "/integrated-accounts",
                json={
                    "integration": "cursor",
                    "credentials": {"api_key": KEYS[0]},
                    "tenant_id": "t",
                    "base_url": url,
                },
                headers=api.auth(),
            )
            assert response.status_code == 400, url
            assert response.json()["message"].startswith("base_url")


async def _wait_for_run(api: object, run_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while True:
        run = (await api.get(f"/sync-runs/{run_id}")).json()  # type: ignore[attr-defined]
        if run["status"] in ("succeeded", "failed"):
            return run  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, "the run never finished"
        await asyncio.sleep(0.02)


async def test_sync_request_is_accepted_coalesced_and_recorded(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account_id = api.accounts["default"]
        first = await api.client.post(f"/integrated-accounts/{account_id}/sync", headers=api.auth())
        second = await api.client.post(
            f"/integrated-accounts/{account_id}/sync", json={"full": True}, headers=api.auth()
        )
        assert first.status_code == second.status_code == 202
        assert first.json()["id"] == second.json()["id"], "a second request joins the first run"
        run = await _wait_for_run(api, first.json()["id"])
        assert run["status"] == "succeeded"
        streams = run["streams"]
        assert isinstance(streams, dict)
        assert streams["usage_events"]["inserted"] > 0
        runs = (await api.get("/sync-runs", integrated_account_id=account_id)).json()
        assert [r["id"] for r in runs["result"]] == [first.json()["id"]]
        account = (await api.get(f"/integrated-accounts/{account_id}")).json()
        assert account["last_synced_at"] is not None
        third = await api.client.post(f"/integrated-accounts/{account_id}/sync", headers=api.auth())
        assert third.json()["id"] != first.json()["id"], "a finished run is not joined"
        await _wait_for_run(api, third.json()["id"])


@pytest.mark.parametrize("bad", [{"full": "yes"}, {"since": "last tuesday"}, {"unknown": 1}])
async def test_sync_request_validation(
    database_url: str, data_dir: Path, bad: dict[str, object]
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account_id = api.accounts["default"]
        response = await api.client.post(
            f"/integrated-accounts/{account_id}/sync", json=bad, headers=api.auth()
        )
        assert response.status_code == 400
        assert response.json()["statusCode"] == 400


async def test_account_list_pages_with_cursors(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        for n in range(5):
            await api.world.link(KEYS[0], tenant_id=f"bulk-{n}")
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"next_cursor": cursor} if cursor else {})}
            page = (await api.get("/integrated-accounts", **params)).json()
            seen += [a["id"] for a in page["result"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 6
        back = (
            await api.get("/integrated-accounts", limit=2, next_cursor=page["prev_cursor"])
        ).json()
        assert [a["id"] for a in back["result"]] == seen[-4:-2]
