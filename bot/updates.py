"""Sending "you said, we did" updates through the one delivery path.

The delivery worker asks `UpdateSending` about every update delivery it claims: at the
moment of sending, is the resident still willing (consent, stop, unreachable, paused, open
safeguarding alert), is it quiet hours in `delivery.timezone` (then it waits until they
end), would it break the frequency cap (then it waits until it would not)? After a send,
the outbound message is stored in a new check-back conversation linked to the update, in
the same transaction that marks the delivery sent, so the resident's answer lands there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import Due
from bot.settings import Settings
from flows import Flow
from flows.checkback import CHECKBACK, checkback_state, update_text, with_checkback
from flows.types import Reply
from models.audience import earliest_sent_since, still_wants_updates, updates_sent_since
from models.base import utcnow
from models.db import Database
from models.tables import Conversation, Delivery, Message
from models.tables import Update as UpdateRow

log = logging.getLogger("listening_post.updates")
WEB = "web"
CONCURRENT_CHECKS = 4


def quiet_until(now: datetime, window: tuple[time, time] | None, zone: ZoneInfo) -> datetime | None:
    """When the quiet hours around `now` end (in UTC); None when `now` is not in them."""
    if window is None or window[0] == window[1]:
        return None
    start, end = window
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    overnight = start > end
    quiet = (clock >= start or clock < end) if overnight else (start <= clock < end)
    if not quiet:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return _at(day, end, zone)


def _at(day: date, when: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, when, tzinfo=zone).astimezone(ZoneInfo("UTC"))


class WebChatSender:
    """The web chat has no push: an update is 'sent' when it is in the resident's chat history."""

    channel = WEB

    async def pace(self, address: str) -> None:
        return None

    def hold_off(self, seconds: float) -> None:
        return None

    async def send(self, address: str, reply: Reply, due: Due | None = None) -> str:
        return f"web:{due.id}" if due is not None else "web"


class UpdateSending:
    """The delivery worker's gate for updates (see bot.delivery.UpdateGate)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        flows: Mapping[str, Flow],
        *,
        clock: Callable[[], datetime] = utcnow,
        leader: Callable[[], bool] = lambda: True,
    ) -> None:
        self.db = db
        self.settings = settings
        self.flows = flows
        self.clock = clock
        self.leader = leader
        self.zone = ZoneInfo(settings.delivery.timezone)
        # A batch's checks take turns: all at once, the first would wait for the slowest
        # and the send rate would dip at every batch.
        self._checks = asyncio.Semaphore(CONCURRENT_CHECKS)

    def sends_updates(self) -> bool:
        """Only the process that holds the scheduler lock sends updates."""
        return self.leader()

    def compose(self, update: UpdateRow) -> Reply:
        return with_checkback(self.flows, update_text(update.title, update.body))

    async def clear_to_send(self, item: Due) -> bool:
        """Send now? Otherwise the delivery is skipped (with why) or waits (until when)."""
        now = self.clock()
        async with self._checks, self.db.sessions() as session:
            cancelled = await self._cancelled(session, item)
            reason = "update cancelled" if cancelled else None
            reason = reason or await still_wants_updates(session, item.resident_id)
            wait = None if reason else await self._wait(session, item, now)
        if reason is not None:
            await self._set(item, status="skipped", error=reason)
            log.info("update_skipped", extra={"delivery_id": item.id, "reason": reason})
            return False
        if wait is not None:
            await self._set(item, status="queued", not_before=wait[0], error=wait[1])
            return False
        return True

    async def _cancelled(self, session: AsyncSession, item: Due) -> bool:
        row = await session.get(UpdateRow, item.update_id) if item.update_id else None
        return row is None or row.status == "cancelled"

    async def _wait(
        self, session: AsyncSession, item: Due, now: datetime
    ) -> tuple[datetime, str] | None:
        quiet = quiet_until(now, self.settings.delivery.quiet_window(), self.zone)
        if quiet is not None:
            return quiet, "waiting for quiet hours to end"
        period = timedelta(days=self.settings.delivery.updates_period_days)
        since = now - period
        if await updates_sent_since(session, item.resident_id, since) < (
            self.settings.delivery.updates_per_resident
        ):
            return None
        first = await earliest_sent_since(session, item.resident_id, since)
        return (first or now) + period, "waiting for the frequency cap"

    async def _set(self, item: Due, **values: object) -> None:
        await self.db.write(update(Delivery).where(Delivery.id == item.id).values(**values))

    async def record_sent(self, item: Due, platform_id: str) -> None:
        """The message, its check-back conversation and the delivery's status, together."""
        now = self.clock()
        flow = self.flows[CHECKBACK]
        async with self.db.transaction() as session:
            delivery = await session.get(Delivery, item.id)
            if delivery is not None and delivery.message_id is not None:
                # Queued with its message already written (e.g. by an older version).
                await self._mark_sent(session, item, platform_id, now, delivery.message_id)
                return
            conversation = await self._start_checkback(session, item, flow, now)
            message = _checkback_message(item, conversation, flow, now)
            session.add(message)
            await session.flush()
            await self._mark_sent(session, item, platform_id, now, message.id)

    async def _start_checkback(
        self, session: AsyncSession, item: Due, flow: Flow, now: datetime
    ) -> Conversation:
        """End the resident's open conversation; a check-back one about the update begins."""
        await session.execute(
            update(Conversation)
            .where(Conversation.resident_id == item.resident_id, Conversation.ended_at.is_(None))
            .values(ended_at=now, end_reason="update")
        )
        conversation = Conversation(
            resident_id=item.resident_id,
            flow=CHECKBACK,
            state=checkback_state(self.flows, now).to_json(),
            started_at=now,
            expires_at=now + timedelta(hours=flow.expires_after_hours),
            update_id=item.update_id,
        )
        session.add(conversation)
        await session.flush()
        return conversation

    async def _mark_sent(
        self, session: AsyncSession, item: Due, platform_id: str, now: datetime, message_id: int
    ) -> None:
        await session.execute(
            update(Delivery)
            .where(Delivery.id == item.id)
            .values(
                status="sent",
                message_id=message_id,
                channel_message_id=platform_id,
                sent_at=now,
                attempts=item.attempts + 1,
                error=None,
                not_before=None,
            )
        )


def _checkback_message(item: Due, conversation: Conversation, flow: Flow, now: datetime) -> Message:
    """The update as sent, asking the check-back flow's first question."""
    return Message(
        resident_id=item.resident_id,
        conversation_id=conversation.id,
        direction="out",
        kind="text",
        channel=item.channel,
        text=item.reply.text,
        choices=[{"value": c.value, "label": c.label} for c in item.reply.choices],
        flow=CHECKBACK,
        step=flow.steps[0].id,
        created_at=now,
    )
