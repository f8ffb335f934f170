"""Messages from a delivery's payload: one neutral :class:`Message` per topic, then Slack
Block Kit or an e-mail's plain and HTML parts from it, so both channels say the same."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

PRODUCT = "unimeter"
# Slack allows at most 10 fields in a section and 50 blocks in a message.
SLACK_FIELDS = 10
NOT_GIVEN = "—"


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    lines: list[str]


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    summary: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


def message(topic: str, payload: dict[str, Any]) -> Message:
    """The message a delivery sends (``payload`` as queued by the service)."""
    data: dict[str, Any] = payload.get("data") or {}
    if topic == "anomaly":
        return _anomaly(data)
    if topic == "needs_reauth":
        return _needs_reauth(data)
    if topic == "sync_failed":
        return _sync_failed(data)
    if topic == "digest":
        return digest(data)
    return Message(
        title=f"Test message for {payload.get('channel_name') or 'this channel'}",
        summary="Notifications from unimeter will arrive here.",
    )


def _text(value: Any) -> str:
    return NOT_GIVEN if value is None or value == "" else str(value)


def _anomaly(data: dict[str, Any]) -> Message:
    details: dict[str, Any] = data.get("details") or {}
    kind = str(data.get("kind") or "anomaly").replace("_", " ")
    excess, multiple = details.get("excess_cost"), details.get("multiple")
    summary = f"Excess cost ${excess}" if excess is not None else "Usage left its baseline"
    if multiple is not None:
        summary += f" ({multiple}x the usual)"
    return Message(
        title=f"Anomaly: {kind} for {_text(data.get('user_email'))} on {_text(data.get('day'))}",
        summary=summary + ". Acknowledge or resolve it in unimeter to stop reminders.",
        fields=[
            ("Kind", kind),
            ("Person", _text(data.get("user_email"))),
            ("Day", _text(data.get("day"))),
            ("Cost", _money(details.get("cost"))),
            ("Usual cost", _money(details.get("usual_cost"))),
            ("Model", _text(data.get("model"))),
            ("Account", _text(data.get("integrated_account_id"))),
            ("Anomaly", _text(data.get("id"))),
        ],
    )


def _needs_reauth(data: dict[str, Any]) -> Message:
    name = data.get("name") or data.get("id")
    return Message(
        title=f"Account needs new credentials: {_text(name)}",
        summary=f"{_text(data.get('integration'))} rejected the stored key. Syncing is paused "
        "until the account's credentials are updated.",
        fields=[
            ("Account", _text(data.get("id"))),
            ("Integration", _text(data.get("integration"))),
            ("Tenant", _text(data.get("tenant_id"))),
            ("Error", _text(data.get("last_error"))),
        ],
    )


def _sync_failed(data: dict[str, Any]) -> Message:
    return Message(
        title=f"Sync failed for account {_text(data.get('integrated_account_id'))}",
        summary=f"Run {_text(data.get('id'))} ({_text(data.get('trigger'))}) failed: "
        f"{_text(data.get('error'))}",
        fields=[
            ("Account", _text(data.get("integrated_account_id"))),
            ("Run", _text(data.get("id"))),
            ("Started", _text(data.get("started_at"))),
            ("Finished", _text(data.get("finished_at"))),
        ],
    )


def _money(amount: Any) -> str:
    return NOT_GIVEN if amount is None else f"${amount}"


def _change(row: dict[str, Any]) -> str:
    percent = row.get("change_percent")
    sign = "" if str(row["change"]).startswith("-") else "+"
    suffix = f", {sign}{percent}%" if percent is not None else ""
    return f"${row['charged']} (week before ${row['previous']}{suffix})"


def digest(data: dict[str, Any]) -> Message:
    """The weekly digest (``analytics/digest.py``'s figures)."""
    spend, seats, anomalies = data["spend"], data["seats"], data["anomalies"]
    monthly = seats.get("reclaimable_monthly")
    open_count = f"{anomalies['open']}{'+' if anomalies.get('more') else ''}"
    sections = [
        Section("Spend by tool", [f"{r['name']}: {_change(r)}" for r in data["by_tool"]]),
        Section(
            "Spend by team",
            [
                f"{'(no team)' if r.get('unallocated') else r['team']}: {_change(r)}"
                for r in data["by_team"]
            ],
        ),
        Section(
            f"Open anomalies ({open_count})",
            [
                f"{a['kind'].replace('_', ' ')}: {a['user_email']} on {a['day']}"
                + (f", excess ${a['excess_cost']}" if a.get("excess_cost") is not None else "")
                for a in anomalies["top"]
            ],
        ),
    ]
    return Message(
        title=f"Weekly digest {data['start_date']} to {data['end_date']}",
        summary=f"Spend {_change(spend)}.",
        fields=[
            ("Spend", f"${spend['charged']}"),
            ("Week before", f"${spend['previous']}"),
            ("Seats", str(seats["provisioned"])),
            ("Reclaimable seats", str(seats["reclaimable"])),
            ("Reclaimable per month", _money(monthly)),
            ("Open anomalies", open_count),
        ],
        sections=[s for s in sections if s.lines],
    )


# --- Slack ---------------------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    """Slack's three control characters, escaped so text cannot form links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(msg: Message) -> dict[str, Any]:
    """A Block Kit message; ``text`` is the notification's fallback."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": msg.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(msg.summary)}},
    ]
    if msg.fields:
        blocks.append({
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{_mrkdwn(label)}*\n{_mrkdwn(value)}"}
                for label, value in msg.fields[:SLACK_FIELDS]
            ],
        })  # fmt: skip
    for section in msg.sections:
        lines = "\n".join(f"• {_mrkdwn(line)}" for line in section.lines)
        text = f"*{_mrkdwn(section.heading)}*\n{lines}"[:3000]
        blocks += [
            {"type": "divider"},
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        ]
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Sent by {PRODUCT}"}]}
    )
    return {"text": msg.title, "blocks": blocks}


# --- e-mail --------------------------------------------------------------------------------


def email_subject(msg: Message) -> str:
    return f"[{PRODUCT}] {msg.title}"


def email_text(msg: Message) -> str:
    lines = [msg.title, "", msg.summary, ""]
    lines += [f"{label}: {value}" for label, value in msg.fields]
    for section in msg.sections:
        lines += ["", section.heading, *(f"- {line}" for line in section.lines)]
    return "\n".join([*lines, "", f"-- sent by {PRODUCT}", ""])


def email_html(msg: Message) -> str:
    e = html.escape
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{e(label)}</th>'
        f"<td>{e(value)}</td></tr>"
        for label, value in msg.fields
    )
    sections = "".join(
        f"<h3>{e(s.heading)}</h3><ul>{''.join(f'<li>{e(line)}</li>' for line in s.lines)}</ul>"
        for s in msg.sections
    )
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<h2>{e(msg.title)}</h2><p>{e(msg.summary)}</p>"
        f"<table>{rows}</table>{sections}"
        f'<p style="color:#888">Sent by {PRODUCT}</p></body></html>'
    )
