"""The dashboard in headless Chromium: every page, its numbers against the analytics API,
sign-in and sign-out, environment isolation, acknowledging an anomaly, CSV downloads and a
narrow window. Screenshots of every page go to the artifacts folder."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import ConsoleWatch, screenshot
from tests.web.conftest import WEBHOOK_URL, Dashboard

# One server per test process: every test here shares it.
pytestmark = pytest.mark.xdist_group("dashboard")

PAGES = (
    "",
    "/seats",
    "/consumption",
    "/adoption",
    "/audit",
    "/anomalies",
    "/accounts",
    "/webhooks",
)


@contextmanager
def signed_in(
    chromium: Any, dash: Dashboard, env: str = "default", **context: Any
) -> Iterator[tuple[Any, ConsoleWatch]]:
    ctx = chromium.new_context(accept_downloads=True, **context)
    page = ctx.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    page.goto(dash.base + "/app/login")
    page.fill("#token", dash.tokens[env])
    page.click("button[type=submit]")
    page.wait_for_url(dash.base + "/app")
    try:
        yield page, watch
    finally:
        ctx.close()


def metric(page: Any, name: str) -> str:
    value: str = page.get_attribute(f'[data-metric="{name}"]', "data-value")
    return value


def today(dash: Dashboard) -> dt.date:
    return dt.date.fromisoformat(
        dash.api("/analytics/seats", integrated_account_id=acc(dash))["as_of"]
    )


def acc(dash: Dashboard, env: str = "default") -> str:
    return dash.accounts[env]


def last_days(dash: Dashboard, days: int) -> dict[str, str]:
    end = today(dash) + dt.timedelta(days=1)
    return {"start_date": (end - dt.timedelta(days=days)).isoformat(), "end_date": end.isoformat()}


def test_every_page_loads_without_console_errors(chromium: Any, dashboard: Dashboard) -> None:
    with signed_in(chromium, dashboard, viewport={"width": 1280, "height": 900}) as (page, watch):
        for path in PAGES:
            response = page.goto(f"{dashboard.base}/app{path}?account={acc(dashboard)}")
            assert response.status == 200, path
            assert page.locator("nav.tabs a[aria-current=page]").count() == 1
            screenshot(page, "dashboard-" + (path.strip("/") or "overview"))
        assert watch.errors == []


def test_overview_and_seats_show_the_api_numbers(chromium: Any, dashboard: Dashboard) -> None:
    seats = dashboard.api("/analytics/seats", integrated_account_id=acc(dashboard))
    spend = dashboard.api(
        "/analytics/consumption", integrated_account_id=acc(dashboard), granularity="total",
        **{"group_by[]": "user"}, **last_days(dashboard, 30),
    )["totals"]  # fmt: skip
    open_anomalies = dashboard.api(
        "/analytics/anomalies", integrated_account_id=acc(dashboard), status="open"
    )["result"]
    with signed_in(chromium, dashboard) as (page, watch):
        assert metric(page, "provisioned") == str(seats["provisioned"])
        assert metric(page, "active_30d") == str(seats["active_30d"])
        assert metric(page, "spend") == spend["cost"]["charged"]
        assert metric(page, "tokens") == str(spend["tokens"]["total"])
        assert metric(page, "open_anomalies") == str(len(open_anomalies))
        shown = page.inner_text('[data-metric="spend"]')
        assert shown == f"${Decimal(spend['cost']['charged']):,.2f}"

        page.goto(f"{dashboard.base}/app/seats?account={acc(dashboard)}")
        for name in ("provisioned", "active_7d", "active_30d"):
            assert metric(page, name) == str(seats[name]), name
        assert metric(page, "idle") == str(len(seats["idle"]))
        assert metric(page, "never_used") == str(len(seats["never_used"]))
        listed = page.locator("#idle-seats tbody tr td:first-child").all_inner_texts()
        expected = [s["email"] for s in seats["idle"] + seats["never_used"]]
        assert sorted(listed) == sorted(expected) or (not expected and len(listed) == 1)
        assert watch.errors == []


def test_consumption_matches_the_api_and_sorts(chromium: Any, dashboard: Dashboard) -> None:
    body = dashboard.api(
        "/analytics/consumption", integrated_account_id=acc(dashboard), granularity="total",
        top=20, **{"group_by[]": "user"}, **last_days(dashboard, 90),
    )  # fmt: skip
    with signed_in(chromium, dashboard) as (page, watch):
        page.goto(f"{dashboard.base}/app/consumption?account={acc(dashboard)}&days=90")
        totals = body["totals"]
        for name in ("charged", "included", "usage_based"):
            assert metric(page, name) == totals["cost"][name], name
        assert metric(page, "tokens") == str(totals["tokens"]["total"])
        assert metric(page, "events") == str(totals["events"])
        rows = page.locator("#top-users tbody tr")
        shown = {
            rows.nth(i).get_attribute("data-email"): rows.nth(i)
            .locator("td.charged")
            .get_attribute("data-value")
            for i in range(rows.count())
        }
        assert shown == {r["user_email"]: r["cost"]["charged"] for r in body["result"]}

        page.click("#top-users th:nth-child(5)")  # Charged, ascending
        page.click("#top-users th:nth-child(5)")  # then descending
        values = [Decimal(v) for v in page.locator("#top-users td.charged").evaluate_all(
            "cells => cells.map(c => c.dataset.value)"
        )]  # fmt: skip
        assert values == sorted(values, reverse=True) and len(values) == len(body["result"])
        assert watch.errors == []


def test_every_chart_downloads_as_csv(chromium: Any, dashboard: Dashboard) -> None:
    with signed_in(chromium, dashboard) as (page, watch):
        page.goto(f"{dashboard.base}/app/consumption?account={acc(dashboard)}&days=30")
        links = page.locator("a.csv")
        assert links.count() == 4
        with page.expect_download() as download:
            page.click("#chart-daily-spend a.csv")
        lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
        assert lines[0] == "day,included,usage-based"
        charged = sum((Decimal(x) for line in lines[1:] for x in line.split(",")[1:]), Decimal(0))
        assert str(charged.normalize()) == str(Decimal(metric(page, "charged")).normalize())
        for chart_id in ("daily-tokens", "model-spend", "team-spend"):
            response = page.request.get(
                f"{dashboard.base}/app/charts/{chart_id}.csv?account={acc(dashboard)}&days=30"
            )
            assert response.status == 200 and response.text().count("\n") >= 2, chart_id
        assert watch.errors == []


def test_adoption_audit_and_accounts_match_the_api(chromium: Any, dashboard: Dashboard) -> None:
    adoption = dashboard.api("/analytics/adoption", integrated_account_id=acc(dashboard))
    audit = dashboard.api("/analytics/audit", integrated_account_id=acc(dashboard))
    with signed_in(chromium, dashboard) as (page, watch):
        page.goto(f"{dashboard.base}/app/adoption?account={acc(dashboard)}")
        for row in adoption["result"]:
            cell = page.locator(f'#scorecards tr[data-team="{row["team"] or ""}"] td.mau')
            assert cell.get_attribute("data-value") == str(row["mau"])
        page.goto(f"{dashboard.base}/app/audit?account={acc(dashboard)}")
        for name, count in audit["counts"].items():
            # A kind that could not be checked (no directory upload) has no value, not 0.
            assert metric(page, name) == ("" if count is None else str(count)), name
        assert page.locator("#findings tbody tr[data-type]").count() == len(audit["result"])
        page.goto(f"{dashboard.base}/app/accounts?account={acc(dashboard)}")
        assert page.locator(f"section.account#{acc(dashboard)}").count() == 1
        assert "succeeded" in page.inner_text(f"section.account#{acc(dashboard)}")
        hook = dashboard.api("/webhooks")["result"][0]
        sent = dashboard.api(f"/webhooks/{hook['id']}/deliveries")["result"]
        page.goto(f"{dashboard.base}/app/webhooks?account={acc(dashboard)}")
        section = page.locator(f"section.webhook#{hook['id']}")
        assert WEBHOOK_URL in section.inner_text()
        shown = section.locator("tbody tr[data-status]").evaluate_all(
            "rows => rows.map(r => r.cells[1].textContent)"
        )
        assert shown == [d["event_type"] for d in sent[:10]] and shown, "its deliveries"
        assert watch.errors == []


def test_an_anomaly_can_be_acknowledged(chromium: Any, dashboard: Dashboard) -> None:
    found = dashboard.api("/analytics/anomalies", integrated_account_id=acc(dashboard))["result"]
    assert found, "the planted spike was detected"
    target = found[0]["id"]
    with signed_in(chromium, dashboard) as (page, watch):
        page.goto(f"{dashboard.base}/app/anomalies?account={acc(dashboard)}")
        ids = page.locator("#anomalies tbody tr[data-status]").evaluate_all(
            "rows => rows.map(r => r.id)"
        )
        assert ids == [a["id"] for a in found]
        page.click(f'tr[id="{target}"] button:has-text("Acknowledge")')
        page.wait_for_selector(f'tr[id="{target}"][data-status="acknowledged"]')
        screenshot(page, "dashboard-anomaly-acknowledged")
        assert watch.errors == []
    after = dashboard.api(f"/analytics/anomalies/{target}")
    assert after["status"] == "acknowledged"


def test_sign_in_rejects_bad_tokens_and_sign_out_ends_the_session(
    chromium: Any, dashboard: Dashboard
) -> None:
    ctx = chromium.new_context()
    page = ctx.new_page()
    page.goto(dashboard.base + "/app/seats")
    assert page.url == dashboard.base + "/app/login", "signed-out visitors are sent to sign in"
    page.fill("#token", "umk_not-a-real-token")
    page.click("button[type=submit]")
    assert "not valid" in page.inner_text("[role=alert]")
    screenshot(page, "dashboard-sign-in")
    page.fill("#token", dashboard.tokens["default"])
    page.click("button[type=submit]")
    page.wait_for_url(dashboard.base + "/app")
    cookie = next(c for c in ctx.cookies() if c["name"] == "unimeter_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.click("form.signout button")
    page.wait_for_url(dashboard.base + "/app/login")
    page.goto(dashboard.base + "/app")
    assert page.url == dashboard.base + "/app/login"
    ctx.close()


def test_a_form_without_the_csrf_token_is_refused(chromium: Any, dashboard: Dashboard) -> None:
    found = dashboard.api("/analytics/anomalies", integrated_account_id=acc(dashboard))["result"]
    with signed_in(chromium, dashboard) as (page, _):
        response = page.request.post(
            f"{dashboard.base}/app/anomalies/{found[-1]['id']}",
            form={"status": "resolved", "csrf": "forged"},
        )
        assert response.status == 403
    after = dashboard.api(f"/analytics/anomalies/{found[-1]['id']}")
    assert after["status"] == found[-1]["status"]


def test_another_environment_sees_nothing(chromium: Any, dashboard: Dashboard) -> None:
    with signed_in(chromium, dashboard, env="other") as (page, _):
        options = page.locator("#account option").evaluate_all("o => o.map(x => x.value)")
        assert options == [acc(dashboard, "other")]
        response = page.goto(f"{dashboard.base}/app/seats?account={acc(dashboard)}")
        assert response.status == 404
        assert acc(dashboard) not in page.content()
        response = page.goto(f"{dashboard.base}/app/charts/top-users.csv?account={acc(dashboard)}")
        assert response.status == 404
        page.goto(f"{dashboard.base}/app/webhooks")
        assert WEBHOOK_URL not in page.content()


@pytest.mark.parametrize("path", ["", "/seats", "/consumption"])
def test_pages_fit_a_narrow_window(chromium: Any, dashboard: Dashboard, path: str) -> None:
    with signed_in(chromium, dashboard, viewport={"width": 390, "height": 844}) as (page, watch):
        page.goto(f"{dashboard.base}/app{path}?account={acc(dashboard)}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the page scrolls sideways by {overflow}px"
        screenshot(page, "dashboard-narrow-" + (path.strip("/") or "overview"))
        assert watch.errors == []


def test_the_date_picker_shows_iso_days(chromium: Any, dashboard: Dashboard) -> None:
    # A US locale: a type=date input would show 12/04/2026 whatever the page's lang.
    with signed_in(chromium, dashboard, locale="en-US") as (page, watch):
        page.goto(f"{dashboard.base}/app/seats?account={acc(dashboard)}")
        assert page.input_value("#as_of") == today(dashboard).isoformat()
        assert page.get_attribute("#as_of", "type") == "text"
        earlier = (today(dashboard) - dt.timedelta(days=20)).isoformat()
        page.fill("#as_of", "12/04/2026")
        assert not page.evaluate("document.querySelector('#as_of').checkValidity()")
        page.fill("#as_of", earlier)
        page.click("form.picker button[type=submit]")
        page.wait_for_url(f"**as_of={earlier}**")
        assert page.input_value("#as_of") == earlier
        assert f"as of {earlier}" in page.inner_text("main")
        page.goto(f"{dashboard.base}/app/seats?account={acc(dashboard)}&as_of=12/04/2026")
        assert "YYYY-MM-DD" in page.inner_text("[role=status]")
        assert watch.errors == []


def test_anomalies_show_no_internals(chromium: Any, dashboard: Dashboard) -> None:
    found = dashboard.api("/analytics/anomalies", integrated_account_id=acc(dashboard))["result"]
    with signed_in(chromium, dashboard) as (page, watch):
        page.goto(f"{dashboard.base}/app/anomalies?account={acc(dashboard)}")
        text = page.inner_text("#anomalies")
        for raw in ("None", "robust", "metric", "mad"):
            assert raw not in text, raw
        for a in found:
            row = page.locator(f'tr[id="{a["id"]}"]')
            assert "\u00d7 the usual" in row.inner_text()
            assert row.locator(".impact").get_attribute("data-value") == a["details"]["excess_cost"]
        page.click(f'tr[id="{found[0]["id"]}"] a.usage')
        page.wait_for_url("**/app/consumption?**")
        assert page.inner_text("#user") == found[0]["user_email"]
        rows = page.locator("#top-users tbody tr[data-email]").evaluate_all(
            "rows => rows.map(r => r.dataset.email)"
        )
        assert rows == [found[0]["user_email"]]
        earlier = (dt.date.fromisoformat(found[0]["day"]) - dt.timedelta(days=3)).isoformat()
        page.fill("#as_of", earlier)
        page.click("form.picker button[type=submit]")
        page.wait_for_url(f"**as_of={earlier}**")
        assert page.inner_text("#user") == found[0]["user_email"], "another day, same person"
        assert watch.errors == []
