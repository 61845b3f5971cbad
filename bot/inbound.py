"""Inbound handling: one transaction per message: store, tag, advance the flow, store replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable

from bot.effects import EffectContext, apply_effects, save_state
from bot.messages import InboundMessage, InboundResult, OutboundReply, as_reply
from bot.settings import Settings
from bot.tagging import TaggingWorker
from flows import MAX_TEXT_CHARS, Flow, advance
from flows.types import IncomingKind, Reply, State
from models.db import Database
from models.repositories import Arrival, MessageRepository, ResidentRepository
from models.tables import (
    Conversation,
    Delivery,
    Message,
    MessageTag,
    Resident,
    SafeguardingAlert,
)
from themes.types import TagResult

log = logging.getLogger("listening_post.inbound")
AfterCommit = Callable[[InboundResult], Awaitable[None]]
# Built once and reused: on this path building a statement costs about as much as running it.
# Core statements on the tables, run on the session's connection: the ORM's bulk-insert path
# (and the autoflush before it) cost more than the inserts themselves. The rows they write
# are not ORM objects, and the objects the ORM does track (the resident, the conversation)
# are written at commit as before.
MESSAGES = cast(Table, Message.__table__)
INSERT_MESSAGES = insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True)
DELIVERIES = cast(Table, Delivery.__table__)
INSERT_DELIVERIES = insert(DELIVERIES).returning(DELIVERIES.c.id, sort_by_parameter_order=True)
INSERT_TAGS = insert(cast(Table, MessageTag.__table__))


class KeyedLocks:
    """One asyncio lock per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class InboundService:
    """Handles every resident message on every channel the same way."""

    def __init__(
        self,
        db: Database,
        flows: Mapping[str, Flow],
        tagging: TaggingWorker,
        settings: Settings,
    ) -> None:
        self.db = db
        self.flows = flows
        self.tagging = tagging
        self.settings = settings
        self._locks = KeyedLocks()
        self.push_channels: set[str] = set()

    async def handle(
        self, message: InboundMessage, after_commit: AfterCommit | None = None
    ) -> InboundResult:
        """Process one message; replies are returned only once the transaction has committed.

        `after_commit` (a channel sending the replies it claimed) runs while this resident's
        next message still waits its turn, so replies go out in the order they were written.
        """
        message = truncate(message)
        tags = await self._tag(message)
        key = f"{message.channel}:{message.address}"
        async with self._locks.hold(key):
            async with self.db.transaction(quick=True) as session:
                result = await self._handle(session, message, tags)
            if after_commit is not None:
                await after_commit(result)
        log.info(
            "inbound",
            extra={
                "channel": message.channel,
                "resident_id": result.resident_id,
                "kind": str(message.incoming.kind),
                "chars": len(message.incoming.text),
                "duplicate": result.duplicate,
                "replies": len(result.replies),
                "safeguarding": result.safeguarding,
            },
        )
        return result

    async def _tag(self, message: InboundMessage) -> TagResult | None:
        incoming = message.incoming
        text = incoming.text.strip()
        if incoming.kind is not IncomingKind.TEXT or not text or text.startswith("/"):
            return None
        return await self.tagging.tag(incoming.text)

    async def _handle(
        self, session: AsyncSession, message: InboundMessage, tags: TagResult | None
    ) -> InboundResult:
        residents = ResidentRepository(session)
        arrival = await residents.arrival(
            message.channel, message.address, message.channel_message_id
        )
        if arrival is not None and arrival.seen_message_id is not None:
            return await replay(MessageRepository(session), arrival)
        resident, conversation, waiting = await _arrived(residents, message, arrival)
        # Not added to the session: the row is inserted once, complete, by insert_message.
        inbound = _inbound_row(message, resident, conversation, tags)
        push = message.channel in self.push_channels
        claim = push and message.send_at_once and not waiting
        if tags is not None and tags.safeguarding is not None:
            await insert_message(session, inbound)
            await store_tags(session, inbound, tags)
            return await self._safeguard(session, resident, inbound, tags.safeguarding, claim)
        context = EffectContext(session, resident, inbound, conversation, self.settings)
        return await self._converse(context, message, tags, Outbox(push, claim))

    async def _converse(
        self,
        context: EffectContext,
        message: InboundMessage,
        tags: TagResult | None,
        outbox: Outbox,
    ) -> InboundResult:
        """Advance the flow, apply its effects, then store the message, its tags and the replies."""
        session, resident, inbound = context.session, context.resident, context.inbound
        state = State.from_json(context.conversation.state) if context.conversation else State()
        flow = message.flow or self.settings.conversation.default_flow
        outcome = advance(self.flows, state, message.incoming, default_flow=flow)
        replies = await apply_effects(context, outcome)
        if context.erased:
            out = tuple(OutboundReply(reply) for reply in replies)
            return InboundResult(out, resident_id=None, erased=True)
        # Written after the flow said which step it answered and which conversation it is in.
        conversation = await save_state(context, outcome, self.flows)
        await insert_message(session, inbound)
        if tags is not None:
            await store_tags(session, inbound, tags)
        conversation_id = conversation.id if conversation else None
        replies = coalesce(replies) if outbox.push else replies
        stored = await store_replies(session, inbound, conversation_id, replies, outbox)
        return InboundResult(
            stored, resident_id=resident.id, message_id=inbound.id, tags=summarise(tags)
        )

    async def _safeguard(
        self,
        session: AsyncSession,
        resident: Resident,
        inbound: Message,
        category: str,
        claim: bool,
    ) -> InboundResult:
        """Crisis reply first, an alert for staff, and no automated messages for now."""
        at = inbound.created_at
        session.add(
            SafeguardingAlert(
                resident_id=resident.id, message_id=inbound.id, category=category, created_at=at
            )
        )
        if self.settings.safeguarding.pause_automated_messages:
            resident.paused_at = at
        reply = Reply(self.settings.safeguarding.crisis_reply)
        stored = await store_replies(
            session,
            inbound,
            inbound.conversation_id,
            [reply],
            Outbox(resident.channel in self.push_channels, claim),
        )
        log.log(
            logging.getLevelNamesMapping()[self.settings.safeguarding.alert_log_level],
            "safeguarding_alert",
            extra={"resident_id": resident.id, "message_id": inbound.id, "category": category},
        )
        return InboundResult(
            stored, resident_id=resident.id, message_id=inbound.id, safeguarding=category
        )


