"""Fault injection over real HTTP: each fault kind reaches the client as it would in production."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest

from tests.support.live import serve
from unimeter.connectors.cursor.simulator import Fault, create_app

from .conftest import client_for, make_sim


def _outcome(client: httpx.Client) -> str:
    try:
        response = client.post("/teams/filtered-usage-events", json={"pageSize": 5})
    except httpx.ReadTimeout:
        return "slow"
    except (httpx.RemoteProtocolError, httpx.ReadError):
        return "drop"
    if response.status_code != 200:
        return str(response.status_code)
    try:
        response.json()
    except json.JSONDecodeError:
        return "truncate"
    return "ok"


def _run(seed: int, requests: int) -> list[str]:
    sim = make_sim(seed=seed, fault_rate=0.8, slow_seconds=1.0)
    with serve(create_app(sim)) as base_url:
        timeout = httpx.Timeout(5.0, read=0.25)
        outcomes = []
        for _ in range(requests):
            # A fresh connection per request, so a dropped one cannot poison the next.
            with httpx.Client(base_url=base_url, auth=(sim.keys[0], ""), timeout=timeout) as client:
                outcomes.append(_outcome(client))
    return outcomes


def test_every_fault_kind_is_produced_and_reproducible() -> None:
    outcomes = _run(seed=3, requests=60)
    seen = Counter(outcomes)
    for kind in ("ok", "500", "502", "503", "drop", "slow", "truncate"):
        assert seen[kind] > 0, (kind, seen)
    assert _run(seed=3, requests=25) == outcomes[:25], "faults are deterministic from the seed"


def test_no_faults_by_default() -> None:
    sim = make_sim()
    with (
        serve(create_app(sim)) as base_url,
        httpx.Client(base_url=base_url, auth=(sim.keys[0], "")) as client,
    ):
        assert {_outcome(client) for _ in range(30)} == {"ok"}


# (fault, status, body or None for a body that is not JSON, Retry-After)
FORCED = [
    (Fault.UNAUTHORIZED, 401, {"error": "Unauthorized", "message": "Invalid API key"}, None),
    (
        Fault.FORBIDDEN,
        403,
        {"error": "Forbidden", "message": "Enterprise access required"},
        None,
    ),
    (
        Fault.NOT_FOUND,
        404,
        {"error": "Not Found", "message": "Not Found: /teams/members"},
        None,
    ),
    # Cursor's Retry-After is one minute: here a 2-second simulated minute.
    (Fault.RATE_LIMITED, 429, {"code": "error", "message": "Rate limit exceeded"}, "2"),
    (
        Fault.SERVER_ERROR,
        500,
        {"error": "Internal Server Error", "message": "An unexpected error occurred"},
        None,
    ),
    (Fault.BAD_GATEWAY, 502, None, None),
    (Fault.NOT_JSON, 200, None, None),
]


@pytest.mark.parametrize(("fault", "status", "body", "retry_after"), FORCED)
async def test_a_forced_fault_answers_every_request_in_cursors_shape(
    fault: Fault, status: int, body: dict[str, str] | None, retry_after: str | None
) -> None:
    sim = make_sim(force_fault=fault, minute_seconds=2.0)
    async with client_for(sim) as client:
        answers = [await client.get("/teams/members") for _ in range(3)]
    for response in answers:
        assert response.status_code == status
        assert response.headers.get("retry-after") == retry_after
        if body is None:
            assert response.headers["content-type"].startswith("text/html")
            with pytest.raises(json.JSONDecodeError):
                response.json()
        else:
            assert response.json() == body
    assert sim.faults.injected[fault] == 3


async def test_a_forced_fault_comes_after_authentication_and_can_be_lifted() -> None:
    sim = make_sim(force_fault=Fault.UNAVAILABLE)
    async with client_for(sim, key="crsr_unknown") as stranger:
        assert (await stranger.get("/teams/members")).json()["message"] == "Invalid API key"
    async with client_for(sim) as client:
        unavailable = await client.get("/teams/members")
        assert (unavailable.status_code, unavailable.headers["retry-after"]) == (503, "1")
        sim.faults.forced = None
        assert (await client.get("/teams/members")).status_code == 200
