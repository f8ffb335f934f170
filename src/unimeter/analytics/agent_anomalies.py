"""Failing and runaway cloud agents, found after each sync beside the usage anomalies.

``agent_failures``: a person's failed runs (``error`` or ``expired``; a cancelled run was
stopped on purpose) on a day, against the robust baseline of their failed runs a day (as
``anomalies.spike`` tests a cost), needing at least ``agent_min_failures`` above the median.

``agent_runaway``: one run whose tokens or cost are ``agent_run_multiple`` times the median
of the same person's earlier runs in the baseline window (at least ``MIN_RUNS`` of them with
that figure known), and above ``agent_run_min_tokens`` / ``agent_run_min_cost``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.kit.money import parse_dollars

from . import code_repository as repo
from .anomaly_details import ratio, usd
from .schemas import AnomalyDetails, AnomalyThresholds

KINDS = ("agent_failures", "agent_runaway")
FAILED = frozenset({"error", "expired"})
MIN_RUNS = 3  # earlier runs needed before a run can be called far above the norm
MAX_EVIDENCE = 20  # run ids kept with an anomaly


@dataclass(frozen=True, slots=True)
class AgentFinding:
    kind: str
    email: str
    day: dt.date
    subject: str  # the run, for a runaway
    details: dict[str, object]
    run_ids: list[str] = field(default_factory=list)


async def detect(
    session: AsyncSession, account_id: str, t: AnomalyThresholds, scan_days: int
) -> tuple[list[AgentFinding], list[dt.date]]:
    """The findings on the account's last ``scan_days`` days of agent runs, and those days."""
    last = await repo.latest_run_day(session, account_id)
    if last is None:
        return [], []
    days = [last - dt.timedelta(days=n) for n in range(scan_days)]
    start = days[-1] - dt.timedelta(days=t.baseline_days)
    runs = [r for r in await repo.runs(session, [account_id], start, last + dt.timedelta(days=1))
            if r.user_email]  # fmt: skip
    return failures(t, days, runs) + runaways(t, days, runs), days


def failures(t: AnomalyThresholds, days: list[dt.date], runs: list[repo.Run]) -> list[AgentFinding]:
    # The usage anomalies' robust test (imported here: that module imports this one).
    from .anomalies import Series, spike

    failed: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    ids: dict[tuple[str, dt.date], list[str]] = defaultdict(list)
    first: dict[str, dt.date] = {}
    for r in runs:
        email = str(r.user_email)
        first[email] = min(first.get(email, r.day), r.day)
        if r.status in FAILED:
            failed[email][r.day] += 1
            ids[(email, r.day)].append(r.key)
    out = []
    for email, series in failed.items():
        for day in days:
            span = min(t.baseline_days, (day - first[email]).days)
            if span < t.min_baseline_days or series.get(day, 0) < t.agent_min_failures:
                continue
            values = Series(dict(series))
            found = spike(series[day], values.baseline(day, span), t, t.agent_min_failures)
            if found is None:
                continue
            details = AnomalyDetails(
                metric="failed_runs", runs=found["value"], usual_runs=float(found["median"]),
                multiple=ratio(found["value"], found["median"]),
                robust_z=None if found["robust_z"] is None else round(found["robust_z"], 2),
            )  # fmt: skip
            out.append(AgentFinding("agent_failures", email, day, "", details.model_dump(),
                                    ids[(email, day)][:MAX_EVIDENCE]))  # fmt: skip
    return out


def runaways(t: AnomalyThresholds, days: list[dt.date], runs: list[repo.Run]) -> list[AgentFinding]:
    min_cost = parse_dollars(t.agent_run_min_cost)
    scanned = set(days)
    out = []
    for n, run in enumerate(runs):
        if run.day not in scanned:
            continue
        window = run.day - dt.timedelta(days=t.baseline_days)
        earlier = [r for r in runs[:n] if r.user_email == run.user_email and r.day >= window]
        details = _far(t, run, earlier, min_cost)
        if details is not None:
            out.append(AgentFinding("agent_runaway", str(run.user_email), run.day, run.key[:120],
                                    details.model_dump(), [run.key]))  # fmt: skip
    return out


def _far(
    t: AnomalyThresholds, run: repo.Run, earlier: list[repo.Run], min_cost: int
) -> AnomalyDetails | None:
    """The evidence when the run's cost (else its tokens) is far above the earlier runs'."""
    costs = [r.cost_cents_e6 for r in earlier if r.cost_cents_e6 is not None]
    if run.cost_cents_e6 is not None and len(costs) >= MIN_RUNS:
        usual = statistics.median(costs)
        if run.cost_cents_e6 >= min_cost and run.cost_cents_e6 >= t.agent_run_multiple * usual:
            return AnomalyDetails(
                metric="run_cost", cost=usd(run.cost_cents_e6), usual_cost=usd(usual),
                excess_cost=usd(run.cost_cents_e6 - usual),
                multiple=ratio(run.cost_cents_e6, usual), tokens=run.tokens,
            )  # fmt: skip
    tokens = [r.tokens for r in earlier if r.tokens is not None]
    if run.tokens is not None and len(tokens) >= MIN_RUNS:
        usual_tokens = statistics.median(tokens)
        if run.tokens >= t.agent_run_min_tokens and run.tokens >= (
            t.agent_run_multiple * usual_tokens
        ):
            return AnomalyDetails(
                metric="run_tokens", tokens=run.tokens, usual_tokens=round(usual_tokens),
                multiple=ratio(run.tokens, usual_tokens),
                cost=None if run.cost_cents_e6 is None else usd(run.cost_cents_e6),
            )  # fmt: skip
    return None
