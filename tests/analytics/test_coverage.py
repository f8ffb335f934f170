"""Analyses say what they could not compute: a plan without the audit log or billing
groups, or no directory upload, gives notes and unknown counts, never silent zeros."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.analytics.test_chargeback import directory_csv, put_directory
from tests.support.api import ApiWorld, api_world


def _codes(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(n["code"], n["integrated_account_id"]) for n in body["notes"]}


async def _analyses(api: ApiWorld) -> tuple[dict[str, Any], ...]:
    account = api.accounts["default"]
    audit = (await api.get("/analytics/audit", integrated_account_id=account)).json()
    charges = (await api.get("/analytics/chargeback", integrated_account_id=account)).json()
    mapping = (await api.get("/analytics/team-mapping", integrated_account_id=account)).json()
    adoption = (await api.get("/analytics/adoption", integrated_account_id=account)).json()
    return audit, charges, mapping, adoption


async def test_a_team_plan_says_what_it_lacks(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, sim_options={"plan": "team"}) as api:
        account = api.accounts["default"]
        audit, charges, mapping, adoption = await _analyses(api)

        assert _codes(audit) == {("audit_log_unavailable", account), ("no_directory", account)}
        assert "Enterprise access required" in next(
            n["message"] for n in audit["notes"] if n["code"] == "audit_log_unavailable"
        )
        # Not checked is unknown, not zero; what was checked keeps its count.
        assert audit["counts"]["usage_after_removal"] is None
        assert audit["counts"]["missing_from_directory"] is None
        assert audit["counts"]["offboarded_with_seat"] is None
        assert isinstance(audit["counts"]["never_active"], int)
        assert not any(f["type"] == "usage_after_removal" for f in audit["result"])
        for body in (charges, mapping, adoption):
            assert _codes(body) == {("no_team_mapping", account)}, body["notes"]
        assert all(r["unallocated"] for r in charges["result"])

        # A directory upload gives the people teams: those notes go, the audit log's stays.
        text, _, _ = directory_csv(api.sim.truth(api.sim.keys[0]))
        assert (await put_directory(api, text)).status_code == 200
        audit, charges, mapping, adoption = await _analyses(api)
        assert _codes(audit) == {("audit_log_unavailable", account)}
        assert isinstance(audit["counts"]["missing_from_directory"], int)
        assert audit["counts"]["usage_after_removal"] is None
        for body in (charges, mapping, adoption):
            assert body["notes"] == []
        assert any(not r["unallocated"] for r in charges["result"])


async def test_enterprise_notes_only_the_missing_directory(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        audit, charges, mapping, adoption = await _analyses(api)
        assert _codes(audit) == {("no_directory", account)}
        assert isinstance(audit["counts"]["usage_after_removal"], int)
        for body in (charges, mapping, adoption):
            assert body["notes"] == []


async def test_the_account_shows_its_capabilities(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, sim_options={"plan": "team"}) as api:
        account = api.accounts["default"]
        shown = (await api.get(f"/integrated-accounts/{account}")).json()
        caps = shown["capabilities"]
        assert caps["audit_logs"]["status"] == "unavailable"
        assert caps["audit_logs"]["reason"].endswith("Enterprise access required")
        assert caps["audit_logs"]["next_check_at"] > caps["audit_logs"]["checked_at"]
        assert caps["billing_groups"]["status"] == "unavailable"
        # Cloud Agents are documented for every plan; the other Enterprise APIs are gated.
        assert {n for n, c in caps.items() if c["status"] == "available"} == {
            "members", "daily_usage", "usage_events", "spend", "agent_runs"
        }  # fmt: skip
        listed = (await api.get("/integrated-accounts")).json()["result"]
        assert listed[0]["capabilities"] == caps
