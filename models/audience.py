"""Who an update goes to, the outbox rows that carry it, and how it went. Never commits.

The audience of an update, as issue 8 defines it: residents who
(a) raised any of its themes in the last `period_days` (an inbound message tagged with the
    theme, by the model or by staff, and not taken away by a staff correction),
(b) live in one of its areas, when it names any,
(c) hold an active `hear_back` consent (their latest decision for that purpose is a grant
    that has not been withdrawn),
(d) have not said stop, become unreachable, been paused by safeguarding or got an open
    safeguarding alert (erased residents no longer exist),
on a channel we can reach them on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.base import UTCDateTime
from models.tables import (
    Consent,
    Conversation,
    Delivery,
    Message,
    MessageTag,
    Resident,
    SafeguardingAlert,
    Update,
)

HEAR_BACK = "hear_back"  # the consent purpose of flows/definitions/listening.toml
RECIPIENT_CHANNELS = ("telegram", "whatsapp", "web")
SUPPRESS_UNDER = 5
# Delivery statuses, grouped for the counts an update's page shows.
WENT_OUT = ("sent", "delivered", "read")
WAITING = ("queued", "sending")
FAILED = ("failed", "not_sendable")


def suppressed(count: int) -> str:
    """A count as shown to people: small non-zero numbers could identify someone."""
    return "fewer than 5" if 0 < count < SUPPRESS_UNDER else str(count)


def hear_back_granted() -> Select[int]:
    """Residents whose latest hear_back decision is a standing grant."""
    later = aliased(Consent)
    newer_exists = exists().where(
        later.resident_id == Consent.resident_id,
        later.purpose == HEAR_BACK,
        later.id > Consent.id,
    )
    return select(Consent.resident_id).where(
        Consent.purpose == HEAR_BACK,
        Consent.granted.is_(True),
        Consent.withdrawn_at.is_(None),
        ~newer_exists,
    )


def raised_themes(themes: Sequence[str], since: datetime) -> Select[int]:
    """Residents with an inbound message since `since` tagged with any of `themes`."""
    return (
        select(Message.resident_id)
        .join(MessageTag, MessageTag.message_id == Message.id)
        .where(
            Message.direction == "in",
            Message.created_at >= since,
            MessageTag.kind == "theme",
            MessageTag.label.in_(list(themes)),
            MessageTag.removed_at.is_(None),
        )
    )


def reachable() -> list[ColumnElement[bool]]:
    """Conditions on Resident: still willing and able to hear from us, right now."""
    open_alert = exists().where(
        SafeguardingAlert.resident_id == Resident.id, SafeguardingAlert.status == "open"
    )
    return [
        Resident.stopped_at.is_(None),
        Resident.unreachable_at.is_(None),
        Resident.paused_at.is_(None),
        ~open_alert,
        Resident.id.in_(hear_back_granted()),
    ]


def audience(
    themes: Sequence[str], areas: Sequence[str], period_days: int, now: datetime
) -> Select[int, str]:
    """(resident id, channel) of everyone an update with these terms would reach now."""
    since = now - timedelta(days=period_days)
    query = select(Resident.id, Resident.channel).where(
        Resident.channel.in_(RECIPIENT_CHANNELS),
        Resident.id.in_(raised_themes(themes, since)),
        *reachable(),
    )
    if areas:
        query = query.where(func.lower(Resident.area).in_([a.strip().lower() for a in areas]))
    return query


def audience_of(update_row: Update, now: datetime) -> Select[int, str]:
    return audience(update_row.themes, update_row.areas, update_row.period_days, now)


async def audience_size(session: AsyncSession, update_row: Update, now: datetime) -> int:
    query = select(func.count()).select_from(audience_of(update_row, now).subquery())
    return int((await session.execute(query)).scalar_one())


async def audience_sample(
    session: AsyncSession, update_row: Update, now: datetime, limit: int = 5
) -> list[str]:
    """Texts of recent messages that put residents in the audience (for a manager to check)."""
    members = audience_of(update_row, now).with_only_columns(Resident.id)
    since = now - timedelta(days=update_row.period_days)
    query = (
        raised_themes(update_row.themes, since)
        .with_only_columns(Message.text)
        .where(Message.resident_id.in_(members))
        .distinct()
        .order_by(Message.text)
        .limit(limit)
    )
    return [str(text) for text in (await session.execute(query)).scalars().all()]


async def materialise(session: AsyncSession, update_id: int, now: datetime) -> int | None:
    """Put the update's audience in the outbox, once; None when it is not due (e.g. cancelled).

    One transaction: the status moves from scheduled to sending and one queued delivery per
    resident is inserted, skipping any already there, so a crash before commit leaves
    nothing and a re-run after commit adds nothing.
    """
    moved = await session.execute(
        update(Update)
        .where(Update.id == update_id, Update.status == "scheduled")
        .values(status="sending", sent_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(moved, "rowcount", 0):
        return None
    row = await session.get(Update, update_id, populate_existing=True)
    assert row is not None
    already = exists().where(Delivery.update_id == update_id, Delivery.resident_id == Resident.id)
    members = audience_of(row, now).where(~already)
    source = members.with_only_columns(
        Resident.id,
        Resident.channel,
        literal(update_id),
        literal("queued"),
        literal(0),
        literal(now, UTCDateTime()),
    )
    columns = ["resident_id", "channel", "update_id", "status", "attempts", "created_at"]
    result = await session.execute(insert(Delivery).from_select(columns, source))
    return int(getattr(result, "rowcount", 0) or 0)


async def delivery_counts(session: AsyncSession, update_id: int) -> dict[str, int]:
    """How the update's deliveries stand, plus how many residents replied."""
    query = (
        select(Delivery.status, func.count())
        .where(Delivery.update_id == update_id)
        .group_by(Delivery.status)
    )
    by_status = {status: int(n) for status, n in (await session.execute(query)).all()}

    def total(*statuses: str) -> int:
        return sum(by_status.get(s, 0) for s in statuses)

    return {
        "audience": sum(by_status.values()),
        "queued": total(*WAITING),
        "sent": total(*WENT_OUT),
        "delivered": total("delivered", "read"),
        "read": total("read"),
        "failed": total(*FAILED),
        "skipped": total("skipped"),
        "cancelled": total("cancelled"),
        "replied": await replied_count(session, update_id),
    }


