"""Members with identity history, daily usage and usage events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, BigIntPK, now_ms

_ACCOUNT_FK = "integrated_accounts.id"


class Member(Base):
    """A seat holder, kept after removal with the time they were removed."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("account_id", "remote_id"),
        Index("ix_members_account_email", "account_id", "email"),
        # The users page walks an account's members in id order (its keyset).
        Index("ix_members_account_id_order", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(100))
    numeric_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(String(40))
    is_removed: Mapped[bool] = mapped_column(Boolean, default=False)
    removed_at: Mapped[int | None] = mapped_column(BigInteger)
    # "audit_log" when the removal time comes from Cursor's audit log, "observed" otherwise.
    removal_source: Mapped[str | None] = mapped_column(String(20))
    # When they joined, if the vendor says (epoch ms).
    joined_at: Mapped[int | None] = mapped_column(BigInteger)
    # Their latest activity, kept by every sync: the newest timestamped record (to the ms),
    # and the newest day their usage facts show activity on (a vendor with days only).
    last_activity_at: Mapped[int | None] = mapped_column(BigInteger)
    last_active_day: Mapped[dt.date | None] = mapped_column(Date)
    # Their spend limit in dollars as the vendor's latest spend read says, if it has them.
    spend_limit_dollars: Mapped[int | None] = mapped_column(BigInteger)
    first_seen_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    last_seen_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Their unified user record as JSON text, rendered by every write that changes what it
    # shows (unimeter.db.user_records); NULL until first rendered.
    record: Mapped[str | None] = mapped_column(Text)


class MemberIdentity(Base):
    """Each (email, numeric id, name) a member was seen with, and when."""

    __tablename__ = "member_identities"
    __table_args__ = (UniqueConstraint("member_id", "identity_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    identity_key: Mapped[str] = mapped_column(String(700))
    email: Mapped[str] = mapped_column(String(320))
    numeric_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(255))
    first_seen_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    last_seen_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


# The activity counters of ``daily_usage`` the adoption scorecards sum.
ADOPTION_METRICS = (
    "tabs_shown", "tabs_accepted", "applies", "accepts", "agent_requests", "chat_requests",
    "composer_requests", "cmdk_requests",
)  # fmt: skip


class DailyUsage(Base):
    """One member-day of activity counters, as Cursor aggregates them."""

    __tablename__ = "daily_usage"
    __table_args__ = (
        UniqueConstraint("account_id", "day", "user_key"),
        Index("ix_daily_usage_account_member_day", "account_id", "member_id", "day"),
        Index("ix_daily_usage_account_day_email", "account_id", "day", "email"),
        # Covers "last active day per member" for the seat analyses.
        Index(
            "ix_daily_usage_account_active_member",
            "account_id",
            "is_active",
            "member_id",
            "email",
            "day",
        ),
        # Holds every column the adoption scorecards read, so a period of a large team is
        # a compact range of this index instead of wide rows scattered through the file.
        Index(
            "ix_daily_usage_account_day_adoption",
            *("account_id", "day", "is_active", "member_id", "email", *ADOPTION_METRICS),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    user_key: Mapped[str] = mapped_column(String(340))
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str] = mapped_column(String(320))
    numeric_user_id: Mapped[int | None] = mapped_column(BigInteger)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    lines_added: Mapped[int] = mapped_column(Integer, default=0)
    lines_deleted: Mapped[int] = mapped_column(Integer, default=0)
    accepted_lines_added: Mapped[int] = mapped_column(Integer, default=0)
    accepted_lines_deleted: Mapped[int] = mapped_column(Integer, default=0)
    applies: Mapped[int] = mapped_column(Integer, default=0)
    accepts: Mapped[int] = mapped_column(Integer, default=0)
    rejects: Mapped[int] = mapped_column(Integer, default=0)
    tabs_shown: Mapped[int] = mapped_column(Integer, default=0)
    tabs_accepted: Mapped[int] = mapped_column(Integer, default=0)
    composer_requests: Mapped[int] = mapped_column(Integer, default=0)
    chat_requests: Mapped[int] = mapped_column(Integer, default=0)
    agent_requests: Mapped[int] = mapped_column(Integer, default=0)
    cmdk_requests: Mapped[int] = mapped_column(Integer, default=0)
    included_requests: Mapped[int] = mapped_column(Integer, default=0)
    usage_based_requests: Mapped[int] = mapped_column(Integer, default=0)
    api_key_requests: Mapped[int] = mapped_column(Integer, default=0)
    bugbot_requests: Mapped[int] = mapped_column(Integer, default=0)
    most_used_model: Mapped[str | None] = mapped_column(String(120))
    apply_extension: Mapped[str | None] = mapped_column(String(40))
    tab_extension: Mapped[str | None] = mapped_column(String(40))
    client_version: Mapped[str | None] = mapped_column(String(40))
    after_removal: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)


class UsageEvent(Base):
    """One usage event, identified by a fingerprint of the fields that never change.

    Cost fields and the email are attributes updated in place: Cursor adjusts recent costs
    after the fact and blanks the email of removed members (see docs/design notes).
    """

    __tablename__ = "usage_events"
    __table_args__ = (
        UniqueConstraint("account_id", "fingerprint"),
        Index("ix_usage_events_account_ts", "account_id", "timestamp_ms"),
        Index("ix_usage_events_account_conversation", "account_id", "conversation_id"),
        Index("ix_usage_events_account_member_ts", "account_id", "member_id", "timestamp_ms"),
        # Finds the few events after a removal among millions (the provisioning audit);
        # partial, so the bulk of the events costs it nothing on insert. Reads must say
        # ``after_removal.is_(True)``, the predicate's own form, for the planner to use it.
        Index(
            "ix_usage_events_account_removed_member",
            "account_id",
            "member_id",
            sqlite_where=text("after_removal IS 1"),
            postgresql_where=text("after_removal IS TRUE"),
        ),
        # The few events whose owner attribution still looks for, by conversation and by
        # day (partial: free on insert; one index for both would lose to the others).
        *(
            Index(
                f"ix_usage_events_account_orphans_{column}",
                "account_id",
                column,
                sqlite_where=text("email IS NULL"),
                postgresql_where=text("email IS NULL"),
            )
            for column in ("conversation_id", "day")
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(40))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[dt.date] = mapped_column(Date)
    email_received: Mapped[str] = mapped_column(String(320), default="")
    # The member the event belongs to, recovered through the identity history when Cursor
    # no longer sends the email; NULL when it cannot be recovered.
    email: Mapped[str | None] = mapped_column(String(320))
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    attribution: Mapped[str] = mapped_column(String(20), default="direct")
    after_removal: Mapped[bool] = mapped_column(Boolean, default=False)
    # The product the event is usage of: the key of the detail usage facts derived from it.
    product: Mapped[str] = mapped_column(String(40), server_default="")
    model: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(80))
    # Vendor-neutral classifications, decided by the connector from the vendor's fields.
    charge_type: Mapped[str] = mapped_column(String(20), default="included")
    surface: Mapped[str] = mapped_column(String(40), default="ide")
    max_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    is_token_based: Mapped[bool] = mapped_column(Boolean, default=False)
    is_chargeable: Mapped[bool] = mapped_column(Boolean, default=False)
    is_headless: Mapped[bool] = mapped_column(Boolean, default=False)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    token_cents_e6: Mapped[int | None] = mapped_column(BigInteger)
    token_fee_cents_e6: Mapped[int | None] = mapped_column(BigInteger)
    charged_cents_e6: Mapped[int] = mapped_column(BigInteger, default=0)
    request_units_e6: Mapped[int] = mapped_column(BigInteger, default=0)
    conversation_id: Mapped[str | None] = mapped_column(String(80))
    cloud_agent_id: Mapped[str | None] = mapped_column(String(80))
    service_account_id: Mapped[str | None] = mapped_column(String(80))
    automation_id: Mapped[str | None] = mapped_column(String(80))
    revisions: Mapped[int] = mapped_column(Integer, default=0)
    first_seen_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)


