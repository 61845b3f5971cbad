"""Reviewing what residents said: the inbox, transcripts, tag corrections and alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.counts import Cell, CountsRepository, week_of
from models.dashboard import (
    AlertsRepository,
    InboxRepository,
    MessageFilter,
    RevealRepository,
    TagRepository,
    TranscriptRepository,
)
from models.tables import Conversation, Message, MessageTag, Resident, SafeguardingAlert
from themes.codebook import Codebook
from web.text import Piece, Span, pieces, shown_text

TRANSCRIPT_LIMIT = 500
CORRECTABLE = ("theme", "signal")


class ReviewError(Exception):
    """Something a user asked for that cannot be done; carries its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Chip:
    """A tag as staff see it."""

    id: int
    kind: str
    label: str
    name: str
    staff_made: bool
    evidence: str | None


@dataclass
class Bubble:
    """One message in a transcript or the inbox."""

    message: Message
    pieces: list[Piece]
    chips: list[Chip] = field(default_factory=list)
    area: str | None = None
    channel: str = ""

    def lacks(self, kind: str, codebook: Codebook) -> list[tuple[str, str]]:
        """(id, name) of the labels of `kind` this message does not have yet."""
        have = {chip.label for chip in self.chips}
        return [(e.id, e.name) for e in codebook.of_kind(kind) if e.id not in have]  # type: ignore[arg-type]


@dataclass
class Thread:
    """Consecutive inbox messages from one conversation, shown together."""

    resident_id: int
    conversation_id: int | None
    area: str | None
    channel: str
    bubbles: list[Bubble]


def threads(bubbles: list[Bubble]) -> list[Thread]:
    """Group a page of messages (newest first) by conversation, keeping the order."""
    out: list[Thread] = []
    for item in bubbles:
        message = item.message
        last = out[-1] if out else None
        if last is not None and (last.resident_id, last.conversation_id) == (
            message.resident_id,
            message.conversation_id,
        ):
            last.bubbles.append(item)
        else:
            out.append(
                Thread(
                    message.resident_id, message.conversation_id, item.area, item.channel, [item]
                )
            )
    return out


@dataclass
class Transcript:
    resident: Resident
    bubbles: list[Bubble]
    conversations: dict[int, Conversation]
    alerts: list[SafeguardingAlert]
    hears_back: bool
    revealed: bool


def chips_for(tags: list[MessageTag], codebook: Codebook) -> list[Chip]:
    names = {entry.id: entry.name for entry in codebook.entries}
    return [
        Chip(
            t.id, t.kind, t.label, names.get(t.label, t.label), t.source == "staff", t.evidence_text
        )
        for t in tags
    ]


def bubble(
    message: Message, tags: list[MessageTag], codebook: Codebook, redact_pii: bool
) -> Bubble:
    spans = [
        Span(t.evidence_start, t.evidence_end, t.label)
        for t in tags
        if t.evidence_start is not None and t.evidence_end is not None
    ]
    return Bubble(message, pieces(message.text, spans, redact_pii), chips_for(tags, codebook))


async def inbox_page(
    session: AsyncSession,
    found: MessageFilter,
    before: int | None,
    limit: int,
    codebook: Codebook,
    redact_pii: bool,
) -> tuple[list[Bubble], int | None]:
    """One page of resident messages, newest first, and the cursor of the next."""
    inbox = InboxRepository(session)
    rows, cursor = await inbox.page(found, before, limit)
    tags = await inbox.tags([row.message.id for row in rows])
    bubbles = []
    for row in rows:
        item = bubble(row.message, tags[row.message.id], codebook, redact_pii)
        item.area, item.channel = row.area, row.channel
        bubbles.append(item)
    return bubbles, cursor


async def transcript(
    session: AsyncSession, resident_id: int, codebook: Codebook, redact_pii: bool
) -> Transcript:
    """Everything said with one resident (the last messages), alerts first."""
    repo = TranscriptRepository(session)
    resident = await repo.resident(resident_id)
    if resident is None:
        raise ReviewError("No such resident (they may have asked us to forget them).", 404)
    messages = await repo.messages(resident_id, TRANSCRIPT_LIMIT)
    tags = await InboxRepository(session).tags([m.id for m in messages])
    bubbles = [bubble(m, tags[m.id], codebook, redact_pii) for m in messages]
    return Transcript(
        resident,
        bubbles,
        await repo.conversations(resident_id),
        list(await repo.alerts(resident_id)),
        await repo.hears_back(resident_id),
        revealed=not redact_pii,
    )


