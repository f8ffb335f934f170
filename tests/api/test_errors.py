"""The error envelope's own rules: 405s say which methods a path has, and validation
messages speak of characters for strings."""

from __future__ import annotations

from pathlib import Path

from tests.support.api import api_world


async def test_a_405_allows_every_method_the_path_supports(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        cases = {
            f"/integrated-accounts/{account}": {"GET", "PATCH", "DELETE"},
            "/integrated-accounts": {"GET", "POST"},
            "/directory": {"GET", "PUT"},
            f"/integrated-accounts/{account}/sync": {"POST"},
        }
        for path, allowed in cases.items():
            response = await api.client.request("PUT" if "PUT" not in allowed else "POST", path,
                                                headers=api.auth())  # fmt: skip
            assert response.status_code == 405, (path, response.text)
            assert response.json()["statusCode"] == 405
            assert set(response.headers["allow"].split(", ")) == allowed, path


async def test_string_lengths_are_counted_in_characters(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        response = await api.client.post(
            "/integrated-accounts",
            headers=api.auth(),
            json={"integration": "cursor", "credentials": {"api_key": "short"}, "tenant_id": "t"},
        )
        assert response.status_code == 400
        body = response.json()
        assert "at least 8 characters" in body["message"], body
        assert "items" not in body["message"]
        assert "short" not in response.text  # the (secret) input is never echoed
