"""Small helpers for driving the inbound path and reading the database in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import InboundMessage, InboundResult
from bot.runtime import Runtime
from flows.types import Incoming, IncomingKind
from models.base import Base
from models.tables import Message

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


class Resident:
    """A simulated resident on one channel; each message a minute after the last."""

    def __init__(self, runtime: Runtime, address: str = "r1", channel: str = "console") -> None:
        self.runtime = runtime
        self.address = address
        self.channel = channel
        self.clock = START
        self.count = 0

    async def say(
        self,
        text: str,
        *,
        choice: str | None = None,
        kind: IncomingKind | None = None,
        message_id: str | None = None,
    ) -> InboundResult:
        self.clock += timedelta(minutes=1)
        self.count += 1
        chosen = kind or (IncomingKind.CHOICE if choice is not None else IncomingKind.TEXT)
        incoming = Incoming(chosen, self.clock, text=text, choice=choice)
        mid = message_id if message_id is not None else f"{self.address}-{self.count}"
        return await self.runtime.inbound.handle(
            InboundMessage(self.channel, self.address, incoming, channel_message_id=mid)
        )


def texts(result: InboundResult) -> list[str]:
    return [item.reply.text for item in result.replies]


async def count(session: AsyncSession, table: type[Base]) -> int:
    return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def inbound_rows(session: AsyncSession) -> list[Message]:
    query = select(Message).where(Message.direction == "in").order_by(Message.id)
    return list((await session.execute(query)).scalars().all())


async def every_text_value(session: AsyncSession) -> list[Any]:
    """Every value of every string or JSON column of every table."""
    values: list[Any] = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            try:
                kind: object = column.type.python_type
            except NotImplementedError:
                kind = None
            if kind in (str, dict, list):
                rows = await session.execute(
                    text(f'SELECT "{column.name}" FROM "{table.name}"')  # noqa: S608
                )
                values.extend(row[0] for row in rows)
    return values
