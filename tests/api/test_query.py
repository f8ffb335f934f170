"""Unknown query parameters and unknown enum values are a 400 naming them (api/query.py),
on every documented route; the proxy and the HTML pages keep their own parameters."""

from __future__ import annotations

from pathlib import Path

from tests.support.api import api_world


async def test_unknown_parameters_and_values_are_named_in_a_400(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        cases = [
            ("/unified/usage-metering/users", {"emails[]": "x"}, "emails[]"),
            ("/unified/usage-metering/users", {"status": "junk"}, "status"),
            ("/unified/usage-metering/usage", {"granularity": "hour"}, "granularity"),
            ("/analytics/consumption", {"group_by": "user", "emial": "a@b"}, "emial"),
            ("/integrated-accounts", {"tenant": "t"}, "tenant"),
            ("/sync-runs", {"limit": "5", "offset": "10"}, "offset"),
            ("/webhooks", {"active": "true"}, "active"),
        ]
        for path, query, name in cases:
            response = await api.get(path, integrated_account_id=account, **query)
            if path in ("/integrated-accounts", "/sync-runs", "/webhooks"):
                response = await api.get(path, **query)
            assert response.status_code == 400, (path, query, response.text)
            body = response.json()
            assert body["statusCode"] == 400
            assert name in body["message"], (path, body)


async def test_declared_spellings_still_work(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        users = await api.get("/unified/usage-metering/users", integrated_account_id=account)
        email = users.json()["result"][0]["emails"][0]["email"]
        for query in ({"emails[]": email}, {"emails": email}, {"group_by": "user,model"}):
            response = await api.get(
                "/unified/usage-metering/usage", integrated_account_id=account, **query
            )
            assert response.status_code == 200, (query, response.text)
        active = await api.get(
            "/unified/usage-metering/users", integrated_account_id=account, status="active"
        )
        assert active.status_code == 200


async def test_the_proxy_and_the_pages_keep_their_own_parameters(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        proxied = await api.get(
            "/proxy/cursor/teams/members", integrated_account_id=account, anything="1"
        )
        assert proxied.status_code == 200, proxied.text
        page = await api.client.get("/app/seats", params={"as_of": "2026-01-01", "days": "7"})
        assert page.status_code != 400  # a sign-in redirect: the page's own concern
