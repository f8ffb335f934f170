"""The FOCUS 1.2 export against the specification's column rules (written out here, not
taken from the module under test) and against the simulator's ground truth."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.support.api import api_world

START, END = "2020-01-01", "2030-01-01"

# FOCUS 1.2: column → (data type, allows nulls), from the column definitions.
MANDATORY = {
    "BilledCost": ("Decimal", False),
    "BillingAccountId": ("String", False),
    "BillingAccountName": ("String", True),
    "BillingCurrency": ("String", False),
    "BillingPeriodEnd": ("DateTime", False),
    "BillingPeriodStart": ("DateTime", False),
    "ChargeCategory": ("String", False),
    "ChargeClass": ("String", True),
    "ChargeDescription": ("String", True),
    "ChargePeriodEnd": ("DateTime", False),
    "ChargePeriodStart": ("DateTime", False),
    "ContractedCost": ("Decimal", False),
    "EffectiveCost": ("Decimal", False),
    "InvoiceIssuerName": ("String", False),
    "ListCost": ("Decimal", False),
    "PricingQuantity": ("Decimal", True),
    "PricingUnit": ("String", True),
    "ProviderName": ("String", False),
    "PublisherName": ("String", False),
    "ServiceCategory": ("String", False),
    "ServiceName": ("String", False),
}
# Recommended and conditional columns this export promises.
PROMISED = {
    "AvailabilityZone": ("String", True),
    "ChargeFrequency": ("String", False),
    "ConsumedQuantity": ("Decimal", True),
    "ConsumedUnit": ("String", True),
    "InvoiceId": ("String", True),
    "RegionId": ("String", True),
    "RegionName": ("String", True),
    "ResourceId": ("String", True),
    "ResourceName": ("String", True),
    "ServiceSubcategory": ("String", False),
    "SkuId": ("String", True),
    "SubAccountId": ("String", True),
    "SubAccountName": ("String", True),
    "Tags": ("JSON", True),
}
SPEC = {**MANDATORY, **PROMISED}
ALLOWED = {
    "ChargeCategory": {"Adjustment", "Credit", "Purchase", "Tax", "Usage"},
    "ChargeClass": {"Correction"},
    "ChargeFrequency": {"One-Time", "Recurring", "Usage-Based"},
    "ServiceCategory": {
        "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
        "Developer Tools", "Identity", "Integration", "Internet of Things",
        "Management and Governance", "Media", "Migration", "Mobile", "Multicloud", "Networking",
        "Other", "Security", "Storage", "Web",
    },
}  # fmt: skip
# Numeric format: no sign for positives, no thousands separators, E notation allowed.
NUMERIC = re.compile(r"-?\d+(\.\d+)?(E-?\d+)?")
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _instant(text: str) -> dt.datetime:
    assert DATETIME.fullmatch(text), text
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def check_value(name: str, value: str) -> None:
    """One CSV field against its column's type and null rule (an empty field is null)."""
    kind, nullable = SPEC[name]
    if value == "":
        assert nullable, f"{name} must not be null"
        return
    if kind == "Decimal":
        assert NUMERIC.fullmatch(value), (name, value)
        # With a point, so readers that infer types see a decimal even for whole numbers.
        assert "." in value, (name, value)
    elif kind == "DateTime":
        _instant(value)
    elif kind == "JSON":
        parsed = json.loads(value)
        assert isinstance(parsed, dict), (name, value)
        assert all(isinstance(v, str | int | float | bool) or v is None for v in parsed.values())
    if name in ALLOWED:
        assert value in ALLOWED[name], (name, value)


def check_row(row: dict[str, str]) -> None:
    for name in SPEC:
        check_value(name, row[name])
    charge_start, charge_end = _instant(row["ChargePeriodStart"]), _instant(row["ChargePeriodEnd"])
    bill_start, bill_end = _instant(row["BillingPeriodStart"]), _instant(row["BillingPeriodEnd"])
    assert charge_start < charge_end
    assert bill_start <= charge_start and charge_end <= bill_end
    assert charge_end - charge_start == dt.timedelta(days=1), "one UTC day"
    assert bill_start.day == 1 and bill_start.time() == dt.time(0)
    assert bill_end == (bill_start + dt.timedelta(days=32)).replace(day=1), "a calendar month"
    assert row["ChargeCategory"] == "Usage" and row["ChargeClass"] == ""
    # Usage rows (not corrections) must carry their quantities, units and SKU.
    for name in ("PricingQuantity", "PricingUnit", "ConsumedQuantity", "ConsumedUnit", "SkuId"):
        assert row[name] != "", name
    # Identity columns come with their names; location columns stay null.
    assert (row["SubAccountName"] == "") == (row["SubAccountId"] == "")
    assert row["ResourceId"] == row["ResourceName"] == ""
    assert row["RegionId"] == row["RegionName"] == row["AvailabilityZone"] == ""
    assert row["InvoiceId"] == "", "the API ties no charge to an invoice"
    billed, effective = Decimal(row["BilledCost"]), Decimal(row["EffectiveCost"])
    assert Decimal(0) <= billed <= effective
    assert billed + Decimal(row["x_IncludedCost"]) == effective
    assert Decimal(row["ListCost"]) == Decimal(row["ContractedCost"]) == effective
    assert row["BillingCurrency"] == "USD"
    tags = json.loads(row["Tags"])
    assert all(key.startswith("unimeter/") for key in tags), "provider-defined tags are prefixed"
    assert tags["unimeter/model"] == row["SkuId"]
    assert tags.get("unimeter/user", "") == row["SubAccountId"]


