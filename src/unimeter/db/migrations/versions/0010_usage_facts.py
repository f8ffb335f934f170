"""Usage facts: one vendor-neutral table of usage per (member or actor, product, surface,
model, day); the usage rollups it replaces are dropped; the narrow rollups gain the product

Existing stores are backfilled so that they answer exactly as before the upgrade:

- *detail* facts from ``usage_rollups`` (one per member, model, surface and day);
- *day totals* from ``daily_usage`` (one per member and day, summed over the vendor's user
  keys of the same email, as the API summed them);
- ``user_day_rollups`` and ``user_model_month_rollups`` re-summed from the detail facts,
  now keyed by product too;
- ``usage_events.product``.

The product of every existing row is its account's ``integration``: each connector released
before this revision sold one product whose id is its slug.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Written out rather than imported: a migration must not change when the models do.
_METRICS = (
    "requests", "requests_included", "requests_usage_based", "requests_api_key",
    "requests_errored", "requests_premium",
    "chat_requests", "agent_requests", "edit_requests", "inline_edit_requests",
    "review_requests", "completions_shown", "completions_accepted",
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "cost_cents_e6", "included_cents_e6", "usage_based_cents_e6",
    "lines_added", "lines_removed", "accepted_lines_added", "accepted_lines_removed",
    "applies", "accepts", "rejects", "tool_actions_accepted", "tool_actions_rejected",
    "sessions", "commits", "pull_requests",
)  # fmt: skip

# The metrics the adoption scorecards sum (analytics.adoption_repository.ADOPTION_METRICS).
_ADOPTION = (
    "completions_shown", "completions_accepted", "applies", "accepts", "agent_requests",
    "chat_requests", "edit_requests", "inline_edit_requests", "review_requests",
)  # fmt: skip

# usage_rollups column -> fact metric.
_FROM_ROLLUPS = (
    ("events", "requests"),
    ("included_events", "requests_included"),
    ("usage_based_events", "requests_usage_based"),
    ("api_key_events", "requests_api_key"),
    ("errored_events", "requests_errored"),
    ("max_mode_events", "requests_premium"),
    ("input_tokens", "input_tokens"),
    ("output_tokens", "output_tokens"),
    ("cache_read_tokens", "cache_read_tokens"),
    ("cache_write_tokens", "cache_write_tokens"),
    ("charged_cents_e6", "cost_cents_e6"),
    ("included_cents_e6", "included_cents_e6"),
    ("usage_based_cents_e6", "usage_based_cents_e6"),
)

# daily_usage column -> fact metric (``requests`` is the sum of the three billed kinds).
_FROM_DAILY = (
    ("included_requests", "requests_included"),
    ("usage_based_requests", "requests_usage_based"),
    ("api_key_requests", "requests_api_key"),
    ("chat_requests", "chat_requests"),
    ("agent_requests", "agent_requests"),
    ("composer_requests", "edit_requests"),
    ("cmdk_requests", "inline_edit_requests"),
    ("bugbot_requests", "review_requests"),
    ("tabs_shown", "completions_shown"),
    ("tabs_accepted", "completions_accepted"),
    ("lines_added", "lines_added"),
    ("lines_deleted", "lines_removed"),
    ("accepted_lines_added", "accepted_lines_added"),
    ("accepted_lines_deleted", "accepted_lines_removed"),
    ("applies", "applies"),
    ("accepts", "accepts"),
    ("rejects", "rejects"),
)

# The sums the narrow rollups keep: rollup column -> fact metric.
_NARROW = (
    ("events", "requests"),
    ("input_tokens", "input_tokens"),
    ("output_tokens", "output_tokens"),
    ("cache_read_tokens", "cache_read_tokens"),
    ("cache_write_tokens", "cache_write_tokens"),
    ("charged_cents_e6", "cost_cents_e6"),
    ("included_cents_e6", "included_cents_e6"),
    ("usage_based_cents_e6", "usage_based_cents_e6"),
)

_PRODUCT_OF_ACCOUNT = (
    "(SELECT integration FROM integrated_accounts a WHERE a.id = {table}.account_id)"
)


def upgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        # A NOT NULL column with a default is added in place by both backends (no copy).
        batch.add_column(sa.Column("product", sa.String(40), nullable=False, server_default=""))
    op.execute(f"UPDATE usage_events SET product = {_product('usage_events')}")
    _create_facts()
    _backfill_detail_facts()
    _backfill_day_totals()
    op.drop_table("user_model_month_rollups")
    op.drop_table("user_day_rollups")
    _create_user_days(with_product=True)
    _create_user_model_months(with_product=True)
    _fill_narrow_rollups(with_product=True)
    op.drop_table("usage_rollups")


def _product(table: str) -> str:
    return _PRODUCT_OF_ACCOUNT.format(table=table)


def _create_facts() -> None:
    op.create_table(
        "usage_facts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(320), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("product", sa.String(40), nullable=False),
        sa.Column("surface", sa.String(40), nullable=False),
        sa.Column("model", sa.String(120), nullable=False),
        sa.Column("is_day_total", sa.Boolean(), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=True) for name in _METRICS],
        sa.Column("is_active", sa.Boolean(), nullable=True),
        sa.Column("client_version", sa.String(40), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_usage_facts_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_facts")),
        sa.UniqueConstraint(
            "account_id", "day", "user_email", "actor", "product", "surface", "model",
            "is_day_total", name="uq_usage_facts_key",
        ),
    )  # fmt: skip
    op.create_index(
        "ix_usage_facts_account_user_day", "usage_facts", ["account_id", "user_email", "day"]
    )
    op.create_index(
        "ix_usage_facts_account_product_day", "usage_facts", ["account_id", "product", "day"]
    )
    # Seats' last active day: a covering range of the day totals marked active.
    op.create_index(
        "ix_usage_facts_account_activity",
        "usage_facts",
        ["account_id", "is_day_total", "is_active", "user_email", "day"],
    )
    # Adoption: a period of day totals (or detail facts) with the metrics it sums, read
    # from the index alone rather than from the wide rows.
    op.create_index(
        "ix_usage_facts_account_adoption",
        "usage_facts",
        ["account_id", "is_day_total", "day", "user_email", "is_active", *_ADOPTION],
    )


def _now_ms() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return "CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)"
    return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"


def _backfill_detail_facts() -> None:
    targets = ", ".join(metric for _, metric in _FROM_ROLLUPS)
    sources = ", ".join(column for column, _ in _FROM_ROLLUPS)
    op.execute(
        "INSERT INTO usage_facts (account_id, day, user_email, actor, product, surface, model, "
        f"is_day_total, {targets}, updated_at) "
        f"SELECT account_id, day, user_email, '', {_product('usage_rollups')}, surface, model, "
        f"{_false()}, {sources}, {_now_ms()} FROM usage_rollups"
    )


def _backfill_day_totals() -> None:
    targets = ", ".join(metric for _, metric in _FROM_DAILY)
    sums = ", ".join(f"SUM({column})" for column, _ in _FROM_DAILY)
    requests = "SUM(included_requests + usage_based_requests + api_key_requests)"
    active = "MAX(CASE WHEN is_active THEN 1 ELSE 0 END) = 1"
    op.execute(
        "INSERT INTO usage_facts (account_id, day, user_email, actor, product, surface, model, "
        f"is_day_total, requests, {targets}, is_active, client_version, updated_at) "
        f"SELECT account_id, day, email, '', {_product('daily_usage')}, '', '', {_true()}, "
        f"{requests}, {sums}, {active}, MAX(client_version), {_now_ms()} "
        "FROM daily_usage GROUP BY account_id, day, email"
    )


def _true() -> str:
    return "true" if op.get_bind().dialect.name == "postgresql" else "1"


def _false() -> str:
    return "false" if op.get_bind().dialect.name == "postgresql" else "0"


def _sum_columns() -> list[sa.Column[int]]:
    return [
        sa.Column("events", sa.Integer(), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name, _ in _NARROW[1:]],
    ]


def _product_column(with_product: bool) -> list[sa.Column[str]]:
    return [sa.Column("product", sa.String(40), nullable=False)] if with_product else []


def _create_user_days(*, with_product: bool) -> None:
    key = ["account_id", "day", "user_email", *(["product"] if with_product else [])]
    op.create_table(
        "user_day_rollups",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(320), nullable=False),
        *_product_column(with_product),
        *_sum_columns(),
        sa.Column("headless_cents_e6", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_user_day_rollups_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_day_rollups")),
        sa.UniqueConstraint(
            *key,
            name="uq_user_day_rollups_key"
            if with_product
            else op.f("uq_user_day_rollups_account_id_day_user_email"),
        ),
    )
    op.create_index(
        "ix_user_day_rollups_account_user_day",
        "user_day_rollups",
        ["account_id", "user_email", "day"],
    )


def _create_user_model_months(*, with_product: bool) -> None:
    key = ["account_id", "month", "user_email", *(["product"] if with_product else []), "model"]
    op.create_table(
        "user_model_month_rollups",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(320), nullable=False),
        *_product_column(with_product),
        sa.Column("model", sa.String(120), nullable=False),
        *_sum_columns(),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_user_model_month_rollups_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_model_month_rollups")),
        sa.UniqueConstraint(
            *key,
            name="uq_user_model_month_rollups_key"
            if with_product
            else op.f("uq_user_model_month_rollups_account_id_month_user_email_model"),
        ),
    )


def _fill_narrow_rollups(*, with_product: bool) -> None:
    """Sum the detail facts into the narrow rollups, as the sync rebuilds them."""
    product = ["product"] if with_product else []
    names = ", ".join(column for column, _ in _NARROW)
    sums = ", ".join(f"COALESCE(SUM({metric}), 0)" for _, metric in _NARROW)
    headless = (
        "COALESCE(SUM(CASE WHEN surface NOT IN ('ide', '') THEN cost_cents_e6 ELSE 0 END), 0)"
    )
    user_day = ", ".join(["account_id", "day", "user_email", *product])
    op.execute(
        f"INSERT INTO user_day_rollups ({user_day}, {names}, headless_cents_e6) "
        f"SELECT {user_day}, {sums}, {headless} FROM usage_facts "
        f"WHERE is_day_total = {_false()} GROUP BY {user_day}"
    )
    month = (
        "CAST(date_trunc('month', day) AS date)"
        if op.get_bind().dialect.name == "postgresql"
        else "date(day, 'start of month')"
    )
    group = ", ".join(["account_id", month, "user_email", *product, "model"])
    target = ", ".join(["account_id", "month", "user_email", *product, "model"])
    op.execute(
        f"INSERT INTO user_model_month_rollups ({target}, {names}) "
        f"SELECT {group}, {sums} FROM usage_facts "
        f"WHERE is_day_total = {_false()} GROUP BY {group}"
    )


def downgrade() -> None:
    op.create_table(
        "usage_rollups",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(320), nullable=False),
        sa.Column("model", sa.String(120), nullable=False),
        sa.Column("surface", sa.String(40), nullable=False),
        *[
            sa.Column(column, sa.Integer() if column.endswith("events") else sa.BigInteger(),
                      nullable=False)
            for column, _ in _FROM_ROLLUPS
        ],
        sa.Column("token_fee_cents_e6", sa.BigInteger(), nullable=False),
        sa.Column("request_units_e6", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_usage_rollups_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_rollups")),
        sa.UniqueConstraint(
            "account_id", "day", "user_email", "model", "surface",
            name="uq_usage_rollups_account_id",
        ),
    )  # fmt: skip
    op.create_index(
        "ix_usage_rollups_account_user_day", "usage_rollups", ["account_id", "user_email", "day"]
    )
    # The event-derived detail facts go back (their token fees and request units, which no
    # reader used, are lost); the day totals stay in daily_usage, where they came from.
    columns = ", ".join(column for column, _ in _FROM_ROLLUPS)
    # Summed over products and actors, which the old key did not have.
    metrics = ", ".join(f"COALESCE(SUM({metric}), 0)" for _, metric in _FROM_ROLLUPS)
    op.execute(
        "INSERT INTO usage_rollups (account_id, day, user_email, model, surface, "
        f"{columns}, token_fee_cents_e6, request_units_e6) "
        f"SELECT account_id, day, user_email, model, surface, {metrics}, 0, 0 "
        f"FROM usage_facts WHERE is_day_total = {_false()} "
        "GROUP BY account_id, day, user_email, model, surface"
    )
    op.drop_table("user_model_month_rollups")
    op.drop_table("user_day_rollups")
    _create_user_days(with_product=False)
    _create_user_model_months(with_product=False)
    _fill_narrow_rollups(with_product=False)
    op.drop_table("usage_facts")
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("product")
