"""The dashboard over a tenant holding a Cursor account and a Toy AI account: the overview
shows the tools side by side, and ``?product=`` narrows every page to one."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from tests.analytics.crosstool import TENANT, cross_tool

TOY = "toy_assistant"
PAGES = ("/app", "/app/seats", "/app/consumption", "/app/adoption", "/app/audit",
         "/app/anomalies")  # fmt: skip


def _cells(html: str, product: str) -> dict[str, str]:
    row = re.search(rf'<tr data-product="{product}">(.*?)</tr>', html, re.S)
    assert row, product
    return dict(re.findall(r'data-metric="(\w+)" data-value="([^"]*)"', row.group(1)))


async def test_the_overview_lists_the_tools_and_the_filter_narrows_to_one(
    database_url: str, data_dir: Path
) -> None:
    async with cross_tool(database_url, data_dir, two_tools=False) as x:
        client = x.api.client
        signed_in = await client.post("/app/login", data={"token": x.api.tokens["default"]})
        assert signed_in.status_code == 303
        view = {"account": f"tenant:{TENANT}"}
        overview = await client.get("/app", params=view)
        people = (await x.api.get("/analytics/people", tenant_id=TENANT, as_of="2026-06-15",
                                  start_date="2026-05-17", end_date="2026-06-16")).json()  # fmt: skip
        narrowed = {p: await client.get(p, params={**view, "product": TOY}) for p in PAGES}
        spend = (await x.api.get("/analytics/consumption", tenant_id=TENANT, product=TOY,
                                 start_date="2026-05-17", end_date="2026-06-16",
                                 granularity="total")).json()  # fmt: skip
        unknown = await client.get("/app", params={**view, "product": "nope"})

    assert overview.status_code == 200, overview.text
    html = overview.text
    assert 'id="tools"' in html
    tools = {t["product"]: t for t in people["summary"]["tools"]}
    assert set(tools) == {"cursor", TOY}
    for product, t in tools.items():
        cells = _cells(html, product)
        assert int(cells["seats"]) == t["seats"] > 0
        assert int(cells["active_people"]) == t["active_people"] > 0
        assert Decimal(cells["cost"]) == Decimal(t["cost"])
    shown = re.search(r'data-metric="multi_tool_people" data-value="(\d+)"', html)
    assert shown and int(shown.group(1)) == people["summary"]["multi_tool_people"] == 1
    assert "Toy Assistant" in html and f'<option value="{TOY}"' in html

    for path, page in narrowed.items():
        assert page.status_code == 200, (path, page.status_code)
        assert f'<option value="{TOY}" selected>' in page.text, path
        # Links keep the filter from page to page.
        assert f"product={TOY}" in page.text, path
    toy_overview = narrowed["/app"].text
    assert 'id="tools"' not in toy_overview
    spent = re.search(r'data-metric="spend" data-value="([^"]*)"', toy_overview)
    assert spent and Decimal(spent.group(1)) == Decimal(spend["totals"]["cost"]["charged"])
    assert Decimal(spend["totals"]["cost"]["charged"]) == Decimal(tools[TOY]["cost"]) + Decimal(
        tools[TOY]["unattributed_cost"]
    )
    seats = re.search(r'data-metric="provisioned" data-value="(\d+)"', toy_overview)
    assert seats and int(seats.group(1)) == tools[TOY]["seats"]

    assert unknown.status_code == 200
    assert "is not a tool of this workspace" in unknown.text