class UsageEventRevision(Base):
    """The values an event's cost fields had before Cursor adjusted them."""

    __tablename__ = "usage_event_revisions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("usage_events.id", ondelete="CASCADE"), index=True
    )
    replaced_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    token_cents_e6: Mapped[int | None] = mapped_column(BigInteger)
    token_fee_cents_e6: Mapped[int | None] = mapped_column(BigInteger)
    charged_cents_e6: Mapped[int] = mapped_column(BigInteger)
    request_units_e6: Mapped[int] = mapped_column(BigInteger)


class MemberEvent(Base):
    """A change of a member seen by a sync: added, role changed, removed, restored.

    The identity history a provisioning audit reads when the vendor keeps no audit log of
    its own. ``at`` is the vendor's time when it says (a join time), else the sync's.
    """

    __tablename__ = "member_events"
    __table_args__ = (Index("ix_member_events_account_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # added | role_changed | removed | restored
    at: Mapped[int] = mapped_column(BigInteger)
    role_before: Mapped[str | None] = mapped_column(String(40))
    role_after: Mapped[str | None] = mapped_column(String(40))


class Actor(Base):
    """A non-person actor usage is attributed to (an API key, a service account)."""

    __tablename__ = "actors"
    __table_args__ = (UniqueConstraint("account_id", "remote_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(40))
    workspace_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(String(200))
    first_seen_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RemovalUsage(Base):
    """Usage recorded after a member's removal, per member, kept by every sync from the
    records it flagged: the provisioning audit reads this, never a vendor's records."""

    __tablename__ = "removal_usage"
    __table_args__ = (UniqueConstraint("account_id", "member_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    # The member's id as text, or "" for usage after a removal that no member is linked to.
    member_key: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))
    records: Mapped[int] = mapped_column(BigInteger)
    charged_cents_e6: Mapped[int] = mapped_column(BigInteger)
    first_at: Mapped[int] = mapped_column(BigInteger)
    last_at: Mapped[int] = mapped_column(BigInteger)
