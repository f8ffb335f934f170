"""The derived tables of a store as the 0008 release built them, from its raw tables.

The SQL of that release's rollup rebuild (``sync/rollups_repository.py`` at revision 0008),
run over a whole store: usage rollups from the usage events, the per-user-day and the
per-user-model-month rollups from the usage rollups. The upgrade test uses it to put a store
synced at head back into the exact shape the previous release left on disk.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text

from unimeter.db.engine import resolve_urls

_USAGE_ROLLUPS = """
INSERT INTO usage_rollups (account_id, day, user_email, model, surface, events,
    included_events, usage_based_events, api_key_events, errored_events, max_mode_events,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, charged_cents_e6,
    included_cents_e6, usage_based_cents_e6, token_fee_cents_e6, request_units_e6)
SELECT account_id, day, COALESCE(email, ''), model, surface, COUNT(*),
    SUM(CASE WHEN charge_type = 'included' THEN 1 ELSE 0 END),
    SUM(CASE WHEN charge_type = 'usage_based' THEN 1 ELSE 0 END),
    SUM(CASE WHEN charge_type = 'api_key' THEN 1 ELSE 0 END),
    SUM(CASE WHEN charge_type = 'errored' THEN 1 ELSE 0 END),
    SUM(CASE WHEN max_mode THEN 1 ELSE 0 END),
    SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
    SUM(charged_cents_e6),
    SUM(CASE WHEN charge_type = 'included' THEN charged_cents_e6 ELSE 0 END),
    SUM(CASE WHEN charge_type = 'usage_based' THEN charged_cents_e6 ELSE 0 END),
    SUM(COALESCE(token_fee_cents_e6, 0)), SUM(request_units_e6)
FROM usage_events GROUP BY account_id, day, COALESCE(email, ''), model, surface
"""

_SUMS = (
    "events, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
    "charged_cents_e6, included_cents_e6, usage_based_cents_e6"
)
_SUMMED = ", ".join(f"SUM({name.strip()})" for name in _SUMS.split(","))

_USER_DAYS = f"""
INSERT INTO user_day_rollups (account_id, day, user_email, {_SUMS}, headless_cents_e6)
SELECT account_id, day, user_email, {_SUMMED},
    SUM(CASE WHEN surface <> 'ide' THEN charged_cents_e6 ELSE 0 END)
FROM usage_rollups GROUP BY account_id, day, user_email
"""


def _user_model_months(month: str) -> str:
    return f"""
INSERT INTO user_model_month_rollups (account_id, month, user_email, model, {_SUMS})
SELECT account_id, {month}, user_email, model, {_SUMMED}
FROM usage_rollups GROUP BY account_id, {month}, user_email, model
"""


def rebuild_derived_tables(database_url: str) -> None:
    """Replace the rollups of a store at revision 0008 with what that release computed."""
    engine = create_engine(resolve_urls(database_url).sync_url)
    month = (
        "CAST(date_trunc('month', day) AS date)"
        if engine.dialect.name == "postgresql"
        else "date(day, 'start of month')"
    )
    try:
        with engine.begin() as connection:
            for table in ("usage_rollups", "user_day_rollups", "user_model_month_rollups"):
                connection.execute(text(f"DELETE FROM {table}"))
            for statement in (_USAGE_ROLLUPS, _USER_DAYS, _user_model_months(month)):
                connection.execute(text(statement))
    finally:
        engine.dispose()
