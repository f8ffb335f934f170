"""The provisioning audit against findings derived here from the simulator's members,
events and a directory the test writes."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from tests.analytics.test_seats import expected_seats
from tests.support.api import api_world
from unimeter.connectors.cursor.simulator import Quirks


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


async def test_findings_match_the_truth(database_url: str, data_dir: Path) -> None:
    # Emails stay on removed members' events, so every event after a removal has a known
    # owner (with Cursor's blanking, unattributable events cannot name anyone).
    quiet = {"quirks": Quirks(removed_user_email=False)}
    async with api_world(database_url, data_dir, sim_options=quiet) as api:
        account = api.accounts["default"]
        truth = api.sim.truth(api.sim.keys[0])
        as_of = _day(truth.now_ms)
        seated = sorted((m for m in truth.members() if m.removed_ms is None), key=lambda m: m.email)
        missing = {seated[0].email, seated[1].email}
        offboarded = seated[2].email
        owners = sorted(m.email for m in seated if m.role in ("owner", "free-owner"))
        assert owners, "the simulated team has admins"
        allowed = owners[1:]  # the first owner is not on the allow-list

        lines = ["email,name,team,cost_center,status"]
        for m in truth.members():
            if m.email in missing:
                continue
            status = "offboarded" if m.email == offboarded or m.removed_ms else "active"
            lines.append(f"{m.email},{m.name},Apps,CC-1,{status}")
        put = await api.client.put(
            "/directory", params={"integrated_account_id": account},
            content="\n".join(lines), headers={**api.auth(), "content-type": "text/csv"},
        )  # fmt: skip
        assert put.status_code == 200, put.text
        patched = await api.client.patch(
            "/analytics/settings", params={"integrated_account_id": account},
            json={"allowed_admins": [a.upper() for a in allowed]}, headers=api.auth(),
        )  # fmt: skip
        assert patched.status_code == 200, patched.text
        response = await api.get("/analytics/audit", integrated_account_id=account)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    found: dict[str, set[str]] = {}
    for f in body["result"]:
        assert f["integrated_account_id"] == account
        found.setdefault(f["type"], set()).add(f["email"])
    after = Counter(e.email for e in truth.events() if e.after_removal)
    assert after, "the simulated history has usage after a removal"
    assert found == {
        "missing_from_directory": missing,
        "offboarded_with_seat": {offboarded},
        "admin_not_allowed": {owners[0]},
        "never_active": set(expected_seats(truth, as_of, 30)["never_used"]),
        "usage_after_removal": set(after),
    }
    assert body["counts"] == {kind: len(emails) for kind, emails in found.items()}
    for f in body["result"]:
        if f["type"] == "usage_after_removal":
            assert f["evidence"]["events"] == after[f["email"]]
            assert f["evidence"]["first_event_at"] >= f["evidence"]["removed_at"]
