"""One tenant, two vendors: a Cursor account synced from its simulator, and beside it an
account of a two-product vendor (built on the toy vendor) whose members and facts the test
writes as a sync would. One of its products has estimated charges, like Claude Code.

The people of the second account overlap Cursor's: one by the same email in other case, one
through a directory alias, others only there (one of them removed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update

from tests.support.api import KEYS, ApiWorld, api_world
from tests.support.world import make_sim
from tests.toyvendor import mapping as toy_mapping
from tests.toyvendor.connector import ToyConnector
from unimeter.connectors.contract import Product
from unimeter.connectors.facts import FactProfile, UsageFactRecord
from unimeter.connectors.records import MemberRecord
from unimeter.db.models import IntegratedAccount, Member
from unimeter.sync.store import facts_repository, members_repository, rollups_repository

TENANT = "tenant-default"
TODAY = dt.date(2026, 6, 15)  # the world's today (tests/support/world.py)
PERIOD = {"start_date": "2026-05-01", "end_date": "2026-06-16"}
DOLLAR = 100 * 10**6  # cents * 10**6
CODE, API = "toy_code", "toy_api"  # CODE's charges are estimates
ALIAS = "alias.person@elsewhere.example"
SOLO = "solo@toy.example"
GONE = "gone@toy.example"
TWO = "twotools"  # the slug of the vendor with two products
GONE_AT_MS = 1_781_092_800_000  # 2026-06-10T12:00:00Z: removed then


class TwoToolsVendor(ToyConnector):
    """A vendor with two products, the first one's charges estimated (never fetched: the
    test writes its members and facts)."""

    slug = TWO
    display_name = "Two Tools AI"
    products: tuple[Product, ...] = (Product(CODE, "Toy Code"), Product(API, "Toy API"))
    facts: FactProfile = FactProfile(
        detail_metrics=toy_mapping.METRICS, estimated_charges=frozenset({CODE})
    )


@dataclass(frozen=True, slots=True)
class Usage:
    email: str
    product: str
    day: dt.date
    tokens: int
    cost: int  # cents * 10**6


@dataclass
class CrossTool:
    api: ApiWorld
    cursor_id: str
    tools_id: str
    cursor_emails: list[str]  # current Cursor members, lower case
    usage: list[Usage]  # the two-tools account's facts, "" email: an API key's

    @property
    def same(self) -> str:
        """A Cursor member who is also a member of the other account (other case)."""
        return self.cursor_emails[0]

    @property
    def aliased(self) -> str:
        """A Cursor member whose other-vendor email is ALIAS (directory)."""
        return self.cursor_emails[1]


def _usage(same: str) -> list[Usage]:
    d = [TODAY - dt.timedelta(days=n) for n in range(5)]
    return [
        Usage(same.upper(), CODE, d[0], 1000, 3 * DOLLAR),
        Usage(same.upper(), CODE, d[1], 500, 2 * DOLLAR),
        Usage(same.upper(), API, d[1], 700, DOLLAR),
        Usage(ALIAS, API, d[2], 400, 4 * DOLLAR),
        Usage(ALIAS, API, d[3], 100, DOLLAR),
        Usage(SOLO, CODE, d[0], 50, DOLLAR // 2),
        Usage(GONE, API, d[4], 10, DOLLAR // 4),
        Usage("", API, d[0], 999, 7 * DOLLAR),
    ]


def _fact(u: Usage) -> UsageFactRecord:
    return UsageFactRecord(
        day=u.day,
        product=u.product,
        user_email=u.email.lower(),
        actor="" if u.email else "key_ci",
        surface="" if u.email else "api",
        model="toy-large",
        metrics={"requests": 1, "input_tokens": u.tokens, "cost_cents_e6": u.cost},
    )


@asynccontextmanager
async def cross_tool(
    database_url: str, data_dir: Path, *, two_tools: bool = True
) -> AsyncIterator[CrossTool]:
    """The two accounts of one tenant; ``two_tools=False``: the plain toy vendor (one
    product, billed) instead of the two-tools one, every usage row on its product."""
    third = "crsr_" + "3" * 64
    sim = make_sim(api_keys=(*KEYS, third), users=6, days=20)
    async with api_world(database_url, data_dir, sim=sim) as api:
        runtime = api.world.runtime
        vendor = TwoToolsVendor() if two_tools else ToyConnector()
        runtime.registry.register(vendor)
        cursor_id = api.accounts["default"]
        tools_id = await api.world.link(third, tenant_id=TENANT, environment="default")
        async with runtime.db.session() as session:
            linked = await session.get(IntegratedAccount, tools_id)
            assert linked is not None
            linked.integration = vendor.slug
        async with runtime.db.reader() as session:
            rows = await session.scalars(
                select(Member.email).where(
                    Member.account_id == cursor_id, Member.is_removed.is_(False)
                )
            )
            emails = sorted(e.lower() for e in rows.all())
        usage = _usage(emails[0])
        if not two_tools:
            usage = [dataclasses.replace(u, product=toy_mapping.PRODUCT) for u in usage]
        members = [
            MemberRecord("t-same", emails[0].upper(), "Same Person", "member", False),
            MemberRecord("t-alias", ALIAS, "Aliased", "member", False),
            MemberRecord("t-solo", SOLO, "Solo", "member", False),
            MemberRecord("t-gone", GONE, "Gone", "member", True),
        ]
        async with runtime.db.session() as session:
            await members_repository.upsert_members(session, tools_id, members)
            await session.execute(
                update(Member)
                .where(Member.account_id == tools_id, Member.remote_id == "t-gone")
                .values(removed_at=GONE_AT_MS)
            )
            await facts_repository.write_facts(session, tools_id, [_fact(u) for u in usage])
            await rollups_repository.refresh(
                session, tools_id, await rollups_repository.dirty_days(session, tools_id)
            )
        yield CrossTool(api, cursor_id, tools_id, emails, usage)
