"""An Anthropic organization linked to a unimeter runtime through the public API, and the
unified API's figures computed independently from the simulator's ground truth.

The simulator's clock is frozen; the runtime and the connector share it, so "which days are
complete" means the same thing on both sides and ``sim.clock.advance`` moves all three.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.connectors.anthropic.conftest import FAST_RETRY
from tests.support.live import serve
from unimeter.app import create_app, open_runtime
from unimeter.auth.service import create_token
from unimeter.config import Settings
from unimeter.connectors.anthropic.budget import AdaptiveBudget
from unimeter.connectors.anthropic.connector import AnthropicConnector
from unimeter.connectors.anthropic.simulator import AnthropicSimConfig, SimulatedAnthropic
from unimeter.connectors.anthropic.simulator import create_app as create_sim_app
from unimeter.connectors.anthropic.simulator.truth import OrgTruth
from unimeter.runtime import Runtime
from unimeter.sync.engine.report import SyncReport
from unimeter.sync.service import sync_account

# 2026-06-15T12:34:56Z, frozen.
NOW_MS = 1_781_526_896_000
MINUTE_SECONDS = 0.05
SIM_BASE_URL = "http://anthropic.sim"
USERS_PATH = "/unified/usage-metering/users"
USAGE_PATH = "/unified/usage-metering/usage"
USERS_LIST = "/v1/organizations/users"
CLAUDE_CODE = "claude_code"
CLAUDE_API = "claude_api"
CENTS = Decimal(100)

# (product, user email or "" for no person, day) -> figure name -> value.
Figures = dict[str, Any]
Grain = tuple[str, str, dt.date]


def make_sim(**overrides: Any) -> SimulatedAnthropic:
    """A small organization (12 people, 20 days) with its real rate limit on fast minutes."""
    settings: dict[str, Any] = {
        "seed": 11,
        "now_ms": NOW_MS,
        "users": 12,
        "days": 20,
        "minute_seconds": MINUTE_SECONDS,
    }
    settings.update(overrides)
    return SimulatedAnthropic(AnthropicSimConfig(**settings))


class HiddenUsers:
    """The simulator's app with some users left out of ``GET /users`` listings.

    The simulator removes people only before its start, so "removed after linking" is made
    here, at the transport seam: the user vanishes from the listing, as Anthropic shows a
    removed user, while everything else (their past usage included) stays as served.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.hidden: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != USERS_LIST or not self.hidden:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        if start["status"] == 200:
            page = orjson.loads(body)
            page["data"] = [u for u in page["data"] if u["id"] not in self.hidden]
            body = orjson.dumps(page)
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass
class Env:
    sim: SimulatedAnthropic
    runtime: Runtime
    client: httpx.AsyncClient
    token: str
    base_url: str
    users_filter: HiddenUsers

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def truth(self) -> OrgTruth:
        return self.sim.truth()

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.auth)

    async def json(self, path: str, **params: Any) -> Any:
        response = await self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    async def link(self, api_key: str) -> httpx.Response:
        body = {"integration": "anthropic", "credentials": {"api_key": api_key},
                "tenant_id": "acme", "base_url": self.base_url}  # fmt: skip
        return await self.client.post("/integrated-accounts", json=body, headers=self.auth)

    async def linked(self) -> str:
        """The organization linked with its admin key; returns the account id."""
        response = await self.link(self.sim.keys[0])
        assert response.status_code == 201, response.text
        account_id: str = response.json()["id"]
        return account_id

    async def sync(self, account_id: str) -> SyncReport:
        report = await sync_account(self.runtime, account_id)
        assert report.status == "succeeded", report.error
        return report

    async def walk(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every row of a listing, page after page."""
        rows: list[dict[str, Any]] = []
        cursor = None
        while True:
            extra: dict[str, str] = {"next_cursor": cursor} if cursor else {}
            page = await self.json(path, limit=200, **params, **extra)
            rows += page["result"]
            cursor = page["next_cursor"]
            if cursor is None:
                return rows

    async def usage(self, account_id: str, **params: Any) -> list[dict[str, Any]]:
        """Every usage row of the whole history (today included)."""
        return await self.walk(
            USAGE_PATH, integrated_account_id=account_id, **history(self.truth), **params
        )


@contextmanager
def _endpoint(
    app: ASGIApp, transport: str
) -> Iterator[tuple[str, httpx.AsyncBaseTransport | None]]:
    if transport == "http":
        with serve(app) as base_url:
            yield base_url, None
    else:
        yield SIM_BASE_URL, httpx.ASGITransport(app=app)


@asynccontextmanager
async def environment(
    database_url: str,
    data_dir: Path,
    *,
    sim: SimulatedAnthropic | None = None,
    transport: str = "asgi",
) -> AsyncIterator[Env]:
    """The simulator (in process or over real HTTP) and unimeter's API in front of a runtime
    whose Anthropic connector shares the simulator's clock."""
    sim = sim or make_sim()
    users_filter = HiddenUsers(create_sim_app(sim))
    with _endpoint(users_filter, transport) as (base_url, asgi):
        connector = AnthropicConnector(
            minute_seconds=MINUTE_SECONDS,
            transport=asgi,
            retry=FAST_RETRY,
            timeout=10.0,
            # A budget of its own: another test's 429s must not slow this one.
            budget=AdaptiveBudget(minute_seconds=MINUTE_SECONDS),
            clock=sim.clock.now_ms,
        )
        settings = Settings(data_dir=data_dir, database_url=database_url, allow_private_urls=True,
                            account_rate_limit="off", token_rate_limit="off")  # fmt: skip
        runtime = await open_runtime(settings, clock=sim.clock.now_ms)
        runtime.registry.register(connector, replace=True)
        app = create_app(runtime)
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://unimeter.test"
            ) as client:
                token = (await create_token(runtime, "default"))[1]
                try:
                    yield Env(sim, runtime, client, token, base_url, users_filter)
                finally:
                    await app.state.sync_dispatch.close()
        finally:
            await runtime.close()


