"""Authentication, the admin-key check, revocation, rate limits and injected faults."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from unimeter.connectors.anthropic.simulator import Fault, SimulatedAnthropic

from .conftest import BASE, client_for, make_sim


def _kind(response: httpx.Response) -> str:
    kind: str = response.json()["error"]["type"]
    return kind


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "sk-ant-admin01-unknown"}, {"Authorization": "Basic abc"}],
)
async def test_missing_or_unknown_keys_are_401(
    sim: SimulatedAnthropic, headers: dict[str, str]
) -> None:
    async with client_for(sim, "") as client:
        response = await client.get(f"{BASE}/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == {
        "type": "authentication_error",
        "message": "invalid x-api-key",
    }
    assert response.headers["request-id"].startswith("req_")


async def test_a_bearer_token_works_like_x_api_key(sim: SimulatedAnthropic) -> None:
    async with client_for(sim, "") as client:
        response = await client.get(
            f"{BASE}/me", headers={"Authorization": f"Bearer {sim.keys[0]}"}
        )
    assert response.status_code == 200


async def test_anthropic_version_is_not_required(sim: SimulatedAnthropic) -> None:
    async with client_for(sim) as client:
        del client.headers["anthropic-version"]
        assert (await client.get(f"{BASE}/me")).status_code == 200


@pytest.mark.parametrize(
    ("status", "kind"), [(403, "permission_error"), (401, "authentication_error")]
)
async def test_a_normal_api_key_is_refused_on_admin_paths(status: int, kind: str) -> None:
    sim = make_sim(non_admin_status=status)
    assert sim.non_admin_key.startswith("sk-ant-api03-")
    async with client_for(sim, sim.non_admin_key) as client:
        for path in ("/me", "/users", "/usage_report/claude_code?starting_at=2026-06-01"):
            response = await client.get(BASE + path)
            assert response.status_code == status
            assert _kind(response) == kind


async def test_a_revoked_key_answers_401_from_then_on(sim: SimulatedAnthropic) -> None:
    async with client_for(sim) as client:
        assert (await client.get(f"{BASE}/me")).status_code == 200
        sim.revoke(sim.keys[0])
        response = await client.get(f"{BASE}/me")
    assert response.status_code == 401
    assert _kind(response) == "authentication_error"
    assert sim.requests(sim.keys[0]) == 2


async def test_each_admin_key_is_its_own_organization() -> None:
    keys = ("sk-ant-admin01-" + "a" * 93, "sk-ant-admin01-" + "b" * 93)
    sim = make_sim(admin_keys=keys)
    orgs, rosters = [], []
    for key in keys:
        async with client_for(sim, key) as client:
            orgs.append((await client.get(f"{BASE}/me")).json()["id"])
            body = (await client.get(f"{BASE}/users", params={"limit": 1000})).json()
            rosters.append({u["email"] for u in body["data"]})
    assert orgs[0] != orgs[1]
    assert rosters[0].isdisjoint(rosters[1])


async def test_over_the_limit_429_with_retry_after_then_recovers() -> None:
    sim = make_sim(rate_limit_per_minute=3, minute_seconds=1.0)
    key = sim.keys[0]
    async with client_for(sim) as client:
        statuses = [(await client.get(f"{BASE}/me")).status_code for _ in range(4)]
        limited = await client.get(f"{BASE}/me")
        assert statuses[:3] == [200, 200, 200]
        assert statuses[3] == 429 and limited.status_code == 429
        assert _kind(limited) == "rate_limit_error"
        assert limited.headers["retry-after"] == "1"  # whole seconds of a 1-second minute
        assert limited.json()["request_id"] == limited.headers["request-id"]
        assert sim.rate_limited(key) == 2
        assert sim.requests(key) == 3
        deadline = time.monotonic() + 5
        while (await client.get(f"{BASE}/me")).status_code == 429:
            assert time.monotonic() < deadline, "the limit never reset"
            await _yield()


async def _yield() -> None:
    await asyncio.sleep(0.05)  # polling interval of a loop bounded by a deadline


async def _statuses(sim: SimulatedAnthropic, count: int) -> list[int]:
    async with client_for(sim) as client:
        return [(await client.get(f"{BASE}/me")).status_code for _ in range(count)]


async def test_random_faults_are_reproducible_per_seed() -> None:
    first = await _statuses(make_sim(fault_rate=0.4), 60)
    again = await _statuses(make_sim(fault_rate=0.4), 60)
    other = await _statuses(make_sim(seed=8, fault_rate=0.4), 60)
    assert first == again
    assert first != other
    assert set(first) == {200, 500, 502, 529}


@pytest.mark.parametrize(
    ("fault", "status", "kind"),
    [
        (Fault.SERVER_ERROR, 500, "api_error"),
        (Fault.OVERLOADED, 529, "overloaded_error"),
        (Fault.RATE_LIMITED, 429, "rate_limit_error"),
        (Fault.UNAUTHORIZED, 401, "authentication_error"),
        (Fault.FORBIDDEN, 403, "permission_error"),
    ],
)
async def test_forced_faults_answer_in_anthropics_shape(
    fault: Fault, status: int, kind: str
) -> None:
    sim = make_sim(force_fault=fault)
    async with client_for(sim) as client:
        response = await client.get(f"{BASE}/users")
    assert response.status_code == status
    assert _kind(response) == kind
    assert response.json()["request_id"] == response.headers["request-id"]


async def test_a_bad_gateway_is_an_html_page() -> None:
    sim = make_sim(force_fault=Fault.BAD_GATEWAY)
    async with client_for(sim) as client:
        response = await client.get(f"{BASE}/users")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["request-id"].startswith("req_")
