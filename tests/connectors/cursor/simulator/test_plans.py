"""Plan gates: a team without Enterprise gets Cursor's 403 on the Enterprise-only endpoints."""

from __future__ import annotations

import pytest

from unimeter.connectors.cursor.simulator import SimulatorConfig

from .conftest import NOW_MS, client_for, make_sim

DAY = 86_400_000
ENTERPRISE_REQUIRED = {"error": "Forbidden", "message": "Enterprise access required"}
WINDOW = {"startDate": NOW_MS - 7 * DAY, "endDate": NOW_MS}

# (method, path, JSON body or None)
OPEN_TO_EVERY_PLAN = [
    ("GET", "/teams/members", None),
    ("POST", "/teams/daily-usage-data", WINDOW),
    ("POST", "/teams/spend", {}),
    ("POST", "/teams/filtered-usage-events", WINDOW),
]
ENTERPRISE_ONLY = [
    ("GET", "/teams/audit-logs", None),
    ("GET", "/teams/groups", None),
    ("GET", "/teams/groups/group_unassigned", None),
    ("POST", "/teams/user-spend-limit", {"userEmail": "a@b.c", "hardLimitDollars": 5}),
    ("POST", "/teams/remove-member", {"email": "a@b.c"}),
    ("GET", "/analytics/team/agent-edits", None),
    ("GET", "/analytics/by-user/tabs", None),
    ("GET", "/analytics/ai-code/commits", None),
]


@pytest.mark.parametrize(("method", "path", "body"), OPEN_TO_EVERY_PLAN)
async def test_a_team_plan_keeps_members_usage_spend_and_events(
    method: str, path: str, body: dict[str, object] | None
) -> None:
    async with client_for(make_sim(plan="team")) as client:
        response = await client.request(method, path, json=body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("method", "path", "body"), ENTERPRISE_ONLY)
async def test_a_team_plan_is_refused_enterprise_endpoints(
    method: str, path: str, body: dict[str, object] | None
) -> None:
    async with client_for(make_sim(plan="team")) as client:
        response = await client.request(method, path, json=body)
    assert response.status_code == 403
    assert response.json() == ENTERPRISE_REQUIRED


@pytest.mark.parametrize(("method", "path", "body"), ENTERPRISE_ONLY[:5])
async def test_enterprise_reaches_the_same_endpoints(
    method: str, path: str, body: dict[str, object] | None
) -> None:
    async with client_for(make_sim()) as client:
        response = await client.request(method, path, json=body)
    assert response.status_code != 403, response.text


async def test_the_key_is_checked_before_the_plan() -> None:
    sim = make_sim(plan="team")
    async with client_for(sim, key="crsr_" + "0" * 64) as client:
        response = await client.get("/teams/audit-logs")
    assert response.status_code == 401


def test_an_unknown_plan_is_refused() -> None:
    with pytest.raises(ValueError, match="--plan"):
        SimulatorConfig(plan="free").validate()  # type: ignore[arg-type]


async def test_each_team_may_have_its_own_plan() -> None:
    keys = ("crsr_" + "1" * 64, "crsr_" + "2" * 64)
    sim = make_sim(api_keys=keys, key_plans=((keys[1], "team"),))
    for key, status in ((keys[0], 200), (keys[1], 403)):
        async with client_for(sim, key=key) as client:
            response = await client.get("/teams/audit-logs")
        assert response.status_code == status, key
