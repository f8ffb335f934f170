"""Fault injection over real HTTP: each fault kind reaches the client as it would in production."""

from __future__ import annotations

import json
from collections import Counter

import httpx

from tests.support.live import serve
from unimeter.connectors.cursor.simulator import create_app

from .conftest import make_sim


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
