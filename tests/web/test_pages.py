"""The dashboard over HTTP on both backends: sign-in, every page, CSRF, isolation, CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import httpx

from tests.support.api import KEYS, ApiWorld, api_world
from tests.support.world import NOW_MS, make_sim
from unimeter.sync.service import sync_account
from unimeter.web import pages, service
from unimeter.web.charts import Chart, Series, fmt

DAY_MS = 86_400_000
PAGES = ("", "/seats", "/consumption?days=7", "/adoption", "/audit", "/anomalies", "/accounts",
         "/webhooks", "/notifications")  # fmt: skip


async def sign_in(api: ApiWorld, env: str = "default") -> httpx.Response:
    return await api.client.post("/app/login", data={"token": api.tokens[env]})


async def test_every_page_answers_for_a_signed_in_token(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        assert (await api.client.get("/app/seats")).headers["location"] == "/app/login"
        signed = await sign_in(api)
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/app" in cookie
        for path in PAGES:
            response = await api.client.get("/app" + path)
            assert response.status_code == 200, path
            assert "script-src 'self'" in response.headers["content-security-policy"]
            assert api.accounts["default"] in response.text
            assert api.accounts["other"] not in response.text, "another environment's account"


async def test_pages_show_an_earlier_day_when_asked(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        await sign_in(api)
        account = api.accounts["default"]
        today = (await api.get("/analytics/seats", integrated_account_id=account)).json()
        day = (dt.date.fromisoformat(today["as_of"]) - dt.timedelta(days=20)).isoformat()
        then = (await api.get("/analytics/seats", integrated_account_id=account, as_of=day)).json()
        page = await api.client.get("/app/seats", params={"account": account, "as_of": day})
        assert page.status_code == 200
        assert f"as of {day}" in page.text
        assert f'data-metric="active_7d" data-value="{then["active_7d"]}"' in page.text
        assert f'href="/app/consumption?account={account}&amp;as_of={day}"' in page.text
        assert 'id="as_of" name="as_of" type="text"' in page.text, "ISO text, not the locale's"
        assert f'value="{day}"' in page.text and 'placeholder="YYYY-MM-DD"' in page.text
        for junk, why in (("2026-13-45", "not a date"), ("12/04/2026", "not a date"),
                          ("20260412", "not a date"), ("9999-01-01", "after today"),
                          ("0001-01-01", "outside")):  # fmt: skip
            shown = await api.client.get("/app/seats", params={"account": account, "as_of": junk})
            assert shown.status_code == 200 and f"as of {today['as_of']}" in shown.text, junk
            assert why in shown.text and 'role="status"' in shown.text, junk
        plain = await api.client.get("/app/seats", params={"account": account})
        assert 'role="status"' not in plain.text


async def test_forms_need_the_csrf_token_and_our_origin(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        await sign_in(api)
        page = (await api.client.get("/app/anomalies")).text
        token = page.split('name="csrf" value="')[1].split('"')[0]
        forged = await api.client.post("/app/logout", data={"csrf": "0" * 64})
        assert forged.status_code == 403
        elsewhere = await api.client.post(
            "/app/logout", data={"csrf": token}, headers={"Origin": "https://evil.example"}
        )
        assert elsewhere.status_code == 403
        assert (await api.client.get("/app")).status_code == 200, "still signed in"
        account = api.accounts["default"]
        synced = await api.client.post(f"/app/accounts/{account}/sync", data={"csrf": token})
        assert synced.status_code == 303
        runs = (await api.get("/sync-runs", integrated_account_id=account)).json()["result"]
        assert runs[0]["trigger"] == "dashboard" and runs[0]["status"] == "queued"
        foreign = await api.client.post(
            f"/app/accounts/{api.accounts['other']}/sync", data={"csrf": token}
        )
        assert foreign.status_code == 404
        price_url = f"/app/seats/price?account={account}"
        bad = await api.client.post(price_url, data={"csrf": token, "seat_price": "forty"})
        assert bad.status_code == 400 and "Seat price: not an amount" in bad.text
        assert (await api.get("/analytics/settings", integrated_account_id=account)).json()[
            "seat_price"
        ] is None, "a refused price changes nothing"
        saved = await api.client.post(price_url, data={"csrf": token, "seat_price": "$40"})
        assert saved.status_code == 303
        settings = (await api.get("/analytics/settings", integrated_account_id=account)).json()
        assert settings["seat_price"] == {"amount": "40", "currency": "USD"}
        seats = (await api.get("/analytics/seats", integrated_account_id=account)).json()
        assert seats["reclaimable"]["monthly"]["amount"] == str(40 * seats["reclaimable"]["seats"])
        out = await api.client.post("/app/logout", data={"csrf": token})
        assert out.status_code == 303 and out.headers["location"] == "/app/login"
        assert (await api.client.get("/app")).status_code == 303


async def test_a_bad_or_foreign_token_sees_nothing(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        planted = await api.client.post(
            "/app/login", data={"token": api.tokens["default"]},
            headers={"Origin": "https://evil.example"},
        )  # fmt: skip
        assert planted.status_code == 403 and "set-cookie" not in planted.headers
        refused = await api.client.post("/app/login", data={"token": "umk_nope"})
        assert refused.status_code == 401 and "not valid" in refused.text
        assert "unimeter_session" not in refused.headers.get("set-cookie", "")
        await sign_in(api, "other")
        foreign = api.accounts["default"]
        for path in ("/app/seats", "/app/charts/top-users.csv"):
            response = await api.client.get(path, params={"account": foreign})
            assert response.status_code == 404, path
            assert foreign not in response.text


async def test_chart_csv_holds_the_figures_of_the_api(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        await sign_in(api)
        account = api.accounts["default"]
        response = await api.client.get(
            "/app/charts/model-spend.csv", params={"account": account, "days": 30}
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        end = (await api.get("/analytics/seats", integrated_account_id=account)).json()["as_of"]
        body = (
            await api.get(
                "/analytics/consumption", integrated_account_id=account, granularity="total",
                end_date=_next_day(end), **{"group_by[]": "model"},
            )
        ).json()  # fmt: skip
        assert {r["model"]: r["charged"] for r in rows} == {
            r["model"]: r["cost"]["charged"] for r in body["result"]
        }
        unknown = await api.client.get("/app/charts/nope.csv", params={"account": account})
        assert unknown.status_code == 404


async def test_a_tenant_with_several_workspaces_is_viewed_as_a_whole(
    database_url: str, data_dir: Path
) -> None:
    spare = "crsr_" + "3" * 64
    sim = make_sim(api_keys=(*KEYS, spare))
    async with api_world(database_url, data_dir, sim=sim) as api:
        second = await api.world.link(spare, tenant_id="tenant-default", environment="default")
        await sync_account(api.world.runtime, second)
        await sign_in(api)
        whole = (await api.get("/analytics/seats", tenant_id="tenant-default")).json()
        one = (await api.get("/analytics/seats", integrated_account_id=second)).json()
        picker = await api.client.get("/app/seats")
        assert (
            '<option value="tenant:tenant-default" >All of tenant tenant-default' in (picker.text)
            or 'value="tenant:tenant-default"' in picker.text
        )
        page = await api.client.get("/app/seats", params={"account": "tenant:tenant-default"})
        assert page.status_code == 200
        assert f'data-metric="provisioned" data-value="{whole["provisioned"]}"' in page.text
        assert whole["provisioned"] > one["provisioned"], "both workspaces are counted"
        assert 'name="seat_price"' not in page.text, "a price is set per workspace"
        refused = await api.client.post(
            "/app/seats/price?account=tenant:tenant-default",
            data={"csrf": _csrf(page.text), "seat_price": "40"},
        )
        assert refused.status_code == 400 and "choose it first" in refused.text
        elsewhere = await api.client.get("/app/seats", params={"account": "tenant:tenant-other"})
        assert elsewhere.status_code == 404, "another environment's tenant"


def _csrf(html: str) -> str:
    return html.split('name="csrf" value="')[1].split('"')[0]


def _next_day(day: str) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


def test_charts_escape_labels_and_keep_exact_values() -> None:
    chart = Chart(
        "x", "Spend <by> team", ["<script>", "b&c"], [Series("charged", [1, 2])],
        unit="$", kind="bars", label_header="team",
    )  # fmt: skip
    svg = chart.svg()
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "b&amp;c" in svg
    assert chart.csv() == "team,charged\n<script>,1\nb&c,2\n"
    assert Chart("y", "empty", [], [Series("s", [])]).svg().startswith("<p")
    assert fmt(1_234_567) == "1.2M" and fmt("1234.5", "$") == "$1,234.50"  # type: ignore[arg-type]


async def test_anomalies_read_as_multiples_and_dollars(database_url: str, data_dir: Path) -> None:
    sim = make_sim(api_keys=KEYS)
    truth = sim.truth(KEYS[0])
    seated = {m.email for m in truth.members() if m.removed_ms is None}
    counts = Counter(e.email for e in truth.events() if e.email in seated)
    victim = max(sorted(counts), key=lambda email: counts[email])
    spike_day = (NOW_MS // DAY_MS - 1) * DAY_MS
    sim.inject_spike(KEYS[0], victim, spike_day, factor=20)
    async with api_world(database_url, data_dir, sim=sim) as api:
        await sign_in(api)
        account = api.accounts["default"]
        found = (await api.get("/analytics/anomalies", integrated_account_id=account)).json()
        html = (await api.client.get("/app/anomalies", params={"account": account})).text
        spike = next(a for a in found["result"] if a["kind"] == "cost_spike")
        row = html.split(f'<tr id="{spike["id"]}"')[1].split("</tr>")[0]
        usage = row.split('class="usage" href="')[1].split('"')[0].replace("&amp;", "&")
        person = await api.client.get(usage)
        day = spike["day"]
        theirs = await api.get(
            "/analytics/consumption", integrated_account_id=account, granularity="total",
            start_date=(dt.date.fromisoformat(day) - dt.timedelta(days=6)).isoformat(),
            end_date=_next_day(day), **{"emails[]": victim, "group_by[]": "user"},
        )  # fmt: skip
    for raw in ("robust", "None", "metric", "cost_mad", "e+", "0000000"):
        assert raw not in row, raw
    multiple = spike["details"]["multiple"]
    shown = f"{multiple:,.0f}" if multiple >= 10 else f"{multiple:.1f}".removesuffix(".0")
    assert f'<strong class="multiple">{shown}\u00d7 the usual spend</strong>' in row
    excess = Decimal(spike["details"]["excess_cost"])
    assert (
        f"+${excess:,.2f}</span> over the usual ${Decimal(spike['details']['usual_cost']):,.2f}"
        in row
    )
    assert f"<td>{victim}</td>" in row and '<td class="model"></td>' in row, "no model: blank"
    assert person.status_code == 200 and f'<span id="user">{victim}</span>' in person.text
    total = theirs.json()["totals"]["cost"]["charged"]
    assert f'data-metric="charged" data-value="{total}"' in person.text, "their 7 days to the day"
    assert 'id="chart-team-spend"' not in person.text
    csv_link = person.text.split('<a class="csv" href="')[1].split('"')[0].replace("&amp;", "&")
    assert f"user={victim}".replace("@", "%40") in csv_link, "charts download the same rows"


def test_multiples_are_rounded_for_people() -> None:
    assert service.times(67.36) == "67\u00d7 the usual"
    assert service.times(1234.4) == "1,234\u00d7 the usual"
    assert (
        service.times(3.46) == "3.5\u00d7 the usual" and service.times(3.0) == "3\u00d7 the usual"
    )
    assert service.times(None) == "new (usually none)"
    assert service.signed_dollars("-1234.5") == "-$1,234.50"
    assert service.signed_dollars("0.004") == "+$0.00"


async def test_audit_evidence_reads_as_money_and_minutes(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        await sign_in(api)
        account = api.accounts["default"]
        body = (await api.get("/analytics/audit", integrated_account_id=account)).json()
        html = (await api.client.get("/app/audit", params={"account": account})).text
    late = [f for f in body["result"] if f["type"] == "usage_after_removal"]
    assert late, "the simulated team bills removed members"
    table = html.split('id="findings"')[1]
    for f in late:
        charged, removed = f["evidence"]["charged"], f["evidence"]["removed_at"]
        assert f"<dd>${Decimal(charged):,.2f}</dd>" in table
        assert f"<dd>{removed[:10]} {removed[11:16]} UTC</dd>" in table
    assert "None" not in table and "000Z" not in table


def test_missing_evidence_is_a_dash() -> None:
    assert (
        pages._evidence("team", None) == "\u2014" and pages._evidence("valid_from", "") == "\u2014"
    )
    assert pages._evidence("events", 28) == "28" and pages._evidence("role", "owner") == "owner"


def test_a_seat_without_a_role_shows_a_dash() -> None:
    seat = {"email": "a@x.test", "name": None, "role": None, "last_active": None, "days_idle": None}
    seats = {
        "as_of": "2026-03-01", "provisioned": 1, "active_7d": 0, "active_30d": 0,
        "utilization_7d": 0.0, "utilization_30d": 0.0, "idle": [], "never_used": [seat],
        "reclaimable": {"seats": 1, "priced_seats": 0, "monthly": None},
    }  # fmt: skip
    ctx = SimpleNamespace(
        tenant=None, query="account=acc_1", selection="acc_1", accounts=[], tenants=[],
        today="2026-03-01", principal=SimpleNamespace(environment_name="default"),
    )  # fmt: skip
    chart = Chart("seat-status", "Seats", [], [Series("seats", [])])
    html = pages.TEMPLATES.get_template("seats.html").render(
        ctx=ctx, seats=seats, charts={"seat-status": chart}, query="", csrf="", nav=(),
        price=None,
    )  # fmt: skip
    row = html.split('id="idle-seats"')[1].split("</tr>")[1]
    assert "None" not in row and "<td>\u2014</td>" in row and "never" in row
