"""The dashboard tells a team without Enterprise what its plan leaves out, page by page."""

from __future__ import annotations

from pathlib import Path

from tests.support.api import api_world
from tests.web.test_pages import sign_in


async def test_pages_show_the_notes_of_a_team_plan(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, sim_options={"plan": "team"}) as api:
        await sign_in(api)
        account = api.accounts["default"]
        audit = await api.client.get("/app/audit", params={"account": account})
        assert audit.status_code == 200
        assert 'data-code="audit_log_unavailable"' in audit.text
        assert "removal times are unknown" in audit.text
        assert 'data-metric="usage_after_removal" data-value=""' in audit.text
        assert "not checked" in audit.text
        for path in ("/app/consumption", "/app/adoption"):
            page = await api.client.get(path, params={"account": account})
            assert 'data-code="no_team_mapping"' in page.text, path
        accounts = await api.client.get("/app/accounts")
        assert "not in plan" in accounts.text
        assert 'data-stream="audit_logs"' in accounts.text
        assert 'data-stream="billing_groups"' in accounts.text
        assert "Enterprise access required" in accounts.text


async def test_an_enterprise_team_sees_no_plan_notes(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        await sign_in(api)
        account = api.accounts["default"]
        for path in ("/app/audit", "/app/consumption", "/app/adoption", "/app/accounts"):
            page = await api.client.get(path, params={"account": account})
            assert page.status_code == 200
            assert "audit_log_unavailable" not in page.text, path
            assert "no_team_mapping" not in page.text, path
            assert "not in plan" not in page.text, path
