"""What readers must know of Cursor's usage facts (see :class:`FactsProfile`)."""

from __future__ import annotations

from unimeter.connectors.facts import FactsProfile

PROFILE = FactsProfile(
    # Daily usage is the only source of completions (tabs), applies, accepts and requests by
    # feature; the detail facts from events leave them unknown.
    day_total_metrics=frozenset({
        "completions_shown", "completions_accepted", "applies", "accepts", "rejects",
        "lines_added", "lines_removed", "accepted_lines_added", "accepted_lines_removed",
        "agent_requests", "chat_requests", "edit_requests", "inline_edit_requests",
        "review_requests",
    }),
    # Cursor's customers know completions as tabs, edits as Composer and inline edits as
    # Cmd-K; Bugbot reviews were never part of the mix.
    completion_acceptance="tab_acceptance",
    feature_mix=(
        ("agent_requests", "agent"), ("chat_requests", "chat"), ("edit_requests", "composer"),
        ("inline_edit_requests", "cmdk"),
    ),
)  # fmt: skip
