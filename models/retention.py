"""Retention: messages older than the configured number of days are deleted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import Delivery, Message, MessageTag, SafeguardingAlert


async def purge_messages_before(session: AsyncSession, cutoff: datetime) -> int:
    """Delete messages (with their tags) created before `cutoff`; returns how many."""
    old = select(Message.id).where(Message.created_at < cutoff)
    ids = list((await session.execute(old)).scalars().all())
    if not ids:
        return 0
    for statement in (
        delete(MessageTag).where(MessageTag.message_id.in_(ids)),
        update(SafeguardingAlert)
        .where(SafeguardingAlert.message_id.in_(ids))
        .values(message_id=None),
        update(Delivery).where(Delivery.message_id.in_(ids)).values(message_id=None),
        update(Message).where(Message.in_reply_to_id.in_(ids)).values(in_reply_to_id=None),
        delete(Message).where(Message.id.in_(ids)),
    ):
        await session.execute(statement.execution_options(synchronize_session=False))
    return len(ids)
