"""A synced Cursor account (its usage facts give the costs) with commits, agent runs and
activity counts the test writes as a sync of a code-tracking vendor would, and a directory
that puts its people in two teams (one person in none).

The rows are varied on purpose: emails in other case, commits without a repository or
with an unknown branch kind, hand-written lines unknown on some commits, runs without a
launcher, duration, tokens or cost, and counts both for the team and per person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from tests.support.api import ApiWorld, api_world
from unimeter.connectors.records import ActivityCountRecord, AgentRunRecord, CommitRecord
from unimeter.db.models import Member
from unimeter.sync.store import code_repository

TODAY = dt.date(2026, 6, 15)  # the world's today (tests/support/world.py)
PERIOD = {"start_date": "2026-05-01", "end_date": "2026-06-16"}
START, END = dt.date(2026, 5, 1), dt.date(2026, 6, 16)
DAY_MS = 86_400_000
REPOS = ("acme/pay", "acme/web", None)
PRIMARY = (True, False, None)
STATUSES = ("finished", "finished", "error", "cancelled", "running", "expired", "finished")


def ms(day: dt.date, hour: int = 10) -> int:
    return (day - dt.date(1970, 1, 1)).days * DAY_MS + hour * 3_600_000


@dataclass
class CodeWorld:
    api: ApiWorld
    account_id: str
    emails: list[str]  # the current Cursor members, lower case
    teams: dict[str, str]  # email -> team (emails[3] has none)
    commits: list[CommitRecord]
    runs: list[AgentRunRecord]
    counts: list[ActivityCountRecord]


def _commits(emails: list[str]) -> list[CommitRecord]:
    out = []
    for i in range(24):
        email = emails[i % 4]
        day = TODAY - dt.timedelta(days=2 * i)  # the last one falls before PERIOD
        added, tab, agent = 100 + 7 * i, 10 + i, 5 * (i % 5)
        human = None if i % 4 == 3 else added - tab - agent
        out.append(CommitRecord(
            key=f"c{i}", commit_id=f"{i:08x}", user_email=email.upper() if i % 5 == 0 else email,
            repository=REPOS[i % 3], branch="main" if i % 2 else "feature",
            is_primary_branch=PRIMARY[(i // 3) % 3], surface="ide", committed_at_ms=ms(day),
            lines_added=added, lines_deleted=i, completion_lines_added=tab,
            completion_lines_deleted=0, agent_lines_added=agent, agent_lines_deleted=1,
            human_lines_added=human, human_lines_deleted=None,
        ))  # fmt: skip
    return out


def _runs(emails: list[str]) -> list[AgentRunRecord]:
    out = []
    for i in range(15):
        status = STATUSES[i % len(STATUSES)]
        out.append(AgentRunRecord(
            key=f"run{i}", agent_id=f"bc-{i}", user_email=None if i % 7 == 6 else emails[i % 3],
            name=f"Task {i}", status=status, repository=REPOS[i % 3], branch=f"agent/{i}",
            pull_request_url=f"https://git.example/pr/{i}" if status == "finished" and i % 2 == 0
            else None,
            created_at_ms=ms(TODAY - dt.timedelta(days=i)),
            duration_ms=None if status == "running" or i == 3 else 60_000 * (i + 1),
            input_tokens=1000 * i, output_tokens=None if i % 4 == 0 else 50 * i,
            cost_cents_e6=None if i % 5 == 4 else 1_000_000 * (i + 1),
        ))  # fmt: skip
    return out


def _counts(emails: list[str]) -> list[ActivityCountRecord]:
    out = []
    for n in range(10):
        day = TODAY - dt.timedelta(days=n)
        out += [
            ActivityCountRecord(day, "intent", "bugfix", 3 + n),
            ActivityCountRecord(day, "intent", "feature", 2 * n),
            ActivityCountRecord(day, "active_users", "all", 4),
            ActivityCountRecord(day, "active_users", "cli", 1 + n % 2),
            ActivityCountRecord(day, "active_users", "cloud_agent", 2),
            # Per person only: summed.
            ActivityCountRecord(day, "mcp_tool", "github/create_pr", 1, emails[0]),
            ActivityCountRecord(day, "mcp_tool", "github/create_pr", 2, emails[1]),
            ActivityCountRecord(day, "mcp_tool", "linear/get_issue", n, emails[2]),
            # For the team and per person on the same day: the team's count only.
            ActivityCountRecord(day, "command", "/review", 5),
            ActivityCountRecord(day, "command", "/review", 3, emails[0]),
        ]
    return out


@asynccontextmanager
async def code_world(
    database_url: str, data_dir: Path, *, tracked_from: dt.date | None = None
) -> AsyncIterator[CodeWorld]:
    """``tracked_from``: only commits of that day on (code tracking turned on then)."""
    async with api_world(database_url, data_dir, sim_options={"users": 6, "days": 45}) as api:
        runtime = api.world.runtime
        account_id = api.accounts["default"]
        async with runtime.db.reader() as session:
            rows = await session.scalars(
                select(Member.email).where(
                    Member.account_id == account_id, Member.is_removed.is_(False)
                )
            )
            emails = sorted(e.lower() for e in rows.all())
        teams = {e: "red" if n % 2 == 0 else "blue" for n, e in enumerate(emails) if n != 3}
        directory = "email,name,team,cost_center,status\n" + "\n".join(
            f"{e},P{n},{team},cc,active" for n, (e, team) in enumerate(teams.items())
        )
        put = await api.client.put(
            "/directory", params={"integrated_account_id": account_id},
            content=directory.encode(), headers={**api.auth(), "content-type": "text/csv"},
        )  # fmt: skip
        assert put.status_code == 200, put.text
        commits, runs, counts = _commits(emails), _runs(emails), _counts(emails)
        if tracked_from is not None:
            commits = [c for c in commits if c.committed_at_ms >= ms(tracked_from, 0)]
        async with runtime.db.session() as session:
            await code_repository.upsert_keyed(session, account_id, commits)
            await code_repository.upsert_keyed(session, account_id, runs)
            await code_repository.upsert_activity_counts(session, account_id, counts)
        yield CodeWorld(api, account_id, emails, teams, commits, runs, counts)
