"""Residents as the inbound path would have left them, written straight into the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models.audience import HEAR_BACK
from models.base import utcnow
from models.tables import Consent, Message, MessageTag, Resident, SafeguardingAlert


@dataclass(frozen=True)
class Someone:
    """What to seed: a resident who said `text`, tagged `themes`, and their hear_back choice."""

    address: str
    themes: tuple[str, ...] = ("housing",)
    hear_back: bool | None = True
    channel: str = "telegram"
    area: str | None = None
    days_ago: float = 1.0
    text: str = "the damp in the flat"
    tag_source: str = "model"


async def seed(session: AsyncSession, who: Someone, now: datetime | None = None) -> Resident:
    now = now or utcnow()
    said_at = now - timedelta(days=who.days_ago)
    resident = Resident(
        channel=who.channel,
        address=who.address,
        area=who.area,
        created_at=said_at,
        last_inbound_at=said_at,
    )
    session.add(resident)
    await session.flush()
    message = Message(
        resident_id=resident.id,
        direction="in",
        channel=who.channel,
        channel_message_id=f"{who.address}-1",
        text=who.text,
        created_at=said_at,
    )
    session.add(message)
    await session.flush()
    for theme in who.themes:
        session.add(
            MessageTag(message_id=message.id, kind="theme", label=theme, source=who.tag_source)
        )
    if who.hear_back is not None:
        session.add(
            Consent(
                resident_id=resident.id,
                purpose=HEAR_BACK,
                granted=who.hear_back,
                wording_version="hear_back-v1",
                channel=who.channel,
                created_at=said_at,
            )
        )
    await session.flush()
    return resident


async def alert(session: AsyncSession, resident: Resident, status: str = "open") -> None:
    session.add(SafeguardingAlert(resident_id=resident.id, category="self_harm", status=status))
    await session.flush()
