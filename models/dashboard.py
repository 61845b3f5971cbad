"""Queries behind the staff dashboard: the inbox, transcripts, corrections, tokens, audit.

Repositories flush but never commit; the caller's transaction decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, and_, case, exists, func, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from models.base import utcnow
from models.repositories import Repository
from models.tables import (
    ApiToken,
    Consent,
    Conversation,
    Message,
    MessageTag,
    PiiReveal,
    Resident,
    SafeguardingAlert,
    StaffUser,
)

HEAR_BACK = "hear_back"


@dataclass(frozen=True)
class MessageFilter:
    """What the inbox, the API and exports narrow messages by (all optional)."""

    theme: str | None = None
    signal: str | None = None
    safeguarding: bool = False
    area: str | None = None
    channel: str | None = None
    since: date | None = None
    until: date | None = None
    consent: bool | None = None  # hear-back consent standing (True), or not (False)
    text: str | None = None


@dataclass(frozen=True)
class InboxRow:
    """One resident message with where it came from."""

    message: Message
    area: str | None
    channel: str


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _label_exists(kind: str, label: str | None) -> ColumnElement[bool]:
    conditions = [
        MessageTag.message_id == Message.id,
        MessageTag.kind == kind,
        MessageTag.removed_at.is_(None),
    ]
    if label is not None:
        conditions.append(MessageTag.label == label)
    return exists().where(*conditions)


def _consent_standing() -> ColumnElement[bool]:
    return exists().where(
        Consent.resident_id == Message.resident_id,
        Consent.purpose == HEAR_BACK,
        Consent.granted.is_(True),
        Consent.withdrawn_at.is_(None),
    )


def filtered_messages(found: MessageFilter) -> Select[Message, str | None, str]:
    """Inbound messages matching `found`, newest (highest id) first.

    A theme filter drives the query from the (kind, label, message_id) index, so a page is
    an index range scan whatever the table's size.
    """
    query = select(Message, Resident.area, Resident.channel).join(
        Resident, Resident.id == Message.resident_id
    )
    order = Message.id
    if found.theme is not None:
        theme = aliased(MessageTag)
        query = query.join(
            theme,
            and_(
                theme.message_id == Message.id,
                theme.kind == "theme",
                theme.label == found.theme,
                theme.removed_at.is_(None),
            ),
        )
        order = theme.message_id
    query = query.where(Message.direction == "in")
    for condition in _conditions(found):
        query = query.where(condition)
    return query.order_by(order.desc())


def _conditions(found: MessageFilter) -> list[ColumnElement[bool]]:
    """What `found` asks of a message besides its theme, in the order they are applied."""
    conditions: list[ColumnElement[bool]] = []
    if found.signal is not None:
        conditions.append(_label_exists("signal", found.signal))
    if found.safeguarding:
        conditions.append(_label_exists("safeguarding", None))
    if found.area is not None:
        conditions.append(Resident.area == found.area)
    if found.channel is not None:
        conditions.append(Resident.channel == found.channel)
    if found.since is not None:
        conditions.append(Message.created_at >= day_start(found.since))
    if found.until is not None:
        conditions.append(Message.created_at < day_start(found.until + timedelta(days=1)))
    if found.consent is not None:
        standing = _consent_standing()
        conditions.append(standing if found.consent else ~standing)
    if found.text:
        conditions.append(func.lower(Message.text).contains(found.text.lower(), autoescape=True))
    return conditions


class InboxRepository(Repository):
    async def page(
        self, found: MessageFilter, before: int | None, limit: int
    ) -> tuple[list[InboxRow], int | None]:
        """Up to `limit` rows older than message id `before`, and the cursor of the next page."""
        query = filtered_messages(found)
        if before is not None:
            query = query.where(Message.id < before)
        rows = (await self.session.execute(query.limit(limit + 1))).all()
        page = [InboxRow(message, area, channel) for message, area, channel in rows[:limit]]
        more = len(rows) > limit
        return page, (page[-1].message.id if more and page else None)

    async def tags(self, message_ids: Sequence[int]) -> dict[int, list[MessageTag]]:
        """Standing tags of each message, model first then staff, in the order made."""
        found: dict[int, list[MessageTag]] = {mid: [] for mid in message_ids}
        if not message_ids:
            return found
        query = (
            select(MessageTag)
            .where(MessageTag.message_id.in_(message_ids), MessageTag.removed_at.is_(None))
            .order_by(MessageTag.message_id, MessageTag.id)
        )
        for tag in (await self.session.execute(query)).scalars():
            found[tag.message_id].append(tag)
        return found


class TranscriptRepository(Repository):
    async def resident(self, resident_id: int) -> Resident | None:
        return await self.session.get(Resident, resident_id)

    async def messages(self, resident_id: int, limit: int) -> list[Message]:
        """The resident's last `limit` messages, oldest first."""
        query = (
            select(Message)
            .where(Message.resident_id == resident_id)
            .order_by(Message.id.desc())
            .limit(limit)
        )
        return list(reversed((await self.session.execute(query)).scalars().all()))

    async def conversations(self, resident_id: int) -> dict[int, Conversation]:
        query = select(Conversation).where(Conversation.resident_id == resident_id)
        return {c.id: c for c in (await self.session.execute(query)).scalars()}

    async def alerts(self, resident_id: int) -> Sequence[SafeguardingAlert]:
        query = (
            select(SafeguardingAlert)
            .where(SafeguardingAlert.resident_id == resident_id)
            .order_by(SafeguardingAlert.status.desc(), SafeguardingAlert.id.desc())
        )
        return (await self.session.execute(query)).scalars().all()

    async def hears_back(self, resident_id: int) -> bool:
        query = select(
            exists().where(
                Consent.resident_id == resident_id,
                Consent.purpose == HEAR_BACK,
                Consent.granted.is_(True),
                Consent.withdrawn_at.is_(None),
            )
        )
        return bool((await self.session.execute(query)).scalar_one())


