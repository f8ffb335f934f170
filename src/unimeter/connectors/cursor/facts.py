"""What Cursor's usage facts hold, and the names Cursor's unified records have always used.

Detail facts come from the usage events (requests by how they were billed, tokens, money);
the day totals from daily usage (requests by kind and feature, tabs, code). Unsplit
answers take requests from the day totals, as Cursor counts them.
"""

from __future__ import annotations

from unimeter.connectors.facts import EVENT_DETAIL_METRICS, FactProfile

DAY_TOTAL_METRICS = frozenset(
    {
        "requests", "requests_included", "requests_usage_based", "requests_api_key",
        "chat_requests", "agent_requests", "edit_requests", "inline_edit_requests",
        "review_requests", "completions_shown", "completions_accepted", "lines_added",
        "lines_removed", "accepted_lines_added", "accepted_lines_removed", "applies",
        "accepts", "rejects",
    }
)  # fmt: skip

# The public field names of Cursor accounts' records since the first release.
LABELS: dict[str, str | None] = {
    "requests.edit": "composer",
    "requests.inline_edit": "cmdk",
    "requests.review": "bugbot",
    "requests.completions_shown": "tab_shown",
    "requests.completions_accepted": "tab_accepted",
    # Kept for the analyses; Cursor's records never listed them with the requests.
    "requests.errored": None,
    "requests.premium": None,
    "activity.premium": "max_mode",
    "code.lines_removed": "lines_deleted",
    "code.accepted_lines_removed": "accepted_lines_deleted",
    # The adoption scorecard's keys: tab acceptance, and the mix of agent, chat, Composer
    # and Cmd-K requests (Bugbot reviews were never part of it).
    "adoption.completion_acceptance": "tab_acceptance",
    "adoption.features.edit": "composer",
    "adoption.features.inline_edit": "cmdk",
    "adoption.features.review": None,
}

FACTS = FactProfile(
    detail_metrics=EVENT_DETAIL_METRICS, day_total_metrics=DAY_TOTAL_METRICS, labels=LABELS
)
