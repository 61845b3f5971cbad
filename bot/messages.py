"""What channel adapters hand to the runtime, and what the runtime hands back to send."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.types import Choice, Incoming, Reply
from models.tables import Message


@dataclass(frozen=True)
class InboundMessage:
    """One message from a resident, in the project's terms (a channel adapter builds it)."""

    channel: str
    address: str
    incoming: Incoming
    channel_message_id: str | None = None
    source: str | None = None  # where the resident came from (deep-link payload), if known
    flow: str | None = None  # start this flow rather than the default one
    send_at_once: bool = False  # the channel sends its claimed replies itself, after commit


@dataclass(frozen=True)
class OutboundReply:
    """A reply to send after commit; `message_id` is its stored row (None when not kept)."""

    reply: Reply
    message_id: int | None = None
    claimed_delivery: int | None = None  # marked 'sending' for the channel to send at once


@dataclass(frozen=True)
class InboundResult:
    """Replies to send, in order. `duplicate`: already handled, these are the stored replies."""

    replies: tuple[OutboundReply, ...] = ()
    duplicate: bool = False
    resident_id: int | None = None
    message_id: int | None = None
    safeguarding: str | None = None
    erased: bool = False
    tags: dict[str, list[str]] = field(default_factory=dict)


def as_reply(row: Message) -> Reply:
    """A stored outbound message as a Reply again (text and its choices)."""
    return Reply(row.text, tuple(Choice(c["value"], c["label"]) for c in row.choices or []))
