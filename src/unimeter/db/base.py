"""Declarative base, naming convention and column types shared by every model."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic migrations name things the same on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY, so big ids are BIGINT only on PostgreSQL.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {dict[str, Any]: JSONType}


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds; every stored time uses this unit."""
    return time.time_ns() // 1_000_000


def new_id(prefix: str) -> str:
    """An opaque, prefixed identifier (``acc_…``, ``run_…``) that is safe to expose."""
    return f"{prefix}_{uuid.uuid4().hex}"
