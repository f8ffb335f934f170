"""What Anthropic's usage facts hold, and their field names in Anthropic's words.

Detail facts (per model and surface) carry tokens and money: Claude Code's *estimated*
cost, the Claude API's cost report. Claude Code's day totals (per person and day) carry
the work counters of its analytics report; the Claude API has none.
"""

from __future__ import annotations

from unimeter.connectors.facts import FactProfile

from .mapping import CLAUDE_API, CLAUDE_CODE

DETAIL_METRICS = frozenset(
    {"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_cents_e6"}
)

DAY_TOTAL_METRICS = frozenset(
    {
        "sessions", "lines_added", "lines_removed", "commits", "pull_requests",
        "tool_actions_accepted", "tool_actions_rejected",
    }
)  # fmt: skip

# Public field names where Anthropic's own differ from the neutral ones; nothing reported
# is hidden.
LABELS: dict[str, str | None] = {
    "tokens.cache_write": "cache_creation",
    "code.tool_actions_accepted": "tool_actions_accepted",
    "code.tool_actions_rejected": "tool_actions_rejected",
    "work.commits": "commits_by_claude_code",
    "work.pull_requests": "pull_requests_by_claude_code",
}

FACTS = FactProfile(
    detail_metrics=DETAIL_METRICS,
    day_total_metrics=DAY_TOTAL_METRICS,
    labels=LABELS,
    # Claude Code's cost is Anthropic's estimate, not what it bills (the cost report is).
    estimated_charges=frozenset({CLAUDE_CODE}),
    # The Claude API reports tokens and money only: no work counters on its records.
    product_metrics={CLAUDE_CODE: DETAIL_METRICS | DAY_TOTAL_METRICS, CLAUDE_API: DETAIL_METRICS},
)
