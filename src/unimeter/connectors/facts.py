"""The canonical usage fact: what every connector reports, in one vendor-neutral shape.

A fact is one (member or actor, product, surface, model, UTC day) with optional metric
groups. A connector fills what its vendor knows and leaves the rest ``None``: **None means
unknown, never zero**, and readers hide a group no fact of the answer reports.

Two kinds of fact may describe the same member-day:

- *detail* facts, split by surface and model (Cursor derives them from its usage events;
  Anthropic's Claude Code report is per model);
- one *day total* (``is_day_total``, surface and model empty), the vendor's own per-day
  aggregate (Cursor's daily usage). It may overlap the detail facts, so readers never add
  the two: split by model or surface they read detail facts only; unsplit, each metric
  comes from the day totals when the connector lists it in ``day_total_metrics``, and from
  the detail facts otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The metric groups, each a tuple of integer metrics (money as cents x 10**6).
METRIC_GROUPS: dict[str, tuple[str, ...]] = {
    # Requests as the vendor counts them, and how each was paid for.
    "requests": (
        "requests", "requests_included", "requests_usage_based", "requests_api_key",
        "requests_errored", "requests_premium",
    ),
    # Requests by feature, for the vendors whose tools have these features.
    "features": (
        "chat_requests", "agent_requests", "edit_requests", "inline_edit_requests",
        "review_requests", "completions_shown", "completions_accepted",
    ),
    "tokens": ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"),
    # Exact money by charge type: everything charged, inside the plan, beyond it.
    "charges": ("cost_cents_e6", "included_cents_e6", "usage_based_cents_e6"),
    "code": (
        "lines_added", "lines_removed", "accepted_lines_added", "accepted_lines_removed",
        "applies", "accepts", "rejects", "tool_actions_accepted", "tool_actions_rejected",
    ),
    "work": ("sessions", "commits", "pull_requests"),
}  # fmt: skip

METRICS: tuple[str, ...] = tuple(name for group in METRIC_GROUPS.values() for name in group)

# Surfaces where a person is at the keyboard: usage anywhere else (a CLI run by a script,
# a cloud agent, an automation, a service account) is unattended, "headless", and watched
# as such by the anomaly detection.
INTERACTIVE_SURFACES = frozenset({"ide", "terminal"})

# The empty key part: no person (usage of an API key, or events nobody can be attributed),
# no actor, no surface split, no model.
NONE = ""


@dataclass(slots=True)
class UsageFactRecord:
    """One fact as a connector produces it; ``metrics`` holds only what the vendor knows."""

    day: dt.date
    product: str
    user_email: str = NONE  # the member's email; NONE for an actor or unattributed usage
    actor: str = NONE  # an API key, service account or agent id when no person is known
    # ide | terminal | cli | cloud_agent | automation | service_account | api | console | …
    surface: str = NONE
    model: str = NONE
    is_day_total: bool = False
    metrics: dict[str, int] = field(default_factory=dict)
    # Activity: was the person active that day (None: the vendor does not say).
    is_active: bool | None = None
    client_version: str | None = None
    # The vendor's rows this fact was built from, verbatim, when it has no raw table of
    # its own: the unified API passes them through as ``remote_data``.
    sources: list[dict[str, Any]] = field(default_factory=list)

    def key(self) -> tuple[dt.date, str, str, str, str, str, bool]:
        return (
            self.day, self.product, self.user_email, self.actor, self.surface, self.model,
            self.is_day_total,
        )  # fmt: skip


@dataclass(frozen=True)
class FactProfile:
    """What a connector's facts hold, declared once so readers need no vendor knowledge.

    - ``detail_metrics``: the metrics its detail facts report (derived from events, or
      reported per member, model and day);
    - ``day_total_metrics``: the metrics its day totals report. Unsplit answers read these
      from the day totals (the vendor's own aggregate wins over a sum of details);
    - ``labels``: public names of fields for its accounts, by neutral path: of unified
      records (``"requests.edit"``, ``"code.lines_removed"``, ``"activity.premium"``) and of
      the adoption scorecard (``"adoption.completion_acceptance"``, ``"adoption.features.edit"``);
      ``None`` hides a field (the metric stays for the analyses; a feature so labelled is left
      out of the feature mix). Unlisted fields keep their neutral names, so a new vendor needs
      no labels at all.

    A metric in neither set is not reported: readers hide it (never a zero).
    """

    detail_metrics: frozenset[str] = frozenset()
    day_total_metrics: frozenset[str] = frozenset()
    labels: Mapping[str, str | None] = field(default_factory=dict)
    # Products whose charges are the vendor's estimates, not what it bills: readers mark
    # them (``charges.is_estimate``) and invoice-grade totals (FOCUS) leave them out.
    estimated_charges: frozenset[str] = frozenset()
    # For a vendor with several products that report different metrics: the metrics each
    # reports (a product not listed reports every metric of the profile). Readers hide the
    # others on that product's records rather than show zeros.
    product_metrics: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = (self.detail_metrics | self.day_total_metrics) - set(METRICS)
        if unknown:
            raise ValueError(f"unknown usage fact metrics: {', '.join(sorted(unknown))}")

    def reports(self, product: str, metric: str) -> bool:
        """Whether ``product``'s facts can hold ``metric`` (see ``product_metrics``)."""
        metrics = self.product_metrics.get(product)
        return metrics is None or metric in metrics

    def reported(self, *, split: bool) -> frozenset[str]:
        """The metrics a reader can show: split by model or surface, detail facts only."""
        return self.detail_metrics if split else self.detail_metrics | self.day_total_metrics

    def label(self, path: str) -> str | None:
        """The public name of the field at ``path`` (``"requests.edit"``), None if hidden."""
        return self.labels.get(path, path.rpartition(".")[2])


# The metrics every detail fact derived from usage events holds (see the sync's rebuild).
EVENT_DETAIL_METRICS = frozenset(
    {
        "requests", "requests_included", "requests_usage_based", "requests_api_key",
        "requests_errored", "requests_premium", "input_tokens", "output_tokens",
        "cache_read_tokens", "cache_write_tokens", "cost_cents_e6", "included_cents_e6",
        "usage_based_cents_e6",
    }
)  # fmt: skip
