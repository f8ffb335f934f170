"""The Usage & Cost reports: time buckets, grouping, filters and the cost of tokens.

Both reports are computed from the same per-day Messages usage (``org.visible_usage``), at
the finest grain first and then summed, so a grouped answer always adds up exactly to the
ungrouped one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from .activity import Tokens, UsageKey
from .catalog import (
    CODE_EXECUTION_CENTS_PER_HOUR,
    PRICES,
    TOKEN_TYPES,
    WEB_SEARCH_CENTS,
    price_cents_per_mtok,
)
from .config import DAY_MS, HOUR_MS, MINUTE_MS
from .org import SimOrg

# Bucket width -> (milliseconds, default limit, maximum limit).
WIDTHS: dict[str, tuple[int, int, int]] = {
    "1d": (DAY_MS, 7, 31),
    "1h": (HOUR_MS, 24, 168),
    "1m": (MINUTE_MS, 60, 1440),
}
DIMENSIONS = (
    "model",
    "workspace_id",
    "api_key_id",
    "account_id",
    "service_account_id",
    "service_tier",
    "context_window",
    "inference_geo",
)
MESSAGE_GROUPS = frozenset((*DIMENSIONS, "speed"))
# Filter parameter -> the dimension it restricts.
MESSAGE_FILTERS = {
    "account_ids": "account_id",
    "api_key_ids": "api_key_id",
    "service_account_ids": "service_account_id",
    "workspace_ids": "workspace_id",
    "models": "model",
    "service_tiers": "service_tier",
    "context_window": "context_window",
    "inference_geos": "inference_geo",
    "speeds": "speed",
}
COST_GROUPS = frozenset(("workspace_id", "description", "inference_geo"))
# Priority Tier usage is in the usage report but not in the cost report.
_UNBILLED_TIERS = frozenset(("priority", "priority_on_demand"))
_SIX = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class BucketPlan:
    """The buckets a report query covers: starts from ``first`` to ``last`` inclusive."""

    width_ms: int
    first: int
    last: int

    def starts(self, resume: int | None, limit: int) -> tuple[list[int], int | None]:
        """One page of bucket starts from ``resume`` and where the next page resumes."""
        at = self.first if resume is None else resume
        out: list[int] = []
        while at <= self.last and len(out) < limit:
            out.append(at)
            at += self.width_ms
        return out, at if at <= self.last else None


def plan_buckets(width_ms: int, start_ms: int, end_ms: int | None, now_ms: int) -> BucketPlan:
    """Buckets snapped to the UTC width, starting at or after ``start`` (snapped down),
    starting before ``end`` (exclusive) and no later than the bucket holding ``now``."""
    first = start_ms // width_ms * width_ms
    last = now_ms // width_ms * width_ms
    if end_ms is not None:
        last = min(last, (end_ms - 1) // width_ms * width_ms)
    return BucketPlan(width_ms, first, last)


def dims_of(key: UsageKey) -> dict[str, str | None]:
    dims: dict[str, str | None] = {name: getattr(key, name) for name in DIMENSIONS}
    dims["speed"] = "standard"
    return dims


def message_results(
    usage: Mapping[UsageKey, Tokens], group_by: Iterable[str], filters: Mapping[str, set[str]]
) -> list[dict[str, Any]]:
    """Usage results grouped by ``group_by`` (other dimensions null) after ``filters``."""
    grouped = set(group_by)
    sums: dict[tuple[str | None, ...], Tokens] = {}
    names = (*DIMENSIONS, "speed")
    for key, tokens in usage.items():
        dims = dims_of(key)
        if any(dims[dim] not in allowed for dim, allowed in filters.items()):
            continue
        projected = tuple(dims[n] if n in grouped else None for n in names)
        sums.setdefault(projected, Tokens()).add(tokens)
    out = []
    for projected in sorted(sums, key=lambda p: tuple(v or "" for v in p)):
        t = sums[projected]
        result: dict[str, Any] = {
            "uncached_input_tokens": t.uncached,
            "cache_read_input_tokens": t.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": t.cache_5m,
                "ephemeral_1h_input_tokens": t.cache_1h,
            },
            "output_tokens": t.output,
            "server_tool_use": {"web_search_requests": t.web_search},
        }
        values = dict(zip(names, projected, strict=True))
        result.update({n: values[n] for n in DIMENSIONS})
        if "speed" in grouped:
            result["speed"] = values["speed"]
        out.append(result)
    return out


@dataclass(frozen=True, slots=True, order=True)
class CostLine:
    """What a cost item's ``description`` stands for (one description, one line)."""

    description: str
    cost_type: str
    model: str | None
    token_type: str | None
    service_tier: str | None
    context_window: str | None