# --- the truth, in the unified API's terms ------------------------------------------------


def history(truth: OrgTruth) -> dict[str, str]:
    """The whole history as a usage range: its first day up to today (end exclusive)."""
    today = dt.datetime.fromtimestamp(truth.now_ms / 1000, tz=dt.UTC).date()
    return {
        "start_date": truth.history_start.isoformat(),
        "end_date": (today + dt.timedelta(days=1)).isoformat(),
    }


def days_of(truth: OrgTruth) -> list[dt.date]:
    today = dt.datetime.fromtimestamp(truth.now_ms / 1000, tz=dt.UTC).date()
    count = (today - truth.history_start).days + 1
    return [truth.history_start + dt.timedelta(days=n) for n in range(count)]


def complete_days(truth: OrgTruth) -> list[dt.date]:
    """The days the reports are read for (the current one still grows)."""
    return days_of(truth)[:-1]


def _blank() -> Figures:
    return defaultdict(int)


def expected_claude_code(truth: OrgTruth) -> dict[Grain, Figures]:
    """Per (person, day) from the analytics rows; every API key's rows have no person."""
    out: dict[Grain, Figures] = defaultdict(_blank)
    for day in days_of(truth):
        for row in truth.claude_code_rows(day):
            actor = row["actor"]
            email = actor["email_address"].lower() if actor["type"] == "user_actor" else ""
            figures = out[(CLAUDE_CODE, email, day)]
            core = row["core_metrics"]
            figures["sessions"] += core["num_sessions"]
            figures["lines_added"] += core["lines_of_code"]["added"]
            figures["lines_removed"] += core["lines_of_code"]["removed"]
            figures["commits"] += core["commits_by_claude_code"]
            figures["pull_requests"] += core["pull_requests_by_claude_code"]
            for tool in row["tool_actions"].values():
                figures["tool_actions_accepted"] += tool["accepted"]
                figures["tool_actions_rejected"] += tool["rejected"]
            for usage in row["model_breakdown"]:
                _add_tokens(figures, **usage["tokens"])
                cents = Decimal(str(usage["estimated_cost"]["amount"]))
                figures["cost"] = figures.get("cost", Decimal(0)) + cents / CENTS
    return {grain: dict(figures) for grain, figures in out.items()}


def _add_tokens(
    figures: Figures, *, input: int, output: int, cache_read: int, cache_creation: int
) -> None:
    figures["input"] += input
    figures["output"] += output
    figures["cache_read"] += cache_read
    figures["cache_write"] += cache_creation


def messages_tokens(result: dict[str, Any]) -> dict[str, int]:
    cache = result["cache_creation"]
    return {
        "input": result["uncached_input_tokens"],
        "output": result["output_tokens"],
        "cache_read": result["cache_read_input_tokens"],
        "cache_write": cache["ephemeral_5m_input_tokens"] + cache["ephemeral_1h_input_tokens"],
    }