def truncate(message: InboundMessage) -> InboundMessage:
    """Cut an over-long text at MAX_TEXT_CHARS and say so to the engine."""
    incoming = message.incoming
    if len(incoming.text) <= MAX_TEXT_CHARS:
        return message
    cut = replace(incoming, text=incoming.text[:MAX_TEXT_CHARS], truncated=True)
    return replace(message, incoming=cut)


async def _arrived(
    residents: ResidentRepository, message: InboundMessage, arrival: Arrival | None
) -> tuple[Resident, Conversation | None, bool]:
    """The resident (new on a first message), their latest conversation, whether replies wait.

    The arrival is noted on the resident: where they came from (if not yet known) and when.
    """
    at = message.incoming.at
    if arrival is None:
        resident = await residents.get_or_create(message.channel, message.address, at)
        conversation, waiting = None, False
    else:
        resident, conversation = arrival.resident, arrival.conversation
        waiting = arrival.deliveries_waiting
    if message.source and not resident.source:
        resident.source = message.source[:64]
    resident.last_inbound_at = at
    return resident, conversation, waiting


def _inbound_row(
    message: InboundMessage,
    resident: Resident,
    conversation: Conversation | None,
    tags: TagResult | None,
) -> Message:
    """The resident's message as a row, built outside the session."""
    return Message(
        resident_id=resident.id,
        conversation_id=conversation.id if conversation else None,
        direction="in",
        kind=str(message.incoming.kind),
        channel=message.channel,
        channel_message_id=message.channel_message_id,
        text=message.incoming.text,
        pipeline_version=tags.version if tags else None,
        created_at=message.incoming.at,
    )


def coalesce(replies: list[Reply], limit: int = 4000) -> list[Reply]:
    """Fold acknowledgements into the message that follows, so a push channel sends one."""
    out: list[Reply] = []
    for reply in replies:
        previous = out[-1] if out else None
        joined = f"{previous.text}\n\n{reply.text}" if previous else ""
        if previous is not None and not previous.choices and len(joined) <= limit:
            out[-1] = Reply(joined, reply.choices)
        else:
            out.append(reply)
    return out


