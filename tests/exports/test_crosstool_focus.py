"""FOCUS rows across tools: each product's rows carry its vendor as provider and publisher
and its name as the service; a product whose charges are estimates has no rows."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from tests.analytics.crosstool import API, CODE, PERIOD, TENANT, cross_tool

CENTS_E6 = Decimal(100 * 10**6)


async def test_focus_rows_per_product_leave_estimated_charges_out(
    database_url: str, data_dir: Path
) -> None:
    async with cross_tool(database_url, data_dir) as x:
        response = await x.api.get("/exports/focus", tenant_id=TENANT, **PERIOD)
        assert response.status_code == 200, response.text
        cursor_only = await x.api.get("/exports/focus", tenant_id=TENANT, product="cursor",
                                      **PERIOD)  # fmt: skip
        code_only = await x.api.get("/exports/focus", tenant_id=TENANT, product=CODE, **PERIOD)

    rows = list(csv.DictReader(io.StringIO(response.text)))
    named = {(r["BillingAccountId"], r["ProviderName"], r["PublisherName"], r["ServiceName"],
              r["ServiceCategory"]) for r in rows}  # fmt: skip
    category = "AI and Machine Learning"
    assert named == {
        (x.cursor_id, "Cursor", "Cursor", "Cursor", category),
        (x.tools_id, "Two Tools AI", "Two Tools AI", "Toy API", category),
    }
    tools = [r for r in rows if r["BillingAccountId"] == x.tools_id]
    api_rows = [u for u in x.usage if u.product == API]
    # One row per (day, user, model) of the billed product, none of the estimated one.
    assert len(tools) == len(api_rows)
    assert sum(Decimal(r["EffectiveCost"]) for r in tools) * CENTS_E6 == sum(
        u.cost for u in api_rows
    )
    assert {r["SubAccountId"] for r in tools} == {u.email.lower() or "" for u in api_rows}
    assert all(r["ChargeCategory"] == "Usage" for r in rows)

    only = list(csv.DictReader(io.StringIO(cursor_only.text)))
    assert only and {r["ProviderName"] for r in only} == {"Cursor"}
    assert code_only.status_code == 200
    assert list(csv.DictReader(io.StringIO(code_only.text))) == []
