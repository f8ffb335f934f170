"""The Enterprise families over real HTTP, as a client pointed at the simulator sees them."""

from __future__ import annotations

import csv
import io

import httpx

from tests.support.live import serve
from unimeter.connectors.cursor.simulator import create_app

from .conftest import make_sim


def test_csv_etag_and_bearer_over_a_socket() -> None:
    sim = make_sim()
    key = sim.keys[0]
    with serve(create_app(sim)) as base_url, httpx.Client(base_url=base_url) as client:
        exported = client.get("/analytics/ai-code/commits.csv", auth=(key, ""))
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        listed = client.get(
            "/analytics/ai-code/commits", params={"pageSize": "1000"}, auth=(key, "")
        ).json()
        assert [r["commit_hash"] for r in rows] == [c["commitHash"] for c in listed["items"]]
        tag = exported.headers["etag"]
        again = client.get(
            "/analytics/ai-code/commits.csv", auth=(key, ""), headers={"If-None-Match": tag}
        )
        assert again.status_code == 304 and again.content == b""
        agents = client.get("/v1/agents", headers={"Authorization": f"Bearer {key}"})
        assert agents.status_code == 200 and agents.json()["items"]
