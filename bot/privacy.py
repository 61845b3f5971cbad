"""What residents can ask of their data: a readable summary (/mydata) and a full export."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows.types import Reply
from models.repositories import (
    ConsentRepository,
    ConversationRepository,
    DeliveryRepository,
    MessageRepository,
)
from models.tables import Resident

PURPOSES = {"hear_back": "messages telling you what changed because of what people said"}


async def data_summary(session: AsyncSession, resident: Resident) -> Reply:
    """/mydata: what we hold about this resident, in plain words."""
    messages = MessageRepository(session)
    sent, received = await messages.count_for(resident.id)
    inbound = [m for m in await messages.for_resident(resident.id) if m.direction == "in"]
    themes = Counter(
        t.label for t in await messages.tags_for([m.id for m in inbound]) if t.kind == "theme"
    )
    lines = [
        "Here is what we hold about you:",
        f"- You first talked to us on {resident.created_at:%d %B %Y}.",
        f"- Messages from you: {sent}. Messages from us: {received}.",
        f"- Your area: {resident.area or 'not given'}.",
    ]
    if themes:
        topics = ", ".join(label.replace("_", " ") for label, _ in themes.most_common())
        lines.append(f"- Topics we noted from what you said: {topics}.")
    lines.extend(await _consent_lines(session, resident))
    lines.append("Send /forget to delete all of it, or /stop to hear nothing more from us.")
    return Reply("\n".join(lines))


async def _consent_lines(session: AsyncSession, resident: Resident) -> list[str]:
    lines = []
    for consent in await ConsentRepository(session).for_resident(resident.id):
        if consent.withdrawn_at is not None:
            continue
        what = PURPOSES.get(consent.purpose, consent.purpose)
        verb = "said yes" if consent.granted else "said no"
        lines.append(f"- You {verb} to {what} on {consent.created_at:%d %B %Y}.")
    if resident.stopped_at is not None:
        lines.append("- You asked us to stop messaging you, so we won't.")
    return lines


async def export_resident(session: AsyncSession, resident: Resident) -> dict[str, Any]:
    """Everything held about one resident, as JSON-ready data."""
    return {
        "resident": _resident(resident),
        "consents": [
            {
                "purpose": c.purpose,
                "granted": c.granted,
                "wording_version": c.wording_version,
                "channel": c.channel,
                "at": c.created_at.isoformat(),
                "withdrawn_at": _iso(c.withdrawn_at),
            }
            for c in await ConsentRepository(session).for_resident(resident.id)
        ],
        "conversations": [
            {
                "flow": c.flow,
                "started_at": c.started_at.isoformat(),
                "ended_at": _iso(c.ended_at),
                "end_reason": c.end_reason,
            }
            for c in await ConversationRepository(session).for_resident(resident.id)
        ],
        "messages": await _messages(session, resident),
        "deliveries": [
            {
                "update_id": d.update_id,
                "status": d.status,
                "at": d.created_at.isoformat(),
                "sent_at": _iso(d.sent_at),
            }
            for d in await DeliveryRepository(session).for_resident(resident.id)
        ],
    }


def _resident(resident: Resident) -> dict[str, Any]:
    return {
        "channel": resident.channel,
        "address": resident.address,
        "area": resident.area,
        "language": resident.language,
        "source": resident.source,
        "created_at": resident.created_at.isoformat(),
        "stopped_at": _iso(resident.stopped_at),
        "paused_at": _iso(resident.paused_at),
        "unreachable_at": _iso(resident.unreachable_at),
    }


async def _messages(session: AsyncSession, resident: Resident) -> list[dict[str, Any]]:
    """Every message with the tags on it (themes, signals, safeguarding, with evidence)."""
    messages = MessageRepository(session)
    rows = await messages.for_resident(resident.id)
    by_message: dict[int, list[dict[str, Any]]] = {}
    for tag in await messages.tags_for([m.id for m in rows]):
        by_message.setdefault(tag.message_id, []).append(
            {
                "kind": tag.kind,
                "label": tag.label,
                "source": tag.source,
                "evidence": tag.evidence_text,
            }
        )
    return [
        {
            "direction": m.direction,
            "kind": m.kind,
            "text": m.text,
            "step": m.step,
            "at": m.created_at.isoformat(),
            "tags": by_message.get(m.id, []),
        }
        for m in rows
    ]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
