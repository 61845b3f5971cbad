"""Queries, one repository per table family. Repositories flush but never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import (
    Consent,
    Conversation,
    Delivery,
    Erasure,
    Message,
    MessageTag,
    Resident,
    SafeguardingAlert,
    StaffUser,
)


class Repository:
    """Holds the session of the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session


@dataclass(frozen=True)
class Arrival:
    """What an inbound message needs to know about its resident, read in one query."""

    resident: Resident
    conversation: Conversation | None  # the latest, open or not
    seen_message_id: int | None  # this platform message was stored before: a redelivery
    deliveries_waiting: bool  # earlier replies are still queued or being sent


def _arrival_query() -> Select[Resident, Conversation, bool, int | None]:
    """Built once: constructing a statement costs more than running it on SQLite."""
    latest = (
        select(func.max(Conversation.id))
        .where(Conversation.resident_id == Resident.id)
        .correlate(Resident)
        .scalar_subquery()
    )
    waiting = (
        select(Delivery.id)
        .where(Delivery.resident_id == Resident.id, Delivery.status.in_(("queued", "sending")))
        .correlate(Resident)
        .exists()
    )
    seen = (
        select(Message.id)
        .where(
            Message.channel == bindparam("channel"),
            Message.channel_message_id == bindparam("seen"),  # NULL matches nothing
            Message.direction == "in",
        )
        .correlate(None)
        .scalar_subquery()
    )
    return (
        select(Resident, Conversation, waiting, seen)
        .outerjoin(Conversation, Conversation.id == latest)
        .where(Resident.channel == bindparam("channel"), Resident.address == bindparam("address"))
    )


ARRIVAL = _arrival_query()


class ResidentRepository(Repository):
    async def arrival(
        self, channel: str, address: str, channel_message_id: str | None
    ) -> Arrival | None:
        """The resident, their latest conversation, a duplicate and waiting deliveries at once.

        One round trip instead of four: this runs for every message a resident sends.
        """
        params = {"channel": channel, "address": address, "seen": channel_message_id}
        row = (await self.session.execute(ARRIVAL, params)).one_or_none()
        if row is None:
            return None
        return Arrival(row[0], row[1], row[3], bool(row[2]))

    async def find(self, channel: str, address: str) -> Resident | None:
        query = select(Resident).where(Resident.channel == channel, Resident.address == address)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get_or_create(self, channel: str, address: str, at: datetime) -> Resident:
        """The resident on `channel` at `address`, created on first contact."""
        resident = await self.find(channel, address)
        if resident is None:
            resident = Resident(channel=channel, address=address, created_at=at, last_inbound_at=at)
            self.session.add(resident)
            await self.session.flush()
        return resident

    async def erase(self, resident: Resident, via: str) -> None:
        """Delete the resident and everything held about them; keep only that it happened."""
        rid = resident.id
        message_ids = select(Message.id).where(Message.resident_id == rid)
        for statement in (
            delete(MessageTag).where(MessageTag.message_id.in_(message_ids)),
            delete(SafeguardingAlert).where(SafeguardingAlert.resident_id == rid),
            delete(Delivery).where(Delivery.resident_id == rid),
            update(Message).where(Message.resident_id == rid).values(in_reply_to_id=None),
            delete(Message).where(Message.resident_id == rid),
            delete(Conversation).where(Conversation.resident_id == rid),
            delete(Consent).where(Consent.resident_id == rid),
            delete(Resident).where(Resident.id == rid),
        ):
            await self.session.execute(statement.execution_options(synchronize_session=False))
        self.session.expunge(resident)
        self.session.add(Erasure(channel=resident.channel, requested_via=via))
        await self.session.flush()


class ConsentRepository(Repository):
    async def record(
        self, resident: Resident, purpose: str, granted: bool, wording: str, at: datetime
    ) -> Consent:
        """A new decision for `purpose`; it supersedes any earlier one."""
        await self.withdraw(resident.id, at, purpose)
        consent = Consent(
            resident_id=resident.id,
            purpose=purpose,
            granted=granted,
            wording_version=wording,
            channel=resident.channel,
            created_at=at,
        )
        self.session.add(consent)
        await self.session.flush()
        return consent

    async def withdraw(self, resident_id: int, at: datetime, purpose: str | None = None) -> None:
        """Withdraw standing consents (one purpose, or all)."""
        statement = update(Consent).where(
            Consent.resident_id == resident_id, Consent.withdrawn_at.is_(None)
        )
        if purpose is not None:
            statement = statement.where(Consent.purpose == purpose)
        await self.session.execute(statement.values(withdrawn_at=at))

    async def for_resident(self, resident_id: int) -> Sequence[Consent]:
        query = select(Consent).where(Consent.resident_id == resident_id).order_by(Consent.id)
        return (await self.session.execute(query)).scalars().all()


