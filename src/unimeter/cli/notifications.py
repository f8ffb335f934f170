"""``unimeter notifications``: Slack and e-mail channels, test messages, the weekly digest.

Secrets are read from the environment (``UNIMETER_SLACK_WEBHOOK_URL``,
``UNIMETER_SMTP_PASSWORD``) or a hidden prompt, never from an option a shell history keeps.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from unimeter.analytics import digest as digest_figures
from unimeter.analytics import service as analytics
from unimeter.db.models import NotificationChannel
from unimeter.notifications import repository, service
from unimeter.notifications.schemas import ChannelCreate, ChannelOut, ChannelUpdate
from unimeter.runtime import Runtime
from unimeter.tenancy import repository as tenancy
from unimeter.tenancy.repository import DEFAULT_ENVIRONMENT

from .common import fail, run

app = typer.Typer(help="Slack and e-mail notification channels.", no_args_is_help=True)
console = Console(highlight=False)

EnvOption = Annotated[str, typer.Option("--environment", help="The environment.")]
TopicOption = Annotated[
    list[str] | None,
    typer.Option("--topic", help="anomaly, needs_reauth, sync_failed or digest (repeat)."),
]


async def _environment_id(runtime: Runtime, name: str) -> str:
    async with runtime.db.reader() as session:
        environment = await tenancy.environment_by_name(session, name)
    if environment is None:
        fail(f"environment {name!r} not found")
    return environment.id


async def _channel(runtime: Runtime, channel_id: str) -> NotificationChannel:
    async with runtime.db.reader() as session:
        channel = await repository.get_channel(session, channel_id)
    if channel is None:
        fail(f"notification channel {channel_id} not found")
    return channel


async def _send_due(runtime: Runtime) -> int:
    """Send what is due now from this process (a server's dispatcher would do it too; the
    claims keep them from sending one message twice)."""
    # The senders (SMTP, Slack) only when sending: other commands start without them.
    from unimeter.notifications.dispatcher import NotificationDispatcher

    dispatcher = NotificationDispatcher(runtime)
    total = 0
    try:
        while sent := await dispatcher.dispatch_once():
            total += sent
    finally:
        await dispatcher.aclose()
    return total


def _validated(model: type[ChannelCreate] | type[ChannelUpdate], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        fail(f"{where}: {first['msg']}" if where else first["msg"])


def _print(channel: NotificationChannel) -> None:
    typer.echo(ChannelOut.of(channel).model_dump_json())


@app.command("add")
def add(
    name: Annotated[str, typer.Option(help="What the channel is for.")],
    kind: Annotated[str, typer.Option(help="slack or email.")],
    topic: TopicOption = None,
    min_impact: Annotated[str, typer.Option(help="Minimum anomaly excess cost, USD.")] = "0",
    slack_webhook_url: Annotated[
        str | None, typer.Option(envvar="UNIMETER_SLACK_WEBHOOK_URL", hidden=True)
    ] = None,
    smtp_host: Annotated[str | None, typer.Option(help="SMTP server.")] = None,
    smtp_port: Annotated[int, typer.Option(help="SMTP port.")] = 587,
    smtp_security: Annotated[str, typer.Option(help="starttls, tls or none.")] = "starttls",
    smtp_user: Annotated[str | None, typer.Option(help="SMTP login.")] = None,
    smtp_password: Annotated[
        str | None, typer.Option(envvar="UNIMETER_SMTP_PASSWORD", hidden=True)
    ] = None,
    sender: Annotated[str | None, typer.Option(help="The From address.")] = None,
    to: Annotated[list[str] | None, typer.Option("--to", help="A recipient (repeat).")] = None,
    environment: EnvOption = DEFAULT_ENVIRONMENT,
) -> None:
    """Add a channel. The Slack webhook URL comes from UNIMETER_SLACK_WEBHOOK_URL (or a
    hidden prompt); an SMTP password from UNIMETER_SMTP_PASSWORD."""
    body: dict[str, Any] = {"name": name, "kind": kind, "topics": topic or [],
                            "min_anomaly_impact": min_impact}  # fmt: skip
    if kind == "slack":
        url = slack_webhook_url or typer.prompt("Slack webhook URL", hide_input=True)
        body["slack"] = {"webhook_url": url}
    elif kind == "email":
        body["email"] = {
            "host": smtp_host, "port": smtp_port, "security": smtp_security,
            "username": smtp_user, "password": smtp_password if smtp_user else None,
            "sender": sender, "recipients": to or [],
        }  # fmt: skip
    create = _validated(ChannelCreate, body)

    async def main(runtime: Runtime) -> NotificationChannel:
        env = await _environment_id(runtime, environment)
        try:
            return await service.create_channel(runtime, env, create)
        except service.ChannelError as exc:
            fail(str(exc))

    _print(run(main))


@app.command("list")
def list_channels(
    environment: EnvOption = DEFAULT_ENVIRONMENT,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the environment's channels (secrets show as a hint at most)."""

    async def main(runtime: Runtime) -> list[NotificationChannel]:
        env = await _environment_id(runtime, environment)
        async with runtime.db.reader() as session:
            return list(await repository.page_channels(session, env, None, 1000))

    channels = [ChannelOut.of(c) for c in run(main)]
    if as_json:
        typer.echo(json.dumps([c.model_dump(mode="json") for c in channels]))
        return
    table = Table("id", "name", "kind", "topics", "min impact", "active", "secret")
    for c in channels:
        table.add_row(c.id, c.name, c.kind, ", ".join(c.topics), c.min_anomaly_impact,
                      "yes" if c.is_active else "paused", c.secret_hint or "")  # fmt: skip
    console.print(table)


