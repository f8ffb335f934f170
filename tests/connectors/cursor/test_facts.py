"""Cursor's usage facts: a daily-usage row maps to the day total its fact profile declares,
and its labels name fields the unified records and the adoption scorecard have."""

from __future__ import annotations

from tests.connectors.cursor.test_models import DAILY
from unimeter.analytics import vendors
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.cursor.facts import FACTS
from unimeter.connectors.cursor.mapping import daily_usage_record, day_total_fact
from unimeter.connectors.cursor.models import DailyUsageResponse
from unimeter.unified import render


def test_a_daily_usage_row_is_a_day_total_of_the_declared_metrics() -> None:
    [row] = DailyUsageResponse.model_validate_json(DAILY).data
    fact = day_total_fact(daily_usage_record(row))
    assert fact.is_day_total and (fact.surface, fact.model) == ("", "")
    assert (fact.user_email, fact.day.isoformat()) == ("lee@acme.dev", "2026-05-01")
    assert fact.product == CursorConnector.products[0].id
    assert set(fact.metrics) == FACTS.day_total_metrics
    assert fact.metrics["requests"] == 40 + 2 + 0  # included + usage-based + API key
    assert (fact.metrics["edit_requests"], fact.metrics["inline_edit_requests"]) == (6, 3)
    assert (fact.metrics["completions_shown"], fact.metrics["completions_accepted"]) == (150, 97)
    assert (fact.metrics["lines_removed"], fact.metrics["accepted_lines_removed"]) == (90, 41)
    assert (fact.is_active, fact.client_version) == (True, "2.3.1")
    # What daily usage does not hold stays unknown.
    assert "input_tokens" not in fact.metrics and "cost_cents_e6" not in fact.metrics


def test_labels_name_fields_the_records_have() -> None:
    groups = {
        "requests": render.REQUEST_FIELDS, "tokens": render.TOKEN_FIELDS,
        "code": render.CODE_FIELDS, "work": render.WORK_FIELDS, "charges": render.CHARGE_FIELDS,
    }  # fmt: skip
    paths = {f"{group}.{name}" for group, fields in groups.items() for name, _ in fields}
    paths |= {"tokens.total", "activity.premium"}
    # And the adoption scorecard's keys.
    paths |= {"adoption.completion_acceptance"} | {
        f"adoption.features.{name}" for _, name in vendors.FEATURES
    }
    assert set(FACTS.labels) <= paths
    assert CursorConnector.facts is FACTS