class ConversationRepository(Repository):
    async def latest(self, resident_id: int) -> Conversation | None:
        query = (
            select(Conversation)
            .where(Conversation.resident_id == resident_id)
            .order_by(Conversation.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def open(
        self, resident_id: int, flow: str, state: dict[str, Any], at: datetime
    ) -> Conversation:
        conversation = Conversation(resident_id=resident_id, flow=flow, state=state, started_at=at)
        self.session.add(conversation)
        await self.session.flush()
        return conversation

    async def for_resident(self, resident_id: int) -> Sequence[Conversation]:
        query = (
            select(Conversation)
            .where(Conversation.resident_id == resident_id)
            .order_by(Conversation.id)
        )
        return (await self.session.execute(query)).scalars().all()


class MessageRepository(Repository):
    async def find_inbound(self, channel: str, channel_message_id: str) -> Message | None:
        query = select(Message).where(
            Message.channel == channel,
            Message.channel_message_id == channel_message_id,
            Message.direction == "in",
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def replies_to(self, message_id: int) -> Sequence[Message]:
        query = select(Message).where(Message.in_reply_to_id == message_id).order_by(Message.id)
        return (await self.session.execute(query)).scalars().all()

    async def for_resident(self, resident_id: int, limit: int | None = None) -> Sequence[Message]:
        """Messages oldest first (the last `limit` when given)."""
        query = select(Message).where(Message.resident_id == resident_id)
        if limit is not None:
            query = query.order_by(Message.id.desc()).limit(limit)
            return list(reversed((await self.session.execute(query)).scalars().all()))
        return (await self.session.execute(query.order_by(Message.id))).scalars().all()

    async def tags_for(self, message_ids: Sequence[int]) -> Sequence[MessageTag]:
        if not message_ids:
            return []
        query = (
            select(MessageTag)
            .where(MessageTag.message_id.in_(message_ids), MessageTag.removed_at.is_(None))
            .order_by(MessageTag.id)
        )
        return (await self.session.execute(query)).scalars().all()

    async def count_for(self, resident_id: int) -> tuple[int, int]:
        """(messages from the resident, messages to them)."""
        query = (
            select(Message.direction, func.count())
            .where(Message.resident_id == resident_id)
            .group_by(Message.direction)
        )
        counts = {
            direction: number for direction, number in (await self.session.execute(query)).all()
        }
        return counts.get("in", 0), counts.get("out", 0)


class AlertRepository(Repository):
    async def count_open(self) -> int:
        query = select(func.count()).where(SafeguardingAlert.status == "open")
        return int((await self.session.execute(query)).scalar_one())


class DeliveryRepository(Repository):
    async def for_resident(self, resident_id: int) -> Sequence[Delivery]:
        query = select(Delivery).where(Delivery.resident_id == resident_id).order_by(Delivery.id)
        return (await self.session.execute(query)).scalars().all()


class StaffRepository(Repository):
    async def by_email(self, email: str) -> StaffUser | None:
        query = select(StaffUser).where(StaffUser.email == email.strip().lower())
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get(self, staff_id: int) -> StaffUser | None:
        return await self.session.get(StaffUser, staff_id)


class CorrectionRepository(Repository):
    """Messages whose tags staff changed, with the labels as they now stand."""

    async def corrected_messages(self) -> list[dict[str, Any]]:
        """Labelled-format dicts ({text, themes, signals, safeguarding}) for `themes train`."""
        touched = (
            select(MessageTag.message_id)
            .where((MessageTag.source == "staff") | (MessageTag.removed_at.is_not(None)))
            .distinct()
        )
        query = (
            select(Message.id, Message.text, MessageTag.kind, MessageTag.label)
            .outerjoin(
                MessageTag,
                (MessageTag.message_id == Message.id) & MessageTag.removed_at.is_(None),
            )
            .where(Message.id.in_(touched), Message.direction == "in")
            .order_by(Message.id, MessageTag.id)
        )
        found: dict[int, dict[str, Any]] = {}
        for message_id, text, kind, label in (await self.session.execute(query)).all():
            item = found.setdefault(
                message_id,
                {
                    "id": f"staff-{message_id}",
                    "text": text,
                    "themes": [],
                    "signals": [],
                    "safeguarding": None,
                },
            )
            if kind == "theme" and label not in item["themes"]:
                item["themes"].append(label)
            elif kind == "signal" and label not in item["signals"]:
                item["signals"].append(label)
            elif kind == "safeguarding":
                item["safeguarding"] = label
        return list(found.values())
