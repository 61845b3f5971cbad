"""Actions and "you said, we did" updates: record, schedule, cancel. Services take a session.

The dashboard and the CLI call these; they only write rows. The runtime's scheduler picks
up scheduled updates, puts their audience in the outbox and the delivery worker sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import Action, Delivery, Update

MAX_TITLE = 200
# The body goes out with the check-back question; WhatsApp caps a template variable and an
# interactive message body at 1,024 characters, so this leaves room for the question.
MAX_BODY = 900
MAX_PERIOD_DAYS = 365
CANCELLABLE = ("draft", "scheduled")


class UpdateError(ValueError):
    """Something a manager asked for that cannot be done; nothing was changed."""

    status_code = 400


class NotFound(UpdateError):
    status_code = 404


@dataclass(frozen=True)
class ActionDraft:
    """What was done, as a manager records it."""

    title: str
    description: str = ""
    done_by: str = ""
    done_on: date | None = None
    themes: Sequence[str] = ()
    areas: Sequence[str] = ()
    message_ids: Sequence[int] = ()


@dataclass(frozen=True)
class UpdateDraft:
    """An update before it is stored; `send_at` None keeps it a draft."""

    title: str
    body: str
    themes: Sequence[str]
    areas: Sequence[str] = ()
    period_days: int = 90
    send_at: datetime | None = None
    action_id: int | None = None
    known_themes: Sequence[str] = field(default=(), compare=False)


def clean_list(values: Sequence[str]) -> list[str]:
    """Trimmed, de-duplicated, order kept."""
    out: list[str] = []
    for value in values:
        item = value.strip()
        if item and item not in out:
            out.append(item)
    return out


def check_update(draft: UpdateDraft) -> None:
    """Raise UpdateError naming the first problem."""
    title, body = draft.title.strip(), draft.body.strip()
    if not title or len(title) > MAX_TITLE:
        raise UpdateError(f"title: between 1 and {MAX_TITLE} characters")
    if not body or len(body) > MAX_BODY:
        raise UpdateError(f"body: between 1 and {MAX_BODY} characters (it goes out as one message)")
    themes = clean_list(draft.themes)
    if not themes:
        raise UpdateError("themes: choose at least one theme")
    unknown = [t for t in themes if draft.known_themes and t not in draft.known_themes]
    if unknown:
        raise UpdateError(f"themes: unknown theme {unknown[0]!r}")
    if not 1 <= draft.period_days <= MAX_PERIOD_DAYS:
        raise UpdateError(f"period: between 1 and {MAX_PERIOD_DAYS} days")
    if draft.send_at is not None and draft.send_at.tzinfo is None:
        raise UpdateError("send at: needs a time zone")


async def record_action(
    session: AsyncSession, draft: ActionDraft, staff_id: int | None, now: datetime
) -> Action:
    """Store an action with the themes it answers and the messages that prompted it."""
    title = draft.title.strip()
    if not title or len(title) > MAX_TITLE:
        raise UpdateError(f"title: between 1 and {MAX_TITLE} characters")
    if not clean_list(draft.themes):
        raise UpdateError("themes: choose at least one theme")
    action = Action(
        title=title,
        description=draft.description.strip(),
        done_by=draft.done_by.strip()[:200],
        done_on=draft.done_on,
        themes=clean_list(draft.themes),
        areas=clean_list(draft.areas),
        message_ids=sorted(set(draft.message_ids)),
        created_by_id=staff_id,
        created_at=now,
    )
    session.add(action)
    await session.flush()
    return action


async def create_update(
    session: AsyncSession, draft: UpdateDraft, staff_id: int | None, now: datetime
) -> Update:
    """Store an update: a draft, or scheduled for `send_at` (which may be now)."""
    if draft.action_id is not None and await session.get(Action, draft.action_id) is None:
        raise NotFound(f"no action {draft.action_id}")
    check_update(draft)
    row = Update(
        action_id=draft.action_id,
        title=draft.title.strip(),
        body=draft.body.strip(),
        themes=clean_list(draft.themes),
        areas=clean_list(draft.areas),
        period_days=draft.period_days,
        status="draft" if draft.send_at is None else "scheduled",
        send_at=draft.send_at,
        created_by_id=staff_id,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def get_update(session: AsyncSession, update_id: int) -> Update:
    row = await session.get(Update, update_id, populate_existing=True)
    if row is None:
        raise NotFound(f"no update {update_id}")
    return row


async def get_action(session: AsyncSession, action_id: int) -> Action:
    row = await session.get(Action, action_id)
    if row is None:
        raise NotFound(f"no action {action_id}")
    return row


async def schedule(session: AsyncSession, update_id: int, send_at: datetime) -> Update:
    """A draft (or a scheduled update) goes out at `send_at`."""
    if send_at.tzinfo is None:
        raise UpdateError("send at: needs a time zone")
    row = await get_update(session, update_id)
    if row.status not in CANCELLABLE:
        raise UpdateError(f"update {update_id} is {row.status}: it can no longer be scheduled")
    row.status, row.send_at = "scheduled", send_at
    await session.flush()
    return row


async def cancel(session: AsyncSession, update_id: int) -> Update:
    """Stop an update: before it goes out, or what of it is still waiting in the outbox.

    Deliveries already claimed by the delivery worker finish; the rest are cancelled.
    """
    row = await get_update(session, update_id)
    if row.status not in (*CANCELLABLE, "sending"):
        raise UpdateError(f"update {update_id} is {row.status}: there is nothing left to cancel")
    await session.execute(
        update(Delivery)
        .where(Delivery.update_id == update_id, Delivery.status == "queued")
        .values(status="cancelled", error="cancelled by a manager")
        .execution_options(synchronize_session=False)
    )
    went = await session.execute(
        select(Delivery.id)
        .where(Delivery.update_id == update_id, Delivery.status.not_in(["cancelled"]))
        .limit(1)
    )
    row.status = "cancelled" if went.first() is None else "sending"
    await session.flush()
    return row


async def list_updates(session: AsyncSession, limit: int = 200) -> Sequence[Update]:
    query = select(Update).order_by(Update.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()


async def list_actions(session: AsyncSession, limit: int = 200) -> Sequence[Action]:
    query = select(Action).order_by(Action.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()


async def updates_for_action(session: AsyncSession, action_id: int) -> Sequence[Update]:
    query = select(Update).where(Update.action_id == action_id).order_by(Update.id)
    return (await session.execute(query)).scalars().all()


async def due(session: AsyncSession, now: datetime) -> list[int]:
    """Scheduled updates whose time has come, oldest first."""
    query = (
        select(Update.id)
        .where(Update.status == "scheduled", Update.send_at <= now)
        .order_by(Update.send_at, Update.id)
    )
    return list((await session.execute(query)).scalars().all())


async def scheduled(session: AsyncSession) -> list[tuple[int, datetime]]:
    """(id, send_at) of every update waiting for its time."""
    query = select(Update.id, Update.send_at).where(
        Update.status == "scheduled", Update.send_at.is_not(None)
    )
    return [(i, at) for i, at in (await session.execute(query)).all() if at is not None]


async def published(session: AsyncSession, limit: int = 100) -> Sequence[Update]:
    """Updates that went out, newest first, for the public board and feed."""
    query = (
        select(Update)
        .where(Update.status.in_(["sending", "sent"]), Update.sent_at.is_not(None))
        .order_by(Update.sent_at.desc(), Update.id.desc())
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()
