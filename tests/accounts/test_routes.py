"""Platform routes of accounts: the cadence given at creation, and the bounds of a
requested backfill's start."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.connectors.test_registry import Toy
from tests.support.api import KEYS, api_world
from tests.support.world import SIM_BASE_URL
from unimeter.connectors.windows import MAX_BACKFILL_DAYS


def _link(**extra: object) -> dict[str, object]:
    return {
        "integration": "cursor",
        "credentials": {"api_key": KEYS[0]},
        "tenant_id": "cust-9",
        "base_url": SIM_BASE_URL,
        **extra,
    }


async def test_null_frequency_on_create_means_on_demand(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        on_demand = await api.client.post(
            "/integrated-accounts", json=_link(sync_frequency_minutes=None), headers=api.auth()
        )
        assert on_demand.status_code == 201, on_demand.text
        assert on_demand.json()["sync_frequency_minutes"] is None
        stored = await api.get(f"/integrated-accounts/{on_demand.json()['id']}")
        assert stored.json()["sync_frequency_minutes"] is None
        omitted = await api.client.post("/integrated-accounts", json=_link(), headers=api.auth())
        assert omitted.json()["sync_frequency_minutes"] == 60
        chosen = await api.client.post(
            "/integrated-accounts", json=_link(sync_frequency_minutes=15), headers=api.auth()
        )
        assert chosen.json()["sync_frequency_minutes"] == 15


async def test_a_backfill_start_is_bounded_by_the_vendors_history(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        today = dt.datetime.fromtimestamp(api.world.runtime.clock() / 1000, tz=dt.UTC).date()
        too_old = (today - dt.timedelta(days=MAX_BACKFILL_DAYS + 1)).isoformat()
        tomorrow = (today + dt.timedelta(days=1)).isoformat()
        for since in (0, "1970-01-01", "9999-12-31", too_old, tomorrow):
            response = await api.client.post(
                f"/integrated-accounts/{account}/sync", json={"since": since}, headers=api.auth()
            )
            assert response.status_code == 400, (since, response.text)
            assert "since" in response.json()["message"], response.text
        oldest = (today - dt.timedelta(days=MAX_BACKFILL_DAYS)).isoformat()
        accepted = await api.client.post(
            f"/integrated-accounts/{account}/sync", json={"since": oldest}, headers=api.auth()
        )
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["since"].startswith(oldest)


async def test_the_private_url_opt_in_never_reaches_link_local(
    database_url: str, data_dir: Path
) -> None:
    # api_world opts in to private URLs; the address is refused before any request is made.
    async with api_world(database_url, data_dir, synced=False) as api:
        for base_url in ("http://169.254.169.254", "http://[fe80::1]:80", "http://2852039166"):
            response = await api.client.post(
                "/integrated-accounts", json=_link(base_url=base_url), headers=api.auth()
            )
            assert response.status_code == 400, (base_url, response.text)
            assert "base_url" in response.json()["message"]
        listed = await api.get("/integrated-accounts", tenant_id="cust-9")
        assert listed.json()["result"] == []


async def test_integrations_list_the_registry_with_its_credential_fields(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        listed = (await api.get("/integrations")).json()
        assert [i["slug"] for i in listed] == ["cursor", "anthropic"]
        assert [f["name"] for f in listed[0]["credential_fields"]] == ["api_key"]
        assert listed[0]["credential_fields"][0]["secret"] is True
        # Each vendor asks for its own key, with its own words.
        anthropic = listed[1]["credential_fields"][0]
        assert anthropic["label"] == "Anthropic Admin API key" and "Admin keys" in anthropic["help"]
        # A test's own vendor joins the runtime's registry and is served at once.
        api.world.runtime.registry.register(Toy())
        listed = (await api.get("/integrations")).json()
        assert [i["slug"] for i in listed] == ["cursor", "anthropic", "toy"]
        assert [f["name"] for f in listed[2]["credential_fields"]] == ["org_id", "token"]


async def test_an_unknown_integration_or_bad_credentials_are_refused_before_any_call(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        before = api.sim.requests[KEYS[0]]
        unknown = await api.client.post(
            "/integrated-accounts", json=_link(integration="jira"), headers=api.auth()
        )
        assert unknown.status_code == 422, unknown.text
        body = unknown.json()
        assert body["message"] == (
            "unknown integration 'jira'; known integrations: cursor, anthropic"
        )
        assert body["details"] == {"known_integrations": ["cursor", "anthropic"]}
        for credentials, message in (
            ({"token": KEYS[0]}, "credentials.unknown credential field(s) token"),
            ({"api_key": " "}, "credentials.missing credential field(s): api_key"),
        ):
            refused = await api.client.post(
                "/integrated-accounts", json=_link(credentials=credentials), headers=api.auth()
            )
            assert refused.status_code == 400, refused.text
            assert refused.json()["message"].startswith(message)
            assert KEYS[0] not in refused.text
        assert api.sim.requests[KEYS[0]] == before, "nothing reached the vendor"
        assert (await api.get("/integrated-accounts", tenant_id="cust-9")).json()["result"] == []


async def test_the_proxy_answers_only_for_the_accounts_own_integration(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        api.world.runtime.registry.register(Toy())
        other = await api.get("/proxy/toy/v1/members", integrated_account_id=account)
        assert other.status_code == 404, other.text
        own = await api.get("/proxy/cursor/teams/members", integrated_account_id=account)
        assert own.status_code == 200 and own.json()["teamMembers"]