class AlertsRepository(Repository):
    async def listed(self, status: str | None, limit: int = 200) -> Sequence[SafeguardingAlert]:
        query = select(SafeguardingAlert).order_by(SafeguardingAlert.id.desc()).limit(limit)
        if status is not None:
            query = query.where(SafeguardingAlert.status == status)
        return (await self.session.execute(query)).scalars().all()

    async def get(self, alert_id: int) -> SafeguardingAlert | None:
        return await self.session.get(SafeguardingAlert, alert_id)


class TagRepository(Repository):
    async def message(self, message_id: int) -> Message | None:
        return await self.session.get(Message, message_id)

    async def standing(self, message_id: int, kind: str, label: str) -> MessageTag | None:
        query = select(MessageTag).where(
            MessageTag.message_id == message_id,
            MessageTag.kind == kind,
            MessageTag.label == label,
            MessageTag.removed_at.is_(None),
        )
        return (await self.session.execute(query.limit(1))).scalar_one_or_none()

    async def get(self, tag_id: int) -> MessageTag | None:
        return await self.session.get(MessageTag, tag_id)

    async def others_with_label(
        self, message: Message, kind: str, label: str, week: date | None
    ) -> bool:
        """Whether the resident has another message with this label (that week, if given)."""
        query = (
            select(MessageTag.id)
            .join(Message, Message.id == MessageTag.message_id)
            .where(
                Message.resident_id == message.resident_id,
                Message.direction == "in",
                Message.id != message.id,
                MessageTag.kind == kind,
                MessageTag.label == label,
                MessageTag.removed_at.is_(None),
            )
        )
        if week is not None:
            query = query.where(
                Message.created_at >= day_start(week),
                Message.created_at < day_start(week + timedelta(days=7)),
            )
        return (await self.session.execute(query.limit(1))).first() is not None

    async def agreement(self) -> list[tuple[str, str, int, int, int]]:
        """Per label: (kind, label, model tags kept, removed by staff, added by staff).

        "Kept" counts model tags left standing on messages that staff corrected, i.e. where
        a person looked and agreed.
        """
        reviewed = (
            select(MessageTag.message_id)
            .where((MessageTag.source == "staff") | MessageTag.removed_at.is_not(None))
            .distinct()
            .subquery()
        )
        model, staff = MessageTag.source == "model", MessageTag.source == "staff"
        removed, standing = MessageTag.removed_at.is_not(None), MessageTag.removed_at.is_(None)
        query = (
            select(
                MessageTag.kind,
                MessageTag.label,
                func.sum(_flag(model & standing)),
                func.sum(_flag(model & removed)),
                func.sum(_flag(staff & standing)),
            )
            .where(MessageTag.message_id.in_(select(reviewed.c.message_id)))
            .group_by(MessageTag.kind, MessageTag.label)
        )
        return [
            (kind, label, int(kept or 0), int(gone or 0), int(added or 0))
            for kind, label, kept, gone, added in (await self.session.execute(query)).all()
        ]


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


class TokenRepository(Repository):
    async def by_hash(self, token_hash: str) -> ApiToken | None:
        query = select(ApiToken).where(
            ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def of(self, staff_user_id: int) -> Sequence[ApiToken]:
        query = (
            select(ApiToken)
            .where(ApiToken.staff_user_id == staff_user_id)
            .order_by(ApiToken.id.desc())
        )
        return (await self.session.execute(query)).scalars().all()

    async def revoke(self, staff_user_id: int, token_id: int) -> bool:
        statement = (
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                ApiToken.staff_user_id == staff_user_id,
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))


class RevealRepository(Repository):
    def log(self, staff_user_id: int, resident_id: int | None, what: str, reason: str) -> None:
        self.session.add(
            PiiReveal(
                staff_user_id=staff_user_id, resident_id=resident_id, what=what, reason=reason
            )
        )

    async def recent(self, limit: int = 100) -> Sequence[PiiReveal]:
        query = select(PiiReveal).order_by(PiiReveal.id.desc()).limit(limit)
        return (await self.session.execute(query)).scalars().all()


class UsersRepository(Repository):
    async def all(self) -> Sequence[StaffUser]:
        return (
            (await self.session.execute(select(StaffUser).order_by(StaffUser.email)))
            .scalars()
            .all()
        )
