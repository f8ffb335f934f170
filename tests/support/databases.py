"""Fresh, migrated databases for tests: SQLite always, PostgreSQL when configured.

Migrations run once per session into a template; each test gets a copy (a file copy for
SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL), so tests never see each other's
rows and never pay for migrations twice.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.support.dropdb import drop_later
from unimeter.db.migrate import upgrade

PG_ENV = "UNIMETER_TEST_DATABASE_URL"


def postgres_url() -> str | None:
    return os.environ.get(PG_ENV) or None


class SQLiteDatabases:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.db"
        upgrade(f"sqlite:///{self.template}")

    def create(self) -> str:
        path = self.root / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class PostgresDatabases:
    def __init__(self, admin_url: str) -> None:
        self.admin = make_url(admin_url).set(drivername="postgresql")
        self.template = f"um_tmpl_{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []
        self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        upgrade(self._url(self.template))

    def _url(self, name: str) -> str:
        return self.admin.set(database=name).render_as_string(hide_password=False)

    def _execute(self, statement: sql.Composable) -> None:
        with psycopg.connect(self._url(self.admin.database or "postgres"), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[call-overload]  # psycopg accepts any Composable

    def create(self) -> str:
        name = f"um_{uuid.uuid4().hex[:12]}"
        self._execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(self.template)
            )
        )
        self.created.append(name)
        return self._url(name)

    def close(self) -> None:
        """Drop this session's databases, in a process left running (see dropdb.py)."""
        drop_later(self._url(self.admin.database or "postgres"), [*self.created, self.template])
