"""Inbound handling: one transaction per message: store, tag, advance the flow, store replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.effects import EffectContext, apply_effects, save_state
from bot.messages import InboundMessage, InboundResult, OutboundReply, as_reply
from bot.settings import Settings
from bot.tagging import TaggingWorker
from flows import MAX_TEXT_CHARS, Flow, advance
from flows.types import IncomingKind, Reply, State
from models.db import Database
from models.repositories import ConversationRepository, MessageRepository, ResidentRepository
from models.tables import Delivery, Message, MessageTag, Resident, SafeguardingAlert
from themes.types import TagResult

log = logging.getLogger("listening_post.inbound")


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

    async def handle(self, message: InboundMessage) -> InboundResult:
        """Process one message; replies are returned only once the transaction has committed."""
        message = truncate(message)
        tags = await self._tag(message)
        key = f"{message.channel}:{message.address}"
        async with self._locks.hold(key), self.db.transaction() as session:
            result = await self._handle(session, message, tags)
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
        messages = MessageRepository(session)
        if message.channel_message_id is not None:
            seen = await messages.find_inbound(message.channel, message.channel_message_id)
            if seen is not None:
                return await replay(messages, seen)
        at = message.incoming.at
        resident = await ResidentRepository(session).get_or_create(
            message.channel, message.address, at
        )
        if message.source and not resident.source:
            resident.source = message.source[:64]
        resident.last_inbound_at = at
        conversation = await ConversationRepository(session).latest(resident.id)
        inbound = Message(
            resident_id=resident.id,
            conversation_id=conversation.id if conversation else None,
            direction="in",
            kind=str(message.incoming.kind),
            channel=message.channel,
            channel_message_id=message.channel_message_id,
            text=message.incoming.text,
            pipeline_version=tags.version if tags else None,
            created_at=at,
        )
        session.add(inbound)
        if tags is not None and tags.safeguarding is not None:
            await session.flush()
            await store_tags(session, inbound, tags)
            return await self._safeguard(session, resident, inbound, tags.safeguarding)
        state = State.from_json(conversation.state) if conversation else State()
        flow = message.flow or self.settings.conversation.default_flow
        outcome = advance(self.flows, state, message.incoming, default_flow=flow)
        context = EffectContext(session, resident, inbound, conversation, self.settings)
        replies = await apply_effects(context, outcome)
        if context.erased:
            out = tuple(OutboundReply(reply) for reply in replies)
            return InboundResult(out, resident_id=None, erased=True)
        # The message row is written once, complete: after the flow said which step it answered.
        conversation = await save_state(context, outcome, self.flows)
        await session.flush()
        if tags is not None:
            await store_tags(session, inbound, tags)
        conversation_id = conversation.id if conversation else None
        push = message.channel in self.push_channels
        stored = await store_replies(
            session, inbound, conversation_id, coalesce(replies) if push else replies, push
        )
        return InboundResult(
            stored, resident_id=resident.id, message_id=inbound.id, tags=summarise(tags)
        )

    async def _safeguard(
        self, session: AsyncSession, resident: Resident, inbound: Message, category: str
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
            resident.channel in self.push_channels,
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
        await session.execute(insert(MessageTag), rows)


async def store_replies(
    session: AsyncSession,
    inbound: Message,
    conversation: int | None,
    replies: list[Reply],
    push: bool,
) -> tuple[OutboundReply, ...]:
    """Keep each reply as an outbound message linked to the message it answers.

    On push channels (Telegram, WhatsApp) each also gets a queued delivery in the same
    transaction, which the delivery worker sends after commit.
    """
    rows = [
        Message(
            resident_id=inbound.resident_id,
            conversation_id=conversation,
            in_reply_to_id=inbound.id,
            direction="out",
            kind="text",
            channel=inbound.channel,
            text=reply.text,
            choices=[{"value": c.value, "label": c.label} for c in reply.choices] or None,
            created_at=inbound.created_at,
        )
        for reply in replies
    ]
    session.add_all(rows)
    await session.flush()
    if push:
        session.add_all(
            Delivery(
                resident_id=row.resident_id,
                message_id=row.id,
                channel=row.channel,
                created_at=row.created_at,
            )
            for row in rows
        )
        await session.flush()
    return tuple(OutboundReply(r, row.id) for r, row in zip(replies, rows, strict=True))


async def replay(messages: MessageRepository, seen: Message) -> InboundResult:
    """A redelivered message: nothing is stored again; give back what we answered then."""
    rows = await messages.replies_to(seen.id)
    replies = tuple(OutboundReply(as_reply(row), row.id) for row in rows)
    return InboundResult(replies, duplicate=True, resident_id=seen.resident_id, message_id=seen.id)


def summarise(tags: TagResult | None) -> dict[str, list[str]]:
    if tags is None:
        return {}
    return {"themes": list(tags.themes), "signals": list(tags.signals)}
