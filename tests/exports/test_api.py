"""Bad requests to the export routes: a 4xx error envelope before any file starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.api import api_world


async def test_bad_parameters_get_error_envelopes(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        other = api.accounts["other"]
        ok = {"integrated_account_id": account}
        cases: list[tuple[str, dict[str, Any], int, str]] = [
            ("/exports/focus", {}, 400, "exactly one of"),
            ("/exports/focus", {**ok, "tenant_id": "tenant-default"}, 400, "exactly one of"),
            ("/exports/focus", {**ok, "start_date": "2026-06-10", "end_date": "2026-06-01"},
             400, "before"),
            ("/exports/focus", {**ok, "start_date": "2026-06-10", "end_date": "2026-06-10"},
             400, "before"),
            ("/exports/focus", {**ok, "start_date": "2000-01-01", "end_date": "2026-01-01"},
             400, "at most"),
            ("/exports/focus", {**ok, "end_date": "0001-01-02"}, 400, "end_date"),
            ("/exports/focus", {**ok, "end_date": "9999-12-31"}, 400, "2000-01-01 to 2100-12-31"),
            ("/exports/focus", {**ok, "start_date": "yesterday"}, 400, "start_date"),
            ("/exports/focus", {**ok, "format": "xlsx"}, 400, "format"),
            ("/exports/focus", {"integrated_account_id": other}, 404, "not found"),
            ("/exports/focus", {"tenant_id": "tenant-other"}, 404, "not found"),
            ("/exports/consumption", {**ok, "group_by[]": "team"}, 400, "group_by"),
            ("/exports/consumption", {**ok, "granularity": "hour"}, 400, "granularity"),
            ("/exports/consumption", {**ok, "format": "jsonl"}, 400, "format"),
            ("/exports/chargeback", {**ok, "by": "department"}, 400, "by"),
            ("/exports/chargeback", {**ok, "source": "ldap"}, 400, "source"),
            ("/exports/chargeback", {**ok, "by": "cost_center"}, 400, "directory"),
            ("/exports/chargeback", {**ok, "by": "cost_center", "format": "parquet"},
             400, "directory"),
        ]  # fmt: skip
        for path, params, status, fragment in cases:
            response = await api.get(path, **params)
            assert response.status_code == status, (path, params, response.text)
            assert response.headers["content-type"] == "application/json", (path, params)
            body = response.json()
            assert body["statusCode"] == status
            assert set(body) <= {"statusCode", "error", "message", "details"}
            assert fragment in body["message"], (path, params, body)
            assert "content-disposition" not in response.headers

        unauthenticated = await api.client.get("/exports/focus", params=ok)
        assert unauthenticated.status_code == 401
        assert unauthenticated.json()["statusCode"] == 401

        # Nothing synced yet: a file with a header and no rows, not an error.
        empty = await api.get("/exports/focus", **ok)
        assert empty.status_code == 200
        assert empty.text.startswith("AvailabilityZone,BilledCost,")
        assert empty.text.count("\n") == 1
        empty_parquet = await api.get("/exports/consumption", **ok, format="parquet")
        assert empty_parquet.status_code == 200
        assert empty_parquet.content.startswith(b"PAR1")
