"""The one outbound path for push channels: an outbox in the database, paced and retried.

Inbound handling stores each reply with a queued delivery in the same transaction; this
worker sends due deliveries after commit, one recipient's messages in order, within the
channel's rate limits, and records what happened: sent, retried after the platform's
back-off, or failed with a reason. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.messages import InboundMessage, InboundResult, as_reply
from flows.types import Reply
from models.base import utcnow
from models.db import Database, GroupWriter
from models.tables import Delivery, Message, Resident, Update

log = logging.getLogger("listening_post.delivery")
MAX_ATTEMPTS = 5
BATCH = 200
# How a send ended, for one delivery; rows for many deliveries go in one executemany.
FINISH = (
    update(Delivery)
    .where(Delivery.id == bindparam("delivery_id"))
    .values(
        status=bindparam("new_status"),
        channel_message_id=bindparam("platform_id"),
        sent_at=bindparam("when_sent"),
        attempts=bindparam("attempt"),
        error=bindparam("why"),
    )
)


class SendError(Exception):
    """A send that did not happen, and what to do about it."""


class RetryAfter(SendError):
    """The platform asked us to wait `seconds` (429 or its equivalent)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class Unreachable(SendError):
    """The recipient cannot be reached (blocked the bot, deleted, invalid number)."""


class Undeliverable(SendError):
    """This message cannot be sent now or ever (e.g. a closed window with no template)."""


class ChannelDown(SendError):
    """The channel itself is broken (bad token): stop using it until fixed."""


