"""Times as the API shows them: epoch milliseconds rendered as RFC 3339 UTC with a ``Z``."""

from __future__ import annotations

import datetime as dt


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).isoformat().replace("+00:00", "Z")
