"""What the fake Bot API records of the bot's calls, for tests to read."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One sendMessage the fake accepted."""

    chat_id: int
    message_id: int
    text: str  # as the bot sent it, markup included
    parse_mode: str | None
    reply_markup: JSON | None
    at: float  # time.monotonic() on arrival

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """(label, callback_data) of each inline button, row by row."""
        return buttons(self.reply_markup)


@dataclass(frozen=True, slots=True)
class Edit:
    """One accepted editMessageText or editMessageReplyMarkup."""

    method: str
    chat_id: int
    message_id: int
    text: str | None  # the new text as the bot sent it, for editMessageText
    reply_markup: JSON | None
    at: float


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """One accepted answerCallbackQuery."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    at: float


@dataclass(frozen=True, slots=True)
class Webhook:
    """The webhook as setWebhook left it."""

    url: str
    secret_token: str | None
    allowed_updates: tuple[str, ...] | None
    max_connections: int


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One POST of an update to the webhook; status is None when the bot could not be reached."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    at: float


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One request to the fake and the status it got (499 if the client had hung up)."""

    method: str
    params: JSON
    status: int
    at: float


@dataclass(frozen=True, slots=True)
class RateViolations:
    """Windows over Telegram's limits: across all chats, and per chat (only chats with any)."""

    overall: int
    per_chat: dict[int, int]

    @property
    def total(self) -> int:
        return self.overall + sum(self.per_chat.values())

    def __bool__(self) -> bool:
        return self.total > 0


def buttons(markup: JSON | None) -> list[tuple[str, str | None]]:
    """(label, callback_data) of each button of an inline keyboard, row by row."""
    rows = (markup or {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data")) for b in itertools.chain.from_iterable(rows)]


def count_rate_violations(
    sent: Sequence[SentMessage],
    per_chat_per_second: float,
    global_per_second: float,
    tolerance: float,
) -> RateViolations:
    """The windows over the limits among `sent`: see FakeTelegram.rate_violations."""
    window = 1.0 - tolerance
    times: dict[int, list[float]] = {}
    for message in sent:
        times.setdefault(message.chat_id, []).append(message.at)
    per_chat = {
        chat: _windows_over(sorted(at), per_chat_per_second, window) for chat, at in times.items()
    }
    overall = _windows_over(sorted(m.at for m in sent), global_per_second, window)
    return RateViolations(overall, {chat: n for chat, n in per_chat.items() if n})


def _windows_over(times: list[float], limit: float, window: float) -> int:
    """How many sends open a window [t, t + window) that holds more than `limit` sends."""
    count, end = 0, 0
    for start_index, start in enumerate(times):
        while end < len(times) and times[end] < start + window:
            end += 1
        if end - start_index > limit:
            count += 1
    return count
