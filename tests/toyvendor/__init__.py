"""Toy AI: a second, deliberately different vendor that proves the connector contract.

It lives under ``tests/`` and is registered only by the tests. Its shape differs from
Cursor's on purpose: a bearer key plus an organization id, cursor-token paging, a
per-user-per-day usage report with tokens and dollar costs and no events, and a
plan-gated audit log. ``docs/connectors.md`` walks through it as the worked example.
"""