def _dollars(cents: Any) -> Decimal:
    return Decimal(str(cents)) / 100


def _tokens(payload: dict[str, Any]) -> int:
    usage = payload.get("tokenUsage") or {}
    keys = ("inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens")
    return sum(int(usage.get(k, 0)) for k in keys)


def _csv_text(value: Any) -> str:
    """A Parquet value as the CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        digits = format(value.normalize(), "f") if value else "0"
        return digits if "." in digits else digits + ".0"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


async def test_focus_rows_follow_the_spec_and_add_up_to_the_truth(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, sim_options={"users": 12}) as api:
        account = api.accounts["default"]
        truth = api.sim.truth(api.sim.keys[0])
        response = await api.get(
            "/exports/focus", integrated_account_id=account, start_date=START, end_date=END
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment;") and disposition.endswith('.csv"')
        parquet = await api.get("/exports/focus", integrated_account_id=account,
                                start_date=START, end_date=END, format="parquet")  # fmt: skip
        by_tenant = await api.get(
            "/exports/focus", tenant_id="tenant-default", start_date=START, end_date=END
        )
        recent = await api.get("/exports/focus", integrated_account_id=account)

    reader = csv.DictReader(io.StringIO(response.text))
    header = list(reader.fieldnames or [])
    rows = list(reader)
    assert set(SPEC) <= set(header), set(SPEC) - set(header)
    custom = [name for name in header if name not in SPEC]
    assert all(name.startswith("x_") for name in custom)
    assert header[: len(SPEC)] == sorted(SPEC), "FOCUS columns first, alphabetically"
    assert rows
    for row in rows:
        check_row(row)
        assert row["BillingAccountId"] == account
        assert row["ProviderName"] == row["ServiceName"] == row["InvoiceIssuerName"] == "Cursor"
    keys = Counter((r["ChargePeriodStart"], r["SubAccountId"], r["SkuId"]) for r in rows)
    assert max(keys.values()) == 1, "one row per day, user and model"
    assert len({r["BillingPeriodStart"] for r in rows}) >= 2, "the data spans months"

    events = truth.events()
    effective = sum((Decimal(r["EffectiveCost"]) for r in rows), Decimal(0))
    charged = sum((_dollars(e.payload.get("chargedCents", 0)) for e in events), Decimal(0))
    assert effective == charged
    assert effective.quantize(Decimal("0.01")) == charged.quantize(Decimal("0.01"))
    billed = sum((Decimal(r["BilledCost"]) for r in rows), Decimal(0))
    usage_based = sum(
        (
            _dollars(e.payload.get("chargedCents", 0))
            for e in events
            if e.payload["kind"].lower().startswith("usage-based")
        ),
        Decimal(0),
    )
    assert billed == usage_based
    assert 0 < billed < effective, "both included and usage-based usage are present"
    consumed = sum(Decimal(r["ConsumedQuantity"]) for r in rows)
    assert consumed == sum(_tokens(e.payload) for e in events)
    assert all(r["PricingQuantity"] == r["ConsumedQuantity"] for r in rows)
    assert sum(int(r["x_Events"]) for r in rows) == len(events)

    names = {m.email: m.name for m in truth.members()}
    named = [r for r in rows if r["SubAccountId"] in names]
    assert named
    assert all(r["SubAccountName"] == names[r["SubAccountId"]] for r in named)

    # Parquet holds the same rows with FOCUS types.
    table = pq.read_table(io.BytesIO(parquet.content))
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    schema = table.schema
    assert schema.names == header
    assert schema.field("BilledCost").type == pa.decimal128(38, 8)
    assert schema.field("ChargePeriodStart").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("x_Events").type == pa.int64()
    for name, (_, nullable) in SPEC.items():
        assert schema.field(name).nullable == nullable, name
    assert [{k: _csv_text(v) for k, v in r.items()} for r in table.to_pylist()] == rows

    assert by_tenant.status_code == 200
    assert list(csv.DictReader(io.StringIO(by_tenant.text))) == rows

    # By default, the 30 days up to today (UTC).
    assert recent.status_code == 200
    today = dt.datetime.fromtimestamp(truth.now_ms / 1000, tz=dt.UTC).date()
    starts = {r["ChargePeriodStart"][:10] for r in csv.DictReader(io.StringIO(recent.text))}
    assert starts and min(starts) >= (today - dt.timedelta(days=29)).isoformat()
    assert max(starts) <= today.isoformat()
