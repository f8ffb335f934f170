"""Each member's unified user record, rendered when the member's row is written.

A users page read twelve columns a member and built its record in Python: 7 µs a member,
more than half of a page of 100. Members change only when a sync writes them, so every
write that changes what the record shows renders it again into ``members.record`` in the
same transaction (``refresh``), and a page reads that text as it is.

The record holds everything but ``organization``, which is the account's (an account can
be renamed without touching its members): :func:`with_organization` puts it in its place
when the record is read. NULL means not rendered yet (a member written before this column
existed, or by a writer that does not render); readers render those from the row.

Whoever changes :func:`render` changes every stored record: ship a migration that renders
them again (``fill``), as ``0020`` did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any
from typing import cast as cast_type

import orjson
from sqlalchemy import Connection, Table, Text, bindparam, cast, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.kit.times import iso

from .models import Member

_M = Member.__table__.c

# What a record shows, read as plain rows. ``raw`` comes as its JSON text, passed through.
COLUMNS = (
    _M.id, _M.remote_id, _M.email, _M.name, _M.role, _M.is_removed, _M.first_seen_at,
    _M.updated_at, _M.last_activity_at, _M.last_active_day, _M.spend_limit_dollars,
    cast(_M.raw, Text).label("raw"),
)  # fmt: skip

# Where ``organization`` goes: before this key. Every value ahead of it is a string the
# record escapes, and an escaped string holds no bare quote, so the first occurrence is the
# record's own key (``remote_data`` may hold one too, but comes after).
_AFTER_ORGANIZATION = ',"spend_limit":'


def as_dict(m: Any, organization: dict[str, Any] | None) -> dict[str, Any]:
    """The record of a member row (:data:`COLUMNS`); without ``organization`` when None.
    ``remote_data`` is the row's JSON text, passed through."""
    name, email, role = m.name, m.email, m.role
    first, _, last = (name or "").partition(" ")
    limit_dollars = m.spend_limit_dollars
    record: dict[str, Any] = {
        "id": m.remote_id,
        "name": name or email,
        "first_name": first or None,
        "last_name": last or None,
        "emails": [{"email": email, "is_primary": True}],
        "roles": [{"id": role, "name": role.replace("-", " ").title()}] if role else [],
        "status": "deleted" if m.is_removed else "active",
    }
    if organization is not None:
        record["organization"] = organization
    record["spend_limit"] = (
        {"amount": limit_dollars * 100, "currency": "USD"} if limit_dollars is not None else None
    )
    record["last_active_at"] = iso(last_active_ms(m.last_activity_at, m.last_active_day))
    record["created_at"] = iso(m.first_seen_at)
    record["updated_at"] = iso(m.updated_at)
    record["remote_data"] = orjson.Fragment(m.raw)
    return record


def render(m: Any) -> bytes:
    """The stored record of a member row (:data:`COLUMNS`): without its organization."""
    return orjson.dumps(as_dict(m, None))


def with_organization(record: str, organization: str) -> str:
    """A stored record with the account's ``organization`` (its JSON) in its place."""
    # One replace of the first occurrence: a page does this for each of its members.
    placed = record.replace(
        _AFTER_ORGANIZATION, f',"organization":{organization}{_AFTER_ORGANIZATION}', 1
    )
    if len(placed) == len(record):
        raise ValueError("not a stored user record")
    return placed


def last_active_ms(activity_at: int | None, active_day: Any) -> int | None:
    """Latest activity, as every sync keeps it on the member: their newest timestamped
    record (to the millisecond), or else the start of the newest day their usage facts show
    activity on (a vendor with days only)."""
    if activity_at is not None:
        return int(activity_at)
    if active_day is None:
        return None
    day = active_day if isinstance(active_day, dt.date) else dt.date.fromisoformat(active_day)
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


_READ = select(*COLUMNS, _M.record)
# Members a statement names by id at most (bind parameters have a ceiling on each backend).
_IDS_PER_READ = 1000


# Core, by the table: the ORM's bulk update would try to match objects in the session.
_WRITE = (
    update(cast_type(Table, Member.__table__))
    .where(_M.id == bindparam("member_id"))
    .values(record=bindparam("rendered"))
)


def _changed(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Compare-then-write: only the records whose text changes."""
    changes = []
    for row in rows:
        rendered = render(row).decode()
        if rendered != row.record:
            changes.append({"member_id": row.id, "rendered": rendered})
    return changes


async def refresh(
    session: AsyncSession, account_id: str, member_ids: Iterable[int] | None = None
) -> int:
    """Render the records of an account's members (all, or ``member_ids``) in the caller's
    transaction; returns how many changed."""
    of_account = _READ.where(_M.account_id == account_id)
    if member_ids is None:
        rows = list((await session.execute(of_account)).all())
    else:
        ids, rows = list(member_ids), []
        for at in range(0, len(ids), _IDS_PER_READ):
            chunk = ids[at : at + _IDS_PER_READ]
            rows.extend((await session.execute(of_account.where(_M.id.in_(chunk)))).all())
    changes = _changed(rows)
    if changes:
        await session.execute(_WRITE, changes)
    return len(changes)


def fill(connection: Connection) -> int:
    """Render every record that is missing (a migration's step)."""
    changes = _changed(connection.execute(_READ.where(_M.record.is_(None))).all())
    if changes:
        connection.execute(_WRITE, changes)
    return len(changes)