class Sender(Protocol):
    """A channel's outbound half."""

    channel: str

    async def pace(self, address: str) -> None: ...

    async def send(self, address: str, reply: Reply, due: Due | None = None) -> str: ...

    def hold_off(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class Due:
    """A claimed delivery with what is needed to send it."""

    id: int
    resident_id: int
    address: str
    channel: str
    reply: Reply
    attempts: int
    automated: bool = False  # an update rather than a reply to something the resident said
    last_inbound_at: datetime | None = None
    update_id: int | None = None


class UpdateGate(Protocol):
    """What the worker asks about updates (bot/updates.py): whether, what and how it went."""

    def sends_updates(self) -> bool: ...

    def compose(self, update: Update) -> Reply: ...

    async def clear_to_send(self, item: Due) -> bool: ...

    async def record_sent(self, item: Due, platform_id: str) -> None: ...


class DeliveryWorker:
    """Sends queued deliveries for the channels it has senders for."""

    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        gate: UpdateGate | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.senders = dict(senders)
        self.gate = gate  # without one, updates are left for a process that has
        self.clock = clock
        self.wake = asyncio.Event()
        self.down: set[str] = set()
        self.stopping = False
        self.finished = GroupWriter(db, FINISH)

    def notify(self) -> None:
        """New deliveries were committed: look now rather than at the next tick."""
        self.wake.set()

    async def run(self, idle: float = 1.0) -> None:
        """Send until `stop` is called; a batch under way is finished first."""
        await self.recover()
        while not self.stopping:
            self.wake.clear()
            if not await self.send_due() and not self.stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), idle)

    def stop(self) -> None:
        """Ask `run` to return after the batch it is sending."""
        self.stopping = True
        self.wake.set()

    async def recover(self) -> int:
        """Deliveries left 'sending' by a crash go back in the queue."""
        async with self.db.transaction() as session:
            result = await session.execute(
                update(Delivery).where(Delivery.status == "sending").values(status="queued")
            )
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            log.warning("deliveries_requeued_after_restart", extra={"count": count})
        return count

    async def send_due(self) -> int:
        """Claim what is due and send it; returns how many were attempted."""
        due = await self.claim()
        groups: dict[int, list[Due]] = defaultdict(list)
        for item in due:
            groups[item.resident_id].append(item)
        await asyncio.gather(*(self._send_group(group) for group in groups.values()))
        return len(due)

    async def send_claimed(self, message: InboundMessage, result: InboundResult) -> None:
        """Send the replies an inbound transaction claimed, in order, straight after commit.

        This spares a round through the queue for the commonest send of all, the answer to
        what a resident just said; it keeps the same pacing, retries and records.
        """
        if result.resident_id is None:
            return
        due = [
            Due(
                item.claimed_delivery,
                result.resident_id,
                message.address,
                message.channel,
                item.reply,
                0,
                last_inbound_at=message.incoming.at,
            )
            for item in result.replies
            if item.claimed_delivery is not None
        ]
        if due and message.channel in self.down:
            await self._requeue([item.id for item in due])
        elif due:
            await self._send_group(due)

    async def claim(self) -> list[Due]:
        channels = [c for c in self.senders if c not in self.down]
        if not channels:
            return []
        query = self._due_query(channels, self.clock())
        async with self.db.transaction() as session:
            rows = (await session.execute(query)).all()
            claimed = await _mark_sending(session, [d.id for d, *_ in rows]) if rows else set()
        return [self._due(d, m, r, u) for d, m, r, u in rows if d.id in claimed]

    def _due_query(
        self, channels: list[str], now: datetime
    ) -> Select[Delivery, Message, Resident, Update]:
        """The next batch of queued deliveries on `channels` that are due at `now`."""
        query = (
            select(Delivery, Message, Resident, Update)
            .outerjoin(Message, Message.id == Delivery.message_id)
            .outerjoin(Update, Update.id == Delivery.update_id)
            .join(Resident, Resident.id == Delivery.resident_id)
            .where(
                Delivery.status == "queued",
                Delivery.channel.in_(channels),
                (Delivery.not_before.is_(None)) | (Delivery.not_before <= now),
            )
            .order_by(Delivery.id)
            .limit(BATCH)
        )
        if self.gate is None or not self.gate.sends_updates():
            query = query.where(Delivery.update_id.is_(None))
        # A resident whose reply is being sent straight after their message (send_claimed)
        # waits: their next message must not overtake it.
        in_flight = aliased(Delivery)
        return query.where(
            ~select(in_flight.id)
            .where(in_flight.resident_id == Delivery.resident_id, in_flight.status == "sending")
            .exists()
        )

    def _due(self, d: Delivery, m: Message | None, r: Resident, u: Update | None) -> Due:
        if m is not None:
            reply = as_reply(m)
        elif u is not None and self.gate is not None:
            reply = self.gate.compose(u)
        else:
            reply = Reply("")
        return Due(
            d.id,
            r.id,
            r.address,
            d.channel,
            reply,
            d.attempts,
            automated=d.update_id is not None,
            last_inbound_at=r.last_inbound_at,
            update_id=d.update_id,
        )

    async def _send_group(self, group: Sequence[Due]) -> None:
        """One resident's deliveries, in order; after a failure the rest wait their turn."""
        for position, item in enumerate(group):
            if not await self._send_one(item):
                await self._requeue([d.id for d in group[position + 1 :]])
                return

    async def _send_one(self, item: Due) -> bool:
        sender = self.senders[item.channel]
        # Updates: consent, stop, quiet hours and the frequency cap are checked again now,
        # before queueing for a slot, so nothing slow stands between the slot and the send.
        if item.automated and self.gate is not None and not await self.gate.clear_to_send(item):
            return False
        await sender.pace(item.address)
        if self.stopping:  # asked to stop while waiting for a slot: it goes out after restart
            await self._requeue([item.id])
            return False
        try:
            platform_id = await sender.send(item.address, item.reply, item)
        except RetryAfter as exc:
            sender.hold_off(exc.seconds)
            await self._retry(item, exc.seconds, str(exc), count=False)
            return False
        except Unreachable as exc:
            await self._unreachable(item, str(exc))
            return False
        except Undeliverable as exc:
            await self._finish(item, "not_sendable", error=str(exc))
            return True
        except ChannelDown as exc:
            self.down.add(item.channel)
            log.critical("channel_down", extra={"channel": item.channel, "error": str(exc)})
            await self._retry(item, 0, str(exc), count=False)
            return False
        except Exception as exc:
            log.exception("send_failed", extra={"channel": item.channel, "delivery_id": item.id})
            await self._retry(item, min(2 ** (item.attempts + 1), 300), repr(exc), count=True)
            return False
        if item.automated and self.gate is not None:
            await self.gate.record_sent(item, platform_id)
        else:
            await self._finish(item, "sent", platform_id=platform_id)
        return True

    async def _finish(
        self, item: Due, status: str, *, platform_id: str | None = None, error: str | None = None
    ) -> None:
        """Record how a send ended; sends that end together share a transaction."""
        await self.finished.write(
            {
                "delivery_id": item.id,
                "new_status": status,
                "platform_id": platform_id,
                "when_sent": utcnow() if status == "sent" else None,
                "attempt": item.attempts + 1,
                "why": error,
            }
        )

    async def _retry(self, item: Due, seconds: float, error: str, *, count: bool) -> None:
        attempts = item.attempts + (1 if count else 0)
        status = "failed" if attempts >= MAX_ATTEMPTS else "queued"
        await self.db.write(
            update(Delivery)
            .where(Delivery.id == item.id)
            .values(
                status=status,
                attempts=attempts,
                error=error,
                not_before=utcnow() + timedelta(seconds=seconds),
            )
        )

    async def _unreachable(self, item: Due, error: str) -> None:
        now = utcnow()
        async with self.db.transaction() as session:
            await session.execute(
                update(Resident).where(Resident.id == item.resident_id).values(unreachable_at=now)
            )
            await session.execute(
                update(Delivery)
                .where(
                    Delivery.resident_id == item.resident_id,
                    Delivery.status.in_(["queued", "sending"]),
                )
                .values(status="failed", error=f"unreachable: {error}")
            )
        log.warning("resident_unreachable", extra={"resident_id": item.resident_id})

    async def _requeue(self, ids: list[int]) -> None:
        if not ids:
            return
        await self.db.write(update(Delivery).where(Delivery.id.in_(ids)).values(status="queued"))
        self.notify()  # back in the queue: the worker looks again now, not at its next tick


async def _mark_sending(session: AsyncSession, ids: list[int]) -> set[int]:
    """Mark the deliveries `ids` 'sending'; returns the ids of those this call claimed."""
    # Claimed only if still queued: another process may have taken some meanwhile.
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "queued")
        .values(status="sending")
        .returning(Delivery.id)
    )
    return set(result.scalars().all())
