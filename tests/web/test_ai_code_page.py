"""The "AI code" page and the adoption page's DAU split show the API's figures."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.analytics.codeworld import CodeWorld, code_world
from tests.web.test_pages import sign_in


async def _json(x: CodeWorld, path: str, **params: Any) -> Any:
    response = await x.api.get(path, integrated_account_id=x.account_id, **params)
    assert response.status_code == 200, response.text
    return response.json()


def _metric(html: str, name: str) -> str:
    found = re.search(rf'data-metric="{name}" data-value="([^"]*)"', html)
    assert found, name
    return found.group(1)


async def test_the_ai_code_page_shows_the_apis_figures(database_url: str, data_dir: Path) -> None:
    async with code_world(database_url, data_dir) as x:
        await sign_in(x.api)
        window = {"start_date": "2026-05-17", "end_date": "2026-06-16"}  # the page's 30 days
        teams = await _json(x, "/analytics/ai-code", group_by="team", granularity="total",
                            **window)  # fmt: skip
        repos = await _json(x, "/analytics/ai-code", group_by="repository", granularity="total",
                            **window)  # fmt: skip
        agents = await _json(x, "/analytics/agents", **window)
        adoption = await _json(x, "/analytics/adoption")
        page = await x.api.client.get("/app/ai-code", params={"account": x.account_id})
        nav = await x.api.client.get("/app", params={"account": x.account_id})
        chart = await x.api.client.get("/app/charts/ai-share-team.csv",
                                       params={"account": x.account_id})  # fmt: skip
        adoption_page = await x.api.client.get("/app/adoption", params={"account": x.account_id})
    assert page.status_code == 200, page.text
    html = page.text
    assert 'href="/app/ai-code?' in nav.text, "linked in the nav"
    assert "<svg" in html and 'id="chart-ai-share"' in html
    for name in ("commits", "lines_added", "tab_lines_added", "agent_lines_added",
                 "active_authors"):  # fmt: skip
        assert _metric(html, name) == str(teams["totals"][name]), name
    assert _metric(html, "ai_share") == str(teams["totals"]["ai_share"])
    assert _metric(html, "agent_runs") == str(agents["totals"]["runs"])
    assert _metric(html, "success_rate") == str(agents["totals"]["success_rate"])
    for r in teams["cost_per_ai_line"]:
        row = html.split(f'<tr data-team="{r["team"] or ""}">')[1].split("</tr>")[0]
        assert 'class="cost">' in row and f'data-value="{r["cost"]}"' in row
        assert f'data-value="{r["ai_lines_added"]}" class="ai-lines"' in row
        if r["cost_per_ai_line"]:
            assert f'data-value="{r["cost_per_ai_line"]}" class="per-line"' in row
    for r in repos["result"]:
        row = html.split(f'<tr data-repository="{r["repository"] or ""}">')[1].split("</tr>")[0]
        assert f'<td class="commits">{r["commits"]}</td>' in row
    lines = chart.text.strip().splitlines()
    assert lines[0] == "team,AI share"
    assert len(lines) == 1 + len(teams["result"])
    # The adoption page: the vendors' active users by surface, as the API answers them.
    assert [r["key"] for r in adoption["active_users"]] == ["all", "cli", "cloud_agent"]
    for r in adoption["active_users"]:
        row = adoption_page.text.split(f'<tr data-key="{r["key"]}">')[1].split("</tr>")[0]
        assert f'<td class="average">{r["average"]}</td>' in row
