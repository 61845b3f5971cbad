"""Plain data the conversation engine takes and gives: no I/O, no framework types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class IncomingKind(StrEnum):
    """What a resident sent, as far as the engine needs to know."""

    TEXT = "text"
    CHOICE = "choice"  # a button press; `choice` holds the value
    STICKER = "sticker"
    MEDIA = "media"  # photo, voice note, video, document, location, contact
    UNSUPPORTED = "unsupported"  # anything else a channel cannot turn into text


@dataclass(frozen=True)
class Incoming:
    """One inbound message, already turned into the engine's terms by a channel adapter."""

    kind: IncomingKind
    at: datetime
    text: str = ""
    choice: str | None = None
    truncated: bool = False  # the channel cut an over-long text to the documented limit


@dataclass(frozen=True)
class Choice:
    """One option of a question: `value` is stable, `label` is what residents see."""

    value: str
    label: str


@dataclass(frozen=True)
class Reply:
    """A message to send; the channel shows choices as buttons or numbered options."""

    text: str
    choices: tuple[Choice, ...] = ()


# ---- effects: what the runtime must do besides sending replies ----


@dataclass(frozen=True)
class AnswerRecorded:
    """The inbound message answered question `step` of `flow`.

    `choice` is the value of the option picked (typed or pressed), None for free text.
    """

    flow: str
    step: str
    choice: str | None = None


@dataclass(frozen=True)
class ConsentRecorded:
    """The resident granted or refused consent for `purpose`, shown `wording_version`."""

    purpose: str
    granted: bool
    wording_version: str


@dataclass(frozen=True)
class AreaRecorded:
    """The resident told us their area (postcode district or neighbourhood, normalised)."""

    area: str


@dataclass(frozen=True)
class ConversationEnded:
    """The conversation is over (`reason`: completed, stopped, expired, restarted)."""

    reason: str


@dataclass(frozen=True)
class ContactStopped:
    """The resident said stop: withdraw every consent, send nothing more until /start."""


@dataclass(frozen=True)
class ContactResumed:
    """A resident who had said stop started again with /start."""


@dataclass(frozen=True)
class DataSummaryRequested:
    """/mydata: the runtime composes a readable summary of what is held and sends it."""


@dataclass(frozen=True)
class ErasureConfirmed:
    """/forget, confirmed: erase the resident's personal data."""


Effect = (
    AnswerRecorded
    | ConsentRecorded
    | AreaRecorded
    | ConversationEnded
    | ContactStopped
    | ContactResumed
    | DataSummaryRequested
    | ErasureConfirmed
)


@dataclass
class State:
    """A resident's conversation state; round-trips through JSON (`to_json`/`from_json`)."""

    flow: str = ""
    step: str | None = None  # the question we are waiting on; None when no question is open
    status: str = "idle"  # idle | active | completed | stopped
    awaiting_forget_confirmation: bool = False
    started_at: datetime | None = None
    last_activity_at: datetime | None = None
    answered: list[str] = field(default_factory=list)  # step ids answered or skipped, in order

    def to_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "step": self.step,
            "status": self.status,
            "awaiting_forget_confirmation": self.awaiting_forget_confirmation,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "last_activity_at": (
                self.last_activity_at.isoformat() if self.last_activity_at else None
            ),
            "answered": list(self.answered),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> State:
        """Rebuild a state; anything missing or malformed falls back to a fresh state's value."""
        if not isinstance(data, dict):
            return cls()
        fresh = cls()

        def when(key: str) -> datetime | None:
            raw = data.get(key)
            try:
                return datetime.fromisoformat(raw) if isinstance(raw, str) else None
            except ValueError:
                return None

        answered = data.get("answered")
        return cls(
            flow=str(data.get("flow") or fresh.flow),
            step=data["step"] if isinstance(data.get("step"), str) else None,
            status=str(data.get("status") or fresh.status),
            awaiting_forget_confirmation=bool(data.get("awaiting_forget_confirmation")),
            started_at=when("started_at"),
            last_activity_at=when("last_activity_at"),
            answered=[str(a) for a in answered] if isinstance(answered, list) else [],
        )


@dataclass(frozen=True)
class Outcome:
    """What `advance` returns: the new state, replies in order, and effects for the runtime."""

    state: State
    replies: tuple[Reply, ...] = ()
    effects: tuple[Effect, ...] = ()
