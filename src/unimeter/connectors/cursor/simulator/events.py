"""Selecting and serialising usage events (``POST /teams/filtered-usage-events``)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .activity import MAX_ARRIVAL_LAG_MS, DayEvents
from .catalog import HOSTING_TYPES, KIND_LABELS, KIND_USAGE_BASED, MODELS
from .config import DAY_MS
from .pricing import cents
from .rng import mix64, uuid_from
from .team import SimTeam

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]
NO_MATCH = -2  # a filter that names nobody: the result is empty, not an error


@dataclass(frozen=True, slots=True)
class EventFilter:
    start_ms: int
    end_ms: int
    member: int | None = None  # member index, or NO_MATCH
    service_account: str | None = None
    cloud_agent: str | None = None  # a run id, or "*" for every cloud-agent event
    automation: str | None = None  # an automation id, or "*"
    hosting: int | None = None  # index into HOSTING_TYPES


@dataclass(frozen=True, slots=True)
class Selection:
    """The events matching a filter, as per-day index arrays in API order."""

    parts: list[tuple[DayEvents, I64]]

    @property
    def total(self) -> int:
        return sum(int(idx.shape[0]) for _, idx in self.parts)

    def page(self, offset: int, limit: int) -> list[tuple[DayEvents, I64]]:
        out: list[tuple[DayEvents, I64]] = []
        for events, idx in self.parts:
            size = int(idx.shape[0])
            if offset >= size:
                offset -= size
                continue
            chunk = idx[offset : offset + limit]
            out.append((events, chunk))
            limit -= int(chunk.shape[0])
            offset = 0
            if limit <= 0:
                break
        return out


class EventSelector:
    """Per-team selection with a small cache, so walking the pages of a window is cheap."""

    def __init__(self, team: SimTeam) -> None:
        self.team = team
        self._masks: OrderedDict[tuple[object, ...], I64] = OrderedDict()

    def select(self, flt: EventFilter, now_ms: int, *, retention: bool = True) -> Selection:
        """Matching events; ``retention=False`` also returns data Cursor no longer serves."""
        team = self.team
        floor = team.retention_start_ms(now_ms) if retention else team.history_start_ms
        start = max(flt.start_ms, floor)
        end = min(flt.end_ms, now_ms)
        if flt.member == NO_MATCH or start > end:
            return Selection([])
        parts = []
        for day in range(end // DAY_MS, start // DAY_MS - 1, -1):
            events = team.day(day).events
            idx = self._day_indices(events, flt, start, end, now_ms)
            if idx.shape[0]:
                parts.append((events, idx))
        return Selection(parts)

    def _day_indices(
        self, events: DayEvents, flt: EventFilter, start: int, end: int, now_ms: int
    ) -> I64:
        settled = (events.day + 1) * DAY_MS + MAX_ARRIVAL_LAG_MS <= now_ms
        key = (self.team.data_version, events.day, flt, start, end, None if settled else now_ms)
        cached = self._masks.get(key)
        if cached is not None:
            self._masks.move_to_end(key)
            return cached
        mask = (events.visible_at <= now_ms) & (events.ts >= start) & (events.ts <= end)
        mask &= self._filter_mask(events, flt)
        idx: I64 = np.flatnonzero(mask).astype(np.int64)
        self._masks[key] = idx
        if len(self._masks) > 512:
            self._masks.popitem(last=False)
        return idx

    def _filter_mask(self, events: DayEvents, flt: EventFilter) -> BOOL:
        mask = np.ones(events.size, dtype=np.bool_)
        if flt.member is not None:
            mask &= events.user == flt.member
        if flt.hosting is not None:
            mask &= events.hosting == flt.hosting
        if flt.service_account is not None:
            ids = [sa.id for sa in self.team.roster.service_accounts]
            wanted = ids.index(flt.service_account) if flt.service_account in ids else NO_MATCH
            mask &= events.service_account == wanted
        if flt.cloud_agent is not None:
            mask &= _id_mask(events.cloud_agent, flt.cloud_agent, cloud_agent_id)
        if flt.automation is not None:
            mask &= _id_mask(events.automation, flt.automation, automation_id)
        return mask


def _id_mask(keys: npt.NDArray[np.uint64], wanted: str, fmt: Callable[[int], str]) -> BOOL:
    present: BOOL = keys != 0
    if wanted == "*":
        return present
    out = np.zeros(keys.shape[0], dtype=np.bool_)
    for i in np.flatnonzero(present):
        out[i] = fmt(int(keys[i])) == wanted
    return out


def cloud_agent_id(key: int) -> str:
    return "bc-" + uuid_from(mix64(key), mix64(key + 1))


def automation_id(key: int) -> str:
    return uuid_from(mix64(key + 5), mix64(key + 6))


def conversation_id(key: int) -> str:
    return uuid_from(key, mix64(key))


def serialize_events(
    team: SimTeam, page: list[tuple[DayEvents, I64]], now_ms: int
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for events, idx in page:
        out.extend(_serialize_chunk(team, events, idx, now_ms))
    return out


def _serialize_chunk(
    team: SimTeam, events: DayEvents, idx: I64, now_ms: int
) -> list[dict[str, Any]]:
    priced = team.adjuster.price(events, idx, now_ms)
    members = team.members
    service_accounts = team.roster.service_accounts
    extra = team.config.quirks.extra_fields
    cols = {
        name: getattr(events, name)[idx].tolist()
        for name in (
            "ts", "user", "model", "kind", "max_mode", "token_based", "headless",
            "input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens",
            "discount", "conversation", "cloud_agent", "automation", "service_account",
            "uid",
        )
    }  # fmt: skip
    cost = priced.cost_micro.tolist()
    fee = priced.fee_micro.tolist()
    charged = priced.charged_micro.tolist()
    units = priced.units_centi.tolist()
    emails = {u: team.event_email(members[u], now_ms) for u in set(cols["user"])}
    rows: list[dict[str, Any]] = []
    for i in range(len(cost)):
        model = MODELS[cols["model"][i]]
        row: dict[str, Any] = {
            "timestamp": str(cols["ts"][i]),
            "userEmail": emails[cols["user"][i]],
        }
        if cols["conversation"][i]:
            row["conversationId"] = conversation_id(cols["conversation"][i])
        row["model"] = model.id
        row["kind"] = KIND_LABELS[cols["kind"][i]]
        row["maxMode"] = cols["max_mode"][i]
        row["requestsCosts"] = _units(units[i])
        row["isTokenBasedCall"] = cols["token_based"][i]
        row["isChargeable"] = cols["kind"][i] == KIND_USAGE_BASED and charged[i] > 0
        row["isHeadless"] = cols["headless"][i]
        if cols["token_based"][i]:
            usage: dict[str, Any] = {
                "inputTokens": cols["input_tokens"][i],
                "outputTokens": cols["output_tokens"][i],
                "cacheWriteTokens": cols["cache_write_tokens"][i],
                "cacheReadTokens": cols["cache_read_tokens"][i],
                "totalCents": cents(cost[i]),
            }
            if cols["discount"][i]:
                usage["discountPercentOff"] = cols["discount"][i]
            row["tokenUsage"] = usage
        row["chargedCents"] = cents(charged[i])
        if fee[i]:
            row["cursorTokenFee"] = cents(fee[i])
        sa = cols["service_account"][i]
        if sa >= 0:
            row["serviceAccountId"] = service_accounts[sa].id
            row["serviceAccountName"] = service_accounts[sa].name
        if cols["cloud_agent"][i]:
            row["cloudAgentId"] = cloud_agent_id(cols["cloud_agent"][i])
        if cols["automation"][i]:
            row["automationId"] = automation_id(cols["automation"][i])
        if extra and cols["uid"][i] % 4 == 0:
            row["isFreeBugbot"] = False
            row["priceTier"] = "standard"
        rows.append(row)
    return rows


def _units(centi: int) -> int | float:
    whole, rest = divmod(centi, 100)
    return whole if rest == 0 else centi / 100


def hosting_index(value: str) -> int | None:
    return HOSTING_TYPES.index(value) if value in HOSTING_TYPES else None