# (workspace id, inference geo, line) -> amount in cents.
FinestCosts = dict[tuple[str | None, str | None, CostLine], Decimal]


def day_costs(org: SimOrg, day: int, now_ms: int) -> FinestCosts:
    """The day's costs at the finest grain, as visible at ``now`` and after its revisions.
    Each amount is rounded to 6 decimals here, so grouped sums are exact."""
    start = day * DAY_MS
    complete = start + DAY_MS <= now_ms
    usage = org.day(day).usage if complete else org.visible_usage(start, start + DAY_MS, now_ms)
    raw: dict[tuple[str | None, str | None, CostLine], Fraction] = {}
    for key, tokens in usage.items():
        if key.service_tier in _UNBILLED_TIERS:
            continue
        for (line, geo), amount in _token_costs(key, tokens):
            slot = (key.workspace_id, geo, line)
            raw[slot] = raw.get(slot, Fraction(0)) + amount
    if complete:
        for workspace, milli_hours in org.day(day).code_execution.items():
            line = CostLine("Code Execution Usage", "code_execution", None, None, None, None)
            raw[(workspace, None, line)] = Fraction(
                milli_hours * CODE_EXECUTION_CENTS_PER_HOUR, 1000
            )
    factor = org.revision_factor(day)
    out: FinestCosts = {}
    for place, amount in raw.items():
        exact = amount * factor
        value = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
            _SIX, rounding=ROUND_HALF_EVEN
        )
        if value:
            out[place] = value
    return out


def _token_costs(key: UsageKey, tokens: Tokens) -> list[tuple[tuple[CostLine, str], Fraction]]:
    counts = {
        "uncached_input_tokens": tokens.uncached,
        "output_tokens": tokens.output,
        "cache_read_input_tokens": tokens.cache_read,
        "cache_creation.ephemeral_5m_input_tokens": tokens.cache_5m,
        "cache_creation.ephemeral_1h_input_tokens": tokens.cache_1h,
    }
    display = PRICES[key.model].display
    suffix = (" - Batch" if key.service_tier == "batch" else "") + (
        " - Long Context" if key.context_window == "200k-1M" else ""
    )
    out = []
    for token_type, label, price_field in TOKEN_TYPES:
        count = counts[token_type]
        if not count:
            continue
        num, den = price_cents_per_mtok(
            key.model, price_field, service_tier=key.service_tier, context_window=key.context_window
        )
        line = CostLine(
            f"{display} Usage - {label}{suffix}",
            "tokens",
            key.model,
            token_type,
            key.service_tier,
            key.context_window,
        )
        out.append(((line, key.inference_geo), Fraction(count * num, den * 1_000_000)))
    if tokens.web_search:
        line = CostLine("Web Search Usage", "web_search", None, None, None, None)
        out.append(((line, key.inference_geo), Fraction(tokens.web_search * WEB_SEARCH_CENTS)))
    return out


def cost_items(costs: FinestCosts, group_by: Iterable[str]) -> list[dict[str, Any]]:
    """Cost items grouped by ``group_by``; fields of an ungrouped dimension are null."""
    grouped = set(group_by)
    sums: dict[tuple[str | None, str | None, CostLine | None], Decimal] = {}
    for (workspace_id, geo_id, cost_line), amount in costs.items():
        slot = (
            workspace_id if "workspace_id" in grouped else None,
            geo_id if "inference_geo" in grouped else None,
            cost_line if "description" in grouped else None,
        )
        sums[slot] = sums.get(slot, Decimal(0)) + amount
    out = []
    for slot in sorted(sums, key=_cost_order):
        workspace, geo, line = slot
        item: dict[str, Any] = {
            "currency": "USD",
            "amount": f"{sums[slot]:.6f}",
            "workspace_id": workspace,
            "description": line.description if line else None,
            "cost_type": line.cost_type if line else None,
            "model": line.model if line else None,
            "token_type": line.token_type if line else None,
            "service_tier": line.service_tier if line else None,
            "context_window": line.context_window if line else None,
        }
        if "inference_geo" in grouped:
            item["inference_geo"] = geo
        out.append(item)
    return out


def _cost_order(slot: tuple[str | None, str | None, CostLine | None]) -> tuple[str, str, str]:
    workspace, geo, line = slot
    return (workspace or "", geo or "", line.description if line else "")
