"""The Alembic migrations against the SQLAlchemy models, on SQLite and PostgreSQL.

Every test starts from an empty database of its own (a file for SQLite, a new database for
PostgreSQL) and migrates it with the runner the application uses
(:mod:`unimeter.db.migrate`, sync drivers, as in ``env.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from pprint import pformat
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy import create_engine, inspect, pool
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine, make_url

import unimeter.db.models  # noqa: F401  (registers every table)
from tests.support.databases import postgres_url
from unimeter.db.base import Base
from unimeter.db.engine import resolve_urls
from unimeter.db.migrate import alembic_config, current_revision, upgrade

# SQLAlchemy does not reflect SQLite's expression indexes (the commits' lowercased-email
# one); it says so and leaves them out of both sides' reflected schema alike.
# Autogenerate skips them too; test_expression_indexes_are_created checks them instead.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning"
    ),
    pytest.mark.filterwarnings(
        "ignore:autogenerate skipping metadata-specified expression-based index:UserWarning"
    ),
]
# Each with what its definition must show (PostgreSQL writes ``lower((user_email)::text)``).
EXPRESSION_INDEXES = {
    "ix_commits_account_lower_user_committed": ("lower(", "user_email", "committed_at"),
    "ix_agent_runs_account_lower_user_created": ("lower(", "user_email", "created_at"),
}

# procrastinate's own schema (tables, enum types, functions and triggers), which migration
# 0004 applies on PostgreSQL verbatim from the pinned procrastinate release. It is not
# described by our models, so the model comparison cannot account for it.
QUEUE_PREFIX = "procrastinate_"
VERSION_TABLE = "alembic_version"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database for this test only; dropped afterwards on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    admin_url = postgres_url()
    if admin_url is None:
        pytest.skip("PostgreSQL tests need UNIMETER_TEST_DATABASE_URL (CI sets it)")
    admin = make_url(admin_url).set(drivername="postgresql")
    maintenance = admin.render_as_string(hide_password=False)
    name = f"um_mig_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _engine(url: str) -> Engine:
    return create_engine(resolve_urls(url).sync_url, poolclass=pool.NullPool)


def _revisions(url: str) -> list[str]:
    """Revision ids from the first migration to head."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _include_name(name: str | None, type_: str, _parents: Any) -> bool:
    return not (type_ == "table" and name is not None and name.startswith(QUEUE_PREFIX))


