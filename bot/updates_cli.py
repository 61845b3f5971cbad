"""`listening-post updates ...`: record an action and its update, schedule, list, show, cancel.

These only write rows; a running `serve` (the one holding the scheduler lock) sends them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import ConfigOption, err, settings_or_exit
from bot.settings import Settings
from flows import load_flows
from flows.checkback import update_text, with_checkback
from models import audience
from models import updates as service
from models.base import utcnow
from models.db import Database
from models.tables import Update
from themes.codebook import load_codebook

app = typer.Typer(help='"You said, we did" updates.', no_args_is_help=True)
T = TypeVar("T")


def parse_when(value: str, zone: ZoneInfo, now: datetime) -> datetime:
    """`now`, or an ISO 8601 time; one without an offset is read in delivery.timezone."""
    if value.strip().lower() == "now":
        return now
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise service.UpdateError(f"send at: not an ISO 8601 time: {value!r}") from exc
    return when.replace(tzinfo=zone) if when.tzinfo is None else when


def run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction; a manager's mistake exits 2 with one line."""

    async def main() -> T:
        db = Database(settings.database.url)
        try:
            async with db.transaction() as session:
                return await work(session)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except service.UpdateError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1 if isinstance(exc, service.NotFound) else 2) from exc


def ready(config: ConfigOption) -> Settings:
    return settings_or_exit(config)


@app.command("create")
def create(
    title: Annotated[str, typer.Option(help="A short headline of what was done.")],
    body: Annotated[str, typer.Option(help="What was done, in plain words (up to 900 chars).")],
    theme: Annotated[list[str], typer.Option(help="A theme id (repeat for more).")],
    area: Annotated[list[str] | None, typer.Option(help="Only residents in this area.")] = None,
    send_at: Annotated[
        str | None, typer.Option(help="ISO 8601 time, or 'now'; without it, a draft.")
    ] = None,
    period_days: Annotated[int, typer.Option(help="Raised the theme in the last N days.")] = 90,
    done_by: Annotated[str, typer.Option(help="Who did it.")] = "",
    done_on: Annotated[str | None, typer.Option(help="When it was done (YYYY-MM-DD).")] = None,
    config: ConfigOption = None,
) -> None:
    """Record an action and its update; prints the update's id and audience size."""
    settings = ready(config)
    zone = ZoneInfo(settings.delivery.timezone)
    known = load_codebook().ids("theme")

    async def work(session: AsyncSession) -> tuple[Update, int]:
        now = utcnow()
        when = parse_when(send_at, zone, now) if send_at is not None else None
        draft_action = _action(title, body, theme, area, done_by, done_on)
        action = await service.record_action(session, draft_action, None, now)
        draft = service.UpdateDraft(
            title, body, theme, area or [], period_days, when, action.id, known_themes=known
        )
        row = await service.create_update(session, draft, None, now)
        return row, await audience.audience_size(session, row, now)

    row, size = run(settings, work)
    sys.stdout.write(f"id: {row.id}\naudience: {audience.suppressed(size)}\n")
    when = f"scheduled for {row.send_at.isoformat()}" if row.send_at else "a draft"
    err.print(f"Update {row.id} is {when}.")


def _action(
    title: str,
    body: str,
    theme: list[str],
    area: list[str] | None,
    done_by: str,
    done_on: str | None,
) -> service.ActionDraft:
    """The action behind an update, from the `create` options."""
    return service.ActionDraft(
        title=title,
        description=body,
        done_by=done_by,
        done_on=_day(done_on),
        themes=theme,
        areas=area or [],
    )


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise service.UpdateError(f"done on: not a date (YYYY-MM-DD): {value!r}") from exc


@app.command("send")
def send(
    update_id: int,
    at: Annotated[str, typer.Option(help="ISO 8601 time, or 'now'.")] = "now",
    config: ConfigOption = None,
) -> None:
    """Schedule a draft (or move a scheduled update's time)."""
    settings = ready(config)
    zone = ZoneInfo(settings.delivery.timezone)

    async def work(session: AsyncSession) -> Update:
        return await service.schedule(session, update_id, parse_when(at, zone, utcnow()))

    row = run(settings, work)
    err.print(f"Update {row.id} is scheduled for {row.send_at}.")


@app.command("cancel")
def cancel(update_id: int, config: ConfigOption = None) -> None:
    """Cancel an update that has not gone out (or what of it is still waiting)."""
    settings = ready(config)

    async def work(session: AsyncSession) -> Update:
        return await service.cancel(session, update_id)

    row = run(settings, work)
    err.print(f"Update {row.id} is now {row.status}.")


@app.command("list")
def list_(config: ConfigOption = None) -> None:
    """Every update, newest first: id, status, when, title."""
    settings = ready(config)

    async def work(session: AsyncSession) -> list[Update]:
        return list(await service.list_updates(session))

    for row in run(settings, work):
        when = row.sent_at or row.send_at
        stamp = when.isoformat(timespec="minutes") if when else "-"
        sys.stdout.write(f"{row.id}\t{row.status}\t{stamp}\t{row.title}\n")


@app.command("show")
def show(update_id: int, config: ConfigOption = None) -> None:
    """One update: its terms, how it reads, its audience or delivery counts."""
    settings = ready(config)
    flows = load_flows()

    async def work(session: AsyncSession) -> tuple[Update, dict[str, int], int]:
        row = await service.get_update(session, update_id)
        counts = await audience.delivery_counts(session, update_id)
        return row, counts, await audience.audience_size(session, row, utcnow())

    row, counts, size = run(settings, work)
    reply = with_checkback(flows, update_text(row.title, row.body))
    lines = [
        f"id: {row.id}",
        f"status: {row.status}",
        f"themes: {', '.join(row.themes)}",
        f"areas: {', '.join(row.areas) or 'all'}",
        f"period: last {row.period_days} days",
        f"send at: {row.send_at.isoformat() if row.send_at else '-'}",
        f"audience now: {audience.suppressed(size)}",
        *(f"{name}: {value}" for name, value in counts.items()),
        "message:",
        reply.text,
        "buttons: " + " / ".join(c.label for c in reply.choices),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