def expected_claude_api(truth: OrgTruth) -> dict[Grain, Figures]:
    """Per (person, day): Messages tokens of a current user's account; everything else (keys,
    Workbench, removed users) and every cost (the cost report names no person) has none."""
    emails = {u.id: u.email.lower() for u in truth.users() if u.removed_at_ms is None}
    out: dict[Grain, Figures] = defaultdict(_blank)
    for day in complete_days(truth):
        for result in truth.messages_results(day, ("account_id",)):
            email = emails.get(result["account_id"] or "", "")
            figures = out[(CLAUDE_API, email, day)]
            for name, value in messages_tokens(result).items():
                figures[name] += value
        cost = truth.cost_cents(day)
        if cost:
            figures = out[(CLAUDE_API, "", day)]
            figures["cost"] = figures.get("cost", Decimal(0)) + cost / CENTS
    return {
        grain: dict(figures)
        for grain, figures in out.items()
        if any(value for value in figures.values())  # a row with no usage is not listed
    }


FIGURE_FIELDS = {
    "tokens": ("input", "output", "cache_read", "cache_creation"),
    "code": ("lines_added", "lines_removed", "tool_actions_accepted", "tool_actions_rejected"),
    "work": ("sessions", "commits_by_claude_code", "pull_requests_by_claude_code"),
}
# The unified API's field names (Anthropic's words) -> the figures' neutral ones.
NEUTRAL = {"cache_creation": "cache_write", "commits_by_claude_code": "commits",
           "pull_requests_by_claude_code": "pull_requests"}  # fmt: skip


def charged(row: dict[str, Any]) -> Decimal:
    return sum((Decimal(c["amount"]) for c in row["charges"] if c["type"] == "total"), Decimal(0))


def figures_of(row: dict[str, Any]) -> Figures:
    """A usage row's figures, in the truth's terms (what the product does not report for a
    product, like Claude API's work counters, is left out)."""
    out: Figures = {}
    for group, names in FIGURE_FIELDS.items():
        values = row["usage"].get(group) or {}
        for name in names:
            if name in values:
                out[NEUTRAL.get(name, name)] = values[name]
    if row["product"]["id"] == CLAUDE_API:
        out = {
            k: v for k, v in out.items() if k in ("input", "output", "cache_read", "cache_write")
        }
    cost = charged(row)
    if cost:
        out["cost"] = cost
    return {k: v for k, v in out.items() if v}


def grain_of(row: dict[str, Any]) -> Grain:
    user = (row.get("user") or {}).get("email") or ""
    return row["product"]["id"], user, dt.date.fromisoformat(row["start_date"][:10])


def by_grain(rows: list[dict[str, Any]]) -> dict[Grain, Figures]:
    out: dict[Grain, Figures] = {}
    for row in rows:
        grain = grain_of(row)
        assert grain not in out, f"two rows for {grain}"
        out[grain] = figures_of(row)
    return out


def nonzero(expected: dict[Grain, Figures]) -> dict[Grain, Figures]:
    return {g: {k: v for k, v in f.items() if v} for g, f in expected.items()}


def sums(rows: list[dict[str, Any]], product: str) -> Figures:
    """Token and cost sums of the rows of one product."""
    out: Figures = defaultdict(int)
    for row in rows:
        if row["product"]["id"] != product:
            continue
        for name, value in figures_of(row).items():
            if name in ("input", "output", "cache_read", "cache_write", "cost"):
                out[name] += value
    return dict(out)


def expected_sums(
    expected: dict[Grain, Figures], product: str, email: str | None = None
) -> Figures:
    out: Figures = defaultdict(int)
    for (grain_product, grain_email, _), figures in expected.items():
        if grain_product != product or (email is not None and grain_email != email):
            continue
        for name in ("input", "output", "cache_read", "cache_write", "cost"):
            if figures.get(name):
                out[name] += figures[name]
    return dict(out)


def expected_by_model(truth: OrgTruth, product: str) -> dict[str, Figures]:
    """Token and cost sums per model over the whole history (no model: ``""``)."""
    out: dict[str, Figures] = defaultdict(_blank)
    if product == CLAUDE_CODE:
        for day in days_of(truth):
            for row in truth.claude_code_rows(day):
                for usage in row["model_breakdown"]:
                    figures = out[usage["model"]]
                    _add_tokens(figures, **usage["tokens"])
                    cents = Decimal(str(usage["estimated_cost"]["amount"]))
                    figures["cost"] = figures.get("cost", Decimal(0)) + cents / CENTS
        return {model: dict(figures) for model, figures in out.items()}
    for day in complete_days(truth):
        for result in truth.messages_results(day, ("model",)):
            figures = out[result["model"] or ""]
            for name, value in messages_tokens(result).items():
                figures[name] += value
        for item in truth.cost_items(day, ("description",)):
            figures = out[item["model"] or ""]
            figures["cost"] = figures.get("cost", Decimal(0)) + Decimal(item["amount"]) / CENTS
    return {model: {k: v for k, v in f.items() if v} for model, f in out.items()}