def _model_diff(url: str) -> list[Any]:
    """What autogenerate would write for a migration from this database to the models."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            # compare_type as in env.py; only the job queue's tables are left out.
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": _include_name}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _schema(url: str) -> dict[str, dict[str, Any]]:
    """Every table with its columns, keys, indexes and constraints, as comparable values."""
    engine = _engine(url)
    try:
        insp = inspect(engine)
        # The get_multi_* calls reflect all tables in a few queries (per-table calls take
        # seconds on PostgreSQL).
        columns = insp.get_multi_columns()
        pks = insp.get_multi_pk_constraint()
        fks = insp.get_multi_foreign_keys()
        indexes = insp.get_multi_indexes()
        uniques = insp.get_multi_unique_constraints()
        schema: dict[str, dict[str, Any]] = {}
        for key in columns:
            _, table = key
            schema[table] = {
                "columns": [
                    (c["name"], repr(c["type"]), c["nullable"], c.get("default"))
                    for c in columns[key]
                ],
                "pk": pks[key],
                "fks": sorted(
                    (
                        fk["name"],
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                        fk.get("options", {}).get("ondelete"),
                    )
                    for fk in fks[key]
                ),
                "indexes": sorted(
                    (ix["name"], tuple(map(str, ix["column_names"])), bool(ix["unique"]))
                    for ix in indexes[key]
                ),
                "uniques": sorted((uq["name"], tuple(uq["column_names"])) for uq in uniques[key]),
            }
        return schema
    finally:
        engine.dispose()


def _tables(schema: dict[str, Any]) -> set[str]:
    return set(schema) - {VERSION_TABLE}


def test_the_upgraded_schema_matches_the_models(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade(url)
    assert current_revision(url) == _revisions(url)[-1]

    diff = _model_diff(url)
    assert diff == [], "migrations and models disagree:\n" + pformat(diff)

    tables = _tables(_schema(url))
    assert set(Base.metadata.tables) <= tables
    queue = {t for t in tables if t.startswith(QUEUE_PREFIX)}
    # The filter above hides exactly the job queue, which only PostgreSQL gets.
    assert tables - queue == set(Base.metadata.tables)
    if resolve_urls(url).backend == "postgresql":
        assert "procrastinate_jobs" in queue
    else:
        assert queue == set()


def test_expression_indexes_are_created(empty_database_url: str) -> None:
    """What the model comparison cannot see on SQLite: the migrations create each expression
    index with its expression."""
    url = empty_database_url
    upgrade(url)
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            if resolve_urls(url).backend == "postgresql":
                found = sa.text("SELECT indexname, indexdef FROM pg_indexes")
            else:
                found = sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
            definitions = {name: sql or "" for name, sql in conn.execute(found)}
    finally:
        engine.dispose()
    for name, parts in EXPRESSION_INDEXES.items():
        definition = definitions[name].lower()
        assert all(part in definition for part in parts), definition


def test_downgrade_to_base_then_upgrade_to_head_again(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade(url)
    at_head = _schema(url)

    command.downgrade(alembic_config(url), "base")
    assert current_revision(url) is None
    left = _tables(_schema(url))
    # Nothing of ours survives. The job queue's schema does: 0004's downgrade leaves it in
    # place (and its upgrade reuses an existing one).
    assert {t for t in left if not t.startswith(QUEUE_PREFIX)} == set()
    assert {t for t in at_head if t.startswith(QUEUE_PREFIX)} == {
        t for t in left if t.startswith(QUEUE_PREFIX)
    }

    upgrade(url)
    assert current_revision(url) == _revisions(url)[-1]
    assert _schema(url) == at_head
    assert _model_diff(url) == []


def test_every_revision_downgrades_one_step_and_upgrades_back_to_the_same_schema(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    revisions = _revisions(url)
    assert len(revisions) >= 2
    upgrade(url)
    config = alembic_config(url)
    for index in reversed(range(len(revisions))):
        revision = revisions[index]
        below = revisions[index - 1] if index else None
        assert current_revision(url) == revision
        before = _schema(url)

        command.downgrade(config, "-1")
        assert current_revision(url) == below
        down = _schema(url)
        assert down != before, f"the downgrade of {revision} changed nothing"
        if below is None:
            assert {t for t in _tables(down) if not t.startswith(QUEUE_PREFIX)} == set()

        command.upgrade(config, "+1")
        assert current_revision(url) == revision
        after = _schema(url)
        assert _tables(after) == _tables(before)
        assert after == before, f"{revision}: down and up again changed the schema"

        command.downgrade(config, "-1")  # walk on down
    assert current_revision(url) is None


def test_0009_names_the_vendor_of_old_links_and_reads_old_removals(
    empty_database_url: str,
) -> None:
    """Rows written before the connector contract: link tokens become links of the one
    vendor there was, and its removal events get the neutral action attribution reads (the
    rows and their payloads are kept as they were)."""
    url = empty_database_url
    upgrade(url, "0008")
    json_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    audit = sa.table(
        "audit_events",
        *(sa.column(c) for c in ("account_id", "remote_id", "timestamp_ms", "event_type")),
        *(sa.column(c) for c in ("user_email", "first_seen_at")),
        sa.column("event_data", json_type),
        sa.column("raw", json_type),
    )
    account = sa.table(
        "integrated_accounts",
        *(sa.column(c) for c in ("id", "environment_id", "integration", "status", "base_url")),
        *(sa.column(c) for c in ("credentials", "created_at", "updated_at")),
        sa.column("settings", json_type),
    )
    removal = {"email": " Gone@Example.com ", "removed_by": "admin@example.com"}
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO environments VALUES ('env_1', 'default', 1)"))
            conn.execute(
                sa.insert(account).values(
                    id="acc_1",
                    environment_id="env_1",
                    integration="cursor",
                    status="active",
                    base_url="http://x",
                    credentials="v1.x",
                    created_at=1,
                    updated_at=1,
                    settings={},
                )
            )
            for remote_id, kind, payload in (("e1", "remove_user", removal), ("e2", "login", {})):
                conn.execute(
                    sa.insert(audit).values(
                        account_id="acc_1",
                        remote_id=remote_id,
                        timestamp_ms=5,
                        event_type=kind,
                        user_email="admin@example.com",
                        first_seen_at=1,
                        event_data=payload,
                        raw={"event_type": kind},
                    )
                )
            conn.execute(
                sa.text(
                    "INSERT INTO link_tokens (id, environment_id, token_hash, tenant_id, "
                    "expires_at, created_at) VALUES ('lnk_1', 'env_1', 'h', 't', 9, 1)"
                )
            )
        upgrade(url, "0009")
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT remote_id, event_type, action, subject_email FROM audit_events "
                    "ORDER BY remote_id"
                )
            ).all()
            links = conn.execute(sa.text("SELECT integration FROM link_tokens")).all()
            stored = conn.execute(
                sa.select(audit.c.event_data, audit.c.raw).where(audit.c.remote_id == "e1")
            ).one()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("e1", "remove_user", "member_removed", "gone@example.com"),
        ("e2", "login", None, None),
    ]
    assert [tuple(r) for r in links] == [("cursor",)]
    assert (stored.event_data, stored.raw) == (removal, {"event_type": "remove_user"})


def test_a_failing_upgrade_leaves_the_store_as_it_was(empty_database_url: str) -> None:
    """An upgrade is one transaction on both backends: when a late migration fails, the
    earlier ones are rolled back with it (the next start runs them all again)."""
    url = empty_database_url
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            # In the way of a late migration (0013 creates this table).
            conn.execute(sa.text("CREATE TABLE commits (id INTEGER PRIMARY KEY)"))
    finally:
        engine.dispose()

    with pytest.raises(sa.exc.DBAPIError):
        upgrade(url)

    assert current_revision(url) is None
    assert _tables(_schema(url)) == {"commits"}