@app.command("update")
def update(
    channel_id: Annotated[str, typer.Argument(help="The channel's id.")],
    name: Annotated[str | None, typer.Option()] = None,
    topic: TopicOption = None,
    min_impact: Annotated[str | None, typer.Option(help="USD.")] = None,
    active: Annotated[bool | None, typer.Option("--active/--paused")] = None,
) -> None:
    """Rename a channel, change its topics or threshold, pause or resume it."""
    given = {"name": name, "topics": topic, "min_anomaly_impact": min_impact, "is_active": active}
    body = _validated(ChannelUpdate, {k: v for k, v in given.items() if v is not None})

    async def main(runtime: Runtime) -> NotificationChannel | None:
        await _channel(runtime, channel_id)
        try:
            return await service.update_channel(runtime, channel_id, body)
        except service.ChannelError as exc:
            fail(str(exc))

    updated = run(main)
    if updated is None:
        fail(f"notification channel {channel_id} not found")
    _print(updated)


@app.command("remove")
def remove(channel_id: Annotated[str, typer.Argument(help="The channel's id.")]) -> None:
    """Remove a channel and its messages."""

    async def main(runtime: Runtime) -> bool:
        return await service.delete_channel(runtime, channel_id)

    if not run(main):
        fail(f"notification channel {channel_id} not found")
    console.print(f"removed {channel_id}")


@app.command("test")
def send_test_message(
    channel_id: Annotated[str, typer.Argument(help="The channel's id.")],
    send: Annotated[bool, typer.Option("--send/--queue", help="Send it from here now.")] = True,
) -> None:
    """Send a test message to a channel."""

    async def main(runtime: Runtime) -> dict[str, Any]:
        channel = await _channel(runtime, channel_id)
        delivery = await service.send_test(runtime, channel)
        if send:
            await _send_due(runtime)
        async with runtime.db.reader() as session:
            rows = await repository.page_deliveries(session, channel.id, None, 50)
        found = next(d for d in rows if d.id == delivery.id)
        return {"id": found.id, "status": found.status, "last_error": found.last_error}

    outcome = run(main)
    typer.echo(json.dumps(outcome))
    if send and outcome["status"] != "sent":
        fail(f"the test message was not sent: {outcome['last_error']}")


@app.command("digest")
def digest_command(
    environment: EnvOption = DEFAULT_ENVIRONMENT,
    week: Annotated[str | None, typer.Option(help="ISO week (2026-W49); default: last.")] = None,
    send: Annotated[
        bool, typer.Option("--send", help="Queue it to subscribed channels and send now.")
    ] = False,
) -> None:
    """Show the weekly digest's figures (JSON); with --send, deliver it to the subscribed
    channels that have not had this week's digest yet."""
    # The digest's scheduling imports the job queue: only for this command.
    from unimeter.notifications import digest

    async def main(runtime: Runtime) -> dict[str, Any]:
        env = await _environment_id(runtime, environment)
        try:
            chosen = digest.Week.parse(week) if week else None
        except ValueError as exc:
            fail(str(exc))
        chosen = chosen or digest.last_week(analytics.today(runtime))
        body = await digest_figures.build(runtime, env, chosen.start, chosen.end)
        out: dict[str, Any] = {"week": chosen.key.removeprefix("digest:"), **body}
        if send:
            out["queued"] = await digest.queue_week(runtime, digest_figures.build, chosen, env)
            out["attempted"] = await _send_due(runtime)
        return out

    typer.echo(json.dumps(run(main), indent=2))