def replies_query(update_id: int) -> Select[Message]:
    return (
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.update_id == update_id, Message.direction == "in")
    )


async def replied_count(session: AsyncSession, update_id: int) -> int:
    residents = replies_query(update_id).with_only_columns(Message.resident_id).distinct()
    query = select(func.count()).select_from(residents.subquery())
    return int((await session.execute(query)).scalar_one())


async def replies(session: AsyncSession, update_id: int, limit: int = 200) -> Sequence[Message]:
    """Residents' answers to an update's check-back question, newest first."""
    query = replies_query(update_id).order_by(Message.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()


async def reply_tags(session: AsyncSession, message_ids: Sequence[int]) -> dict[int, list[str]]:
    """Theme labels standing on each message."""
    if not message_ids:
        return {}
    query = select(MessageTag.message_id, MessageTag.label).where(
        MessageTag.message_id.in_(list(message_ids)),
        MessageTag.kind == "theme",
        MessageTag.removed_at.is_(None),
    )
    found: dict[int, list[str]] = {}
    for message_id, label in (await session.execute(query)).all():
        found.setdefault(message_id, []).append(label)
    return found


async def still_wants_updates(session: AsyncSession, resident_id: int) -> str | None:
    """Why a resident must not get an update now; None when they may."""
    resident = await session.get(Resident, resident_id, populate_existing=True)
    if resident is None:
        return "erased"
    for reason, when in (
        ("stopped", resident.stopped_at),
        ("unreachable", resident.unreachable_at),
        ("paused", resident.paused_at),
    ):
        if when is not None:
            return reason
    alert = select(SafeguardingAlert.id).where(
        SafeguardingAlert.resident_id == resident_id, SafeguardingAlert.status == "open"
    )
    if (await session.execute(alert.limit(1))).first() is not None:
        return "open safeguarding alert"
    granted = hear_back_granted().where(Consent.resident_id == resident_id)
    if (await session.execute(granted.limit(1))).first() is None:
        return "no hear_back consent"
    return None


async def updates_sent_since(session: AsyncSession, resident_id: int, since: datetime) -> int:
    """Updates that went out to a resident since `since` (for the frequency cap)."""
    query = select(func.count()).where(
        Delivery.resident_id == resident_id,
        Delivery.update_id.is_not(None),
        Delivery.status.in_(WENT_OUT),
        Delivery.sent_at > since,
    )
    return int((await session.execute(query)).scalar_one())


async def earliest_sent_since(
    session: AsyncSession, resident_id: int, since: datetime
) -> datetime | None:
    query = select(func.min(Delivery.sent_at)).where(
        Delivery.resident_id == resident_id,
        Delivery.update_id.is_not(None),
        Delivery.status.in_(WENT_OUT),
        Delivery.sent_at > since,
    )
    value: datetime | None = (await session.execute(query)).scalar_one()
    return value


async def finish_sent(session: AsyncSession) -> list[int]:
    """Updates whose every delivery has finished move from sending to sent."""
    pending = exists().where(and_(Delivery.update_id == Update.id, Delivery.status.in_(WAITING)))
    query = select(Update.id).where(Update.status == "sending", ~pending)
    ids = list((await session.execute(query)).scalars().all())
    if ids:
        await session.execute(
            update(Update)
            .where(Update.id.in_(ids), Update.status == "sending")
            .values(status="sent")
            .execution_options(synchronize_session=False)
        )
    return ids