def log_reveal(session: AsyncSession, staff_id: int, resident_id: int | None, what: str) -> None:
    RevealRepository(session).log(staff_id, resident_id, what, "")


def check_label(codebook: Codebook, kind: str, label: str) -> None:
    if kind not in CORRECTABLE:
        raise ReviewError("Only themes and signals can be corrected here.", 422)
    if label not in codebook.ids(kind):  # type: ignore[arg-type]
        raise ReviewError(f"{label!r} is not a {kind} in the codebook.", 422)


async def _message(tags: TagRepository, message_id: int) -> Message:
    message = await tags.message(message_id)
    if message is None or message.direction != "in":
        raise ReviewError("No such resident message.", 404)
    return message


async def add_tag(
    session: AsyncSession, codebook: Codebook, staff_id: int, message_id: int, kind: str, label: str
) -> MessageTag:
    """Tag a message as staff; the counts follow at once. Adding a standing tag changes nothing."""
    check_label(codebook, kind, label)
    tags = TagRepository(session)
    message = await _message(tags, message_id)
    standing = await tags.standing(message_id, kind, label)
    if standing is not None:
        return standing
    await _recount(session, message, kind, label, +1)
    tag = MessageTag(
        message_id=message_id,
        kind=kind,
        label=label,
        source="staff",
        staff_user_id=staff_id,
        created_at=utcnow(),
    )
    session.add(tag)
    await session.flush()
    return tag


async def remove_tag(session: AsyncSession, staff_id: int, message_id: int, tag_id: int) -> None:
    """Take a tag away (kept, with who and when, so training and the agreement view see it)."""
    tags = TagRepository(session)
    tag = await tags.get(tag_id)
    if tag is None or tag.message_id != message_id or tag.kind not in CORRECTABLE:
        raise ReviewError("No such theme or signal on that message.", 404)
    if tag.removed_at is not None:
        return
    message = await _message(tags, message_id)
    tag.removed_at, tag.staff_user_id = utcnow(), staff_id
    await session.flush()
    await _recount(session, message, tag.kind, tag.label, -1)


async def _recount(
    session: AsyncSession, message: Message, kind: str, label: str, step: int
) -> None:
    """Move the pre-aggregated counts by one message (and maybe one resident)."""
    resident = await session.get(Resident, message.resident_id)
    if resident is None:
        return
    tags = TagRepository(session)
    week: date = week_of(message.created_at)
    alone_that_week = not await tags.others_with_label(message, kind, label, week)
    alone_ever = not await tags.others_with_label(message, kind, label, None)
    cell = Cell(kind, label, resident.area or "", resident.channel)
    await CountsRepository(session).adjust(
        week, cell, step, step if alone_that_week else 0, step if alone_ever else 0
    )


async def handle_alert(session: AsyncSession, staff_id: int, alert_id: int, note: str) -> int:
    """Mark an alert handled, with a note; returns the resident's id."""
    alert = await AlertsRepository(session).get(alert_id)
    if alert is None:
        raise ReviewError("No such alert.", 404)
    if alert.status != "handled":
        alert.status, alert.handled_at, alert.handled_by_id = "handled", utcnow(), staff_id
        alert.note = note.strip() or None
        await session.flush()
    return alert.resident_id


def export_row(bubble: Bubble, redact_pii: bool) -> dict[str, Any]:
    """One message with its tags, as exported (text redacted unless revealed)."""
    message = bubble.message
    by_kind: dict[str, list[str]] = {"theme": [], "signal": [], "safeguarding": []}
    for chip in bubble.chips:
        by_kind.setdefault(chip.kind, []).append(chip.label)
    return {
        "message_id": message.id,
        "resident_id": message.resident_id,
        "created_at": message.created_at.isoformat(),
        "channel": bubble.channel,
        "area": bubble.area or "",
        "text": shown_text(message.text, redact_pii),
        "themes": by_kind["theme"],
        "signals": by_kind["signal"],
        "safeguarding": by_kind["safeguarding"][0] if by_kind["safeguarding"] else None,
        "staff_corrected": any(chip.staff_made for chip in bubble.chips),
    }
