"""The toy vendor on its own: its simulator's API shape and its connector's mapping.

The contract checks (sync, resume, truth) are in tests/connectors/conformance/."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.toyvendor.connector import ToyConnector
from tests.toyvendor.mapping import MappingError, cents_e6, usage_fact
from tests.toyvendor.simulator import Fault, SimulatedToy, ToyConfig, create_app
from tests.toyvendor.truth import ToyTruth
from unimeter.connectors.contract import Connector, ProxyRequest
from unimeter.connectors.errors import (
    CredentialsRejectedError,
    SourceAuthError,
    StreamUnavailableError,
)
from unimeter.connectors.source import Window

BASE = "http://toy.sim"


@pytest.fixture
async def vendor() -> AsyncIterator[httpx.AsyncClient]:
    sim = SimulatedToy(ToyConfig(seed=3, max_page_size=5))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sim)), base_url=BASE
    ) as http:
        http.headers.update({"Authorization": f"Bearer {sim.admin_key}",
                             "X-Organization-Id": sim.org_id})  # fmt: skip
        yield http


def _connector(sim: SimulatedToy, **kwargs: int) -> ToyConnector:
    return ToyConnector(transport=httpx.ASGITransport(app=create_app(sim)), **kwargs)


def test_the_connector_satisfies_the_protocol() -> None:
    assert isinstance(ToyConnector(), Connector)
    assert [f.secret for f in ToyConnector.credential_fields] == [True, False]


async def test_pages_follow_next_page_and_tokens_are_bound_to_their_query(
    vendor: httpx.AsyncClient,
) -> None:
    first = (await vendor.get("/v1/members", params={"limit": 100})).json()
    assert len(first["data"]) == 5  # capped silently
    second = await vendor.get("/v1/members", params={"limit": 5, "page": first["next_page"]})
    assert second.status_code == 200 and second.json()["data"][0] != first["data"][0]
    wrong = await vendor.get(
        "/v1/usage_report",
        params={"starting_on": "2026-06-01", "ending_before": "2026-06-02",
                "page": first["next_page"]},
    )  # fmt: skip
    assert wrong.status_code == 400
    assert wrong.json()["error"]["type"] == "invalid_request_error"


async def test_errors_tell_a_bad_key_from_a_non_admin_key_and_a_plan() -> None:
    sim = SimulatedToy(ToyConfig(plan="basic"))
    transport = httpx.ASGITransport(app=create_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        org = {"X-Organization-Id": sim.org_id}

        async def status(key: str, path: str = "/v1/members", **h: str) -> tuple[int, str]:
            r = await http.get(path, headers={"Authorization": f"Bearer {key}", **org, **h})
            return r.status_code, r.json()["error"]["type"]

        assert await status("nope") == (401, "authentication_error")
        assert await status(sim.admin_key, **{"X-Organization-Id": "org_other"}) == (
            401, "authentication_error"
        )  # fmt: skip
        assert await status(sim.member_key) == (403, "permission_error")
        assert await status(sim.admin_key, "/v1/audit_log?after=2026-06-01T00:00:00Z"
                            "&before=2026-06-02T00:00:00Z") == (403, "plan_error")  # fmt: skip
        sim.forced = Fault.RATE_LIMITED
        r = await http.get(
            "/v1/members", headers={"Authorization": f"Bearer {sim.admin_key}", **org}
        )
        assert r.status_code == 429 and r.headers["retry-after"] == "0"


async def test_a_429_is_retried_after_retry_after() -> None:
    sim = SimulatedToy(ToyConfig(throttle_every=2, max_page_size=3))
    connector = _connector(sim, page_size=3)
    validation = await connector.validate(sim.credentials(), BASE)
    assert validation.members == len(sim.members)
    assert sim.throttled > 0


async def test_validation_tells_invalid_from_not_admin() -> None:
    sim = SimulatedToy()
    connector = _connector(sim)
    with pytest.raises(CredentialsRejectedError) as invalid:
        await connector.validate({"api_key": "toy_sk_wrong", "organization_id": sim.org_id}, BASE)
    assert invalid.value.reason == "invalid"
    with pytest.raises(CredentialsRejectedError) as not_admin:
        await connector.validate(sim.credentials(sim.member_key), BASE)
    assert not_admin.value.reason == "not_admin"
    with pytest.raises(CredentialsRejectedError, match="organization_id"):
        await connector.validate({"api_key": sim.admin_key}, BASE)


async def test_source_maps_every_row_to_a_fact_equal_to_the_truth() -> None:
    sim = SimulatedToy(ToyConfig(seed=5, days=10, max_page_size=7))
    connector = _connector(sim)
    start = dt.datetime.combine(sim.first_day, dt.time(), tzinfo=dt.UTC)
    window = Window(int(start.timestamp() * 1000), sim.now_ms())
    facts = []
    async with connector.open_source(sim.credentials(), BASE) as source:
        async for batch in source.fetch("usage", window):
            facts.extend(batch)
        assert source.counters("usage").requests > 3  # small pages
    truth = ToyTruth(sim).facts()
    got = sorted(
        (f.day, f.user_email, f.actor, f.surface, f.model, f.metrics.get("requests"),  # type: ignore[union-attr]
         f.metrics.get("input_tokens"), f.metrics.get("cost_cents_e6"))  # type: ignore[union-attr]
        for f in facts
    )  # fmt: skip
    want = sorted(
        (t.day, t.user_email, t.actor, t.surface, t.model, t.requests, t.input_tokens,
         t.cost_cents_e6)
        for t in truth
    )  # fmt: skip
    assert got == want
    assert any(t.input_tokens is None for t in truth)  # model-less rows omit tokens


async def test_source_errors_speak_the_engine_vocabulary() -> None:
    sim = SimulatedToy(ToyConfig(plan="basic"))
    connector = _connector(sim)
    window = Window(sim.now_ms() - 86_400_000, sim.now_ms())
    async with connector.open_source(sim.credentials(), BASE) as source:
        with pytest.raises(StreamUnavailableError, match="plan_error"):
            async for _ in source.fetch("audit_log", window):
                pass
        sim.revoked.add(sim.admin_key)
        with pytest.raises(SourceAuthError):
            async for _ in source.fetch("members", None):
                pass


async def test_proxy_injects_credentials_and_answers_vendor_errors() -> None:
    sim = SimulatedToy()
    connector = _connector(sim)
    ok = await connector.proxy(
        sim.credentials(),
        BASE,
        ProxyRequest("GET", "/v1/organization", headers={"Authorization": "x"}),
    )
    assert ok.status == 200 and b'"usage_available_from"' in ok.body
    refused = await connector.proxy(sim.credentials(sim.member_key), BASE,
                                    ProxyRequest("GET", "/v1/members"))  # fmt: skip
    assert refused.status == 403


def test_dollar_strings_become_exact_cents_e6() -> None:
    assert cents_e6("0.00000001") == 1
    assert cents_e6("12.34567891") == 1_234_567_891
    with pytest.raises(MappingError):
        cents_e6("0.000000001")
    fact = usage_fact({"date": "2026-06-01", "user_email": None, "api_key_id": "key_1",
                       "model": None, "requests": 2, "input_tokens": None, "cost_usd": "0.02"})  # fmt: skip
    assert (fact.user_email, fact.actor, fact.model) == ("", "key_1", "")
    assert fact.metrics == {"requests": 2, "cost_cents_e6": 2_000_000}


def test_the_simulator_is_deterministic_from_its_seed() -> None:
    def report(seed: int) -> list[dict[str, object]]:
        sim = SimulatedToy(ToyConfig(seed=seed, days=5))
        return [r.payload() for r in sim.usage(sim.first_day, sim.today)]

    assert report(8) == report(8)
    assert report(8) != report(9)
    assert SimulatedToy(ToyConfig(seed=8)).admin_key == SimulatedToy(ToyConfig(seed=8)).admin_key