async def store_tags(session: AsyncSession, message: Message, result: TagResult) -> None:
    """One tag row per label, with the first evidence span for it (one bulk INSERT)."""
    labels = [("theme", t) for t in result.themes] + [("signal", s) for s in result.signals]
    if result.safeguarding:
        labels.append(("safeguarding", result.safeguarding))
    rows = []
    for kind, label in labels:
        evidence = next((e for e in result.evidence if e.label == label), None)
        rows.append(
            {
                "message_id": message.id,
                "kind": kind,
                "label": label,
                "source": "model",
                "evidence_start": evidence.start if evidence else None,
                "evidence_end": evidence.end if evidence else None,
                "evidence_text": evidence.text if evidence else None,
                "pipeline_version": result.version,
                "created_at": message.created_at,
            }
        )
    if rows:
        await (await session.connection()).execute(INSERT_TAGS, rows)


@dataclass(frozen=True)
class Outbox:
    """Whether replies get deliveries (push channels) and whether the channel sends them itself."""

    push: bool
    claim: bool = False


async def insert_message(session: AsyncSession, message: Message) -> None:
    """Insert a message built outside the session in one statement (lighter than a flush)."""
    values = {
        column.key: value
        for column in MESSAGES.columns
        if column.key != "id" and (value := getattr(message, column.key)) is not None
    }
    message.id = (await _ids(session, INSERT_MESSAGES, [values]))[0]


async def store_replies(
    session: AsyncSession,
    inbound: Message,
    conversation: int | None,
    replies: list[Reply],
    outbox: Outbox,
) -> tuple[OutboundReply, ...]:
    """Keep each reply as an outbound message linked to the message it answers.

    On push channels (Telegram, WhatsApp) each also gets a delivery in the same transaction:
    queued for the delivery worker, or, when `outbox.claim`, already marked 'sending' for the
    channel to send straight after commit (a crash in between puts it back in the queue).
    """
    if not replies:
        return ()
    ids = await _ids(session, INSERT_MESSAGES, _reply_rows(inbound, conversation, replies))
    if not outbox.push:
        return tuple(OutboundReply(r, i) for r, i in zip(replies, ids, strict=True))
    deliveries = _delivery_rows(inbound, ids, outbox.claim)
    claimed = await _ids(session, INSERT_DELIVERIES, deliveries)
    return tuple(
        OutboundReply(r, i, d if outbox.claim else None)
        for r, i, d in zip(replies, ids, claimed, strict=True)
    )


def _reply_rows(
    inbound: Message, conversation: int | None, replies: list[Reply]
) -> list[dict[str, object]]:
    return [
        {
            "resident_id": inbound.resident_id,
            "conversation_id": conversation,
            "in_reply_to_id": inbound.id,
            "direction": "out",
            "kind": "text",
            "channel": inbound.channel,
            "text": reply.text,
            "choices": [{"value": c.value, "label": c.label} for c in reply.choices] or None,
            "created_at": inbound.created_at,
        }
        for reply in replies
    ]


def _delivery_rows(
    inbound: Message, message_ids: list[int], claim: bool
) -> list[dict[str, object]]:
    return [
        {
            "resident_id": inbound.resident_id,
            "message_id": message_id,
            "channel": inbound.channel,
            "status": "sending" if claim else "queued",
            "created_at": inbound.created_at,
        }
        for message_id in message_ids
    ]


async def _ids(
    session: AsyncSession, statement: Executable, rows: Sequence[Mapping[str, object]]
) -> list[int]:
    """Run an INSERT … RETURNING id over `rows`; the ids in the order of the rows."""
    connection = await session.connection()
    return list((await connection.execute(statement, list(rows))).scalars().all())


async def replay(messages: MessageRepository, arrival: Arrival) -> InboundResult:
    """A redelivered message: nothing is stored again; give back what we answered then."""
    seen = arrival.seen_message_id
    rows = await messages.replies_to(seen) if seen is not None else ()
    replies = tuple(OutboundReply(as_reply(row), row.id) for row in rows)
    return InboundResult(replies, duplicate=True, resident_id=arrival.resident.id, message_id=seen)


def summarise(tags: TagResult | None) -> dict[str, list[str]]:
    if tags is None:
        return {}
    return {"themes": list(tags.themes), "signals": list(tags.signals)}
