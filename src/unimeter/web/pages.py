"""Rendering dashboard pages: one Jinja2 environment, its helpers and security headers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from .charts import fmt

NAV = (
    ("/app", "Overview"),
    ("/app/seats", "Seats"),
    ("/app/consumption", "Consumption"),
    ("/app/adoption", "Adoption"),
    ("/app/ai-code", "AI code"),
    ("/app/audit", "Audit"),
    ("/app/anomalies", "Anomalies"),
    ("/app/accounts", "Accounts"),
    ("/app/webhooks", "Webhooks"),
    ("/app/notifications", "Notifications"),
)

TITLES = dict(NAV)

# Everything is served from here: no CDN, no inline script, no framing.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _pct(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


def _change(row: dict[str, Any], name: str) -> Markup:
    """A small arrow with the change against the previous period, when there was one."""
    delta = (row.get("change") or {}).get(name)
    if not delta:
        return Markup("")
    arrow = "▲" if delta > 0 else "▼"
    return Markup('<span class="note"> {} {}</span>').format(arrow, abs(delta))


def _when(value: Any, empty: str = "—") -> str:
    """A timestamp to the minute, in UTC like every date on the dashboard."""
    if value is None:
        return empty
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


# Evidence keys holding exact dollars (as the API returns them): shown as money.
MONEY_KEYS = frozenset({"charged", "cost"})


def _evidence(key: str, value: Any) -> str:
    """One piece of a finding's evidence as a person reads it: no ``None``, no raw dollars,
    no microseconds."""
    if value is None or value == "":
        return "—"
    if key in MONEY_KEYS:
        return fmt(Decimal(str(value)), "$")
    if isinstance(value, str) and len(value) > 10 and value[10:11] == "T":
        try:
            return _when(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def _records(run: Any) -> int:
    return sum(s.inserted + s.updated for s in run.streams.values())


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("unimeter.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        fmt=fmt,
        money=Decimal,
        pct=_pct,
        change=_change,
        records=_records,
        when=_when,
        nav=NAV,
        evidence=_evidence,
    )
    return env


TEMPLATES = _environment()


def _static() -> dict[str, tuple[bytes, str]]:
    folder = resources.files("unimeter.web") / "static"
    types = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"}
    return {
        entry.name: (entry.read_bytes(), types[entry.name.rsplit(".", 1)[-1]])
        for entry in folder.iterdir()
        if entry.name.rsplit(".", 1)[-1] in types
    }


STATIC = _static()


def page(request: Request, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("ctx", None)
    html = TEMPLATES.get_template(name).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)
