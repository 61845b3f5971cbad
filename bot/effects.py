"""Carrying out what the conversation engine asks for: consents, area, stop, erasure, state."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.privacy import data_summary
from bot.settings import Settings
from flows import Flow
from flows.types import (
    AnswerRecorded,
    AreaRecorded,
    ConsentRecorded,
    ContactResumed,
    ContactStopped,
    ConversationEnded,
    DataSummaryRequested,
    ErasureConfirmed,
    Outcome,
    Reply,
)
from models.repositories import ConsentRepository, ConversationRepository, ResidentRepository
from models.tables import Conversation, Message, Resident

log = logging.getLogger("listening_post.effects")


@dataclass
class EffectContext:
    """The rows one inbound message touches, inside its transaction."""

    session: AsyncSession
    resident: Resident
    inbound: Message
    conversation: Conversation | None
    settings: Settings
    erased: bool = False
    ended: list[str] = field(default_factory=list)


async def apply_effects(context: EffectContext, outcome: Outcome) -> list[Reply]:
    """Apply each effect in order; returns the replies to send (the engine's, plus summaries)."""
    replies = list(outcome.replies)
    erase = False
    for effect in outcome.effects:
        if isinstance(effect, DataSummaryRequested):
            replies.insert(0, await data_summary(context.session, context.resident))
        elif isinstance(effect, ErasureConfirmed):
            erase = True
        else:
            await _apply(context, effect)
    if erase:
        await ResidentRepository(context.session).erase(context.resident, via="resident")
        context.erased = True
        log.info("resident_erased", extra={"channel": context.resident.channel})
    return replies


async def _apply(context: EffectContext, effect: object) -> None:
    at = context.inbound.created_at
    resident = context.resident
    consents = ConsentRepository(context.session)
    if isinstance(effect, AnswerRecorded):
        context.inbound.flow, context.inbound.step = effect.flow, effect.step
    elif isinstance(effect, ConsentRecorded):
        await consents.record(resident, effect.purpose, effect.granted, effect.wording_version, at)
    elif isinstance(effect, AreaRecorded):
        resident.area = effect.area
    elif isinstance(effect, ConversationEnded):
        context.ended.append(effect.reason)
    elif isinstance(effect, ContactStopped):
        resident.stopped_at = at
        await consents.withdraw(resident.id, at)
    elif isinstance(effect, ContactResumed):
        resident.stopped_at = None


async def save_state(
    context: EffectContext, outcome: Outcome, flows: Mapping[str, Flow]
) -> Conversation | None:
    """Close what ended, open a new conversation when one began, and keep the state."""
    at = context.inbound.created_at
    conversation = context.conversation
    state = outcome.state
    if conversation is not None and context.ended and conversation.ended_at is None:
        conversation.ended_at = at
        conversation.end_reason = context.ended[0]
    starts = state.status == "active" and (conversation is None or bool(context.ended))
    if starts or (conversation is None and state.status != "idle"):
        repo = ConversationRepository(context.session)
        conversation = await repo.open(context.resident.id, state.flow, state.to_json(), at)
    elif conversation is not None:
        conversation.state = state.to_json()
    if conversation is None:
        return None
    if state.status == "completed" and conversation.ended_at is None:
        conversation.ended_at, conversation.end_reason = at, "completed"
    flow = flows.get(state.flow)
    if flow is not None and state.status == "active":
        conversation.expires_at = at + timedelta(hours=flow.expires_after_hours)
    context.inbound.conversation_id = conversation.id
    return conversation
