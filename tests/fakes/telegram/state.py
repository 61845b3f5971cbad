"""What the fake Bot API remembers between requests, shared by its methods and test controls."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

import httpx

from tests.fakes.telegram.records import (
    JSON,
    ApiCall,
    CallbackAnswer,
    Edit,
    SentMessage,
    Webhook,
    WebhookDelivery,
)
from tests.fakes.telegram.updates import Updates


@dataclass(slots=True)
class BotMessage:
    """A message the bot sent, as it stands after any edits."""

    chat: JSON
    message_id: int
    text: str  # as shown, after entity parsing
    source: str  # as sent
    reply_markup: JSON | None  # inline keyboards only: Telegram returns no other markup
    date: int
    edit_date: int | None = None

    def as_dict(self, sender: JSON) -> JSON:
        message: JSON = {"message_id": self.message_id, "from": sender, "chat": self.chat}
        message |= {"date": self.date, "text": self.text}
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.reply_markup is not None:
            message["reply_markup"] = self.reply_markup
        return message


@dataclass(frozen=True, slots=True)
class Failure:
    """An error that fail_next queued for a method's next call."""

    status: int
    description: str
    retry_after: int | None


class Chats:
    """Both sides' messages in every chat, open callback queries, and who blocked the bot."""

    def __init__(self) -> None:
        self.known: dict[int, JSON] = {}  # as residents' messages showed them
        self.bot_messages: dict[tuple[int, int], BotMessage] = {}
        self.user_messages: dict[tuple[int, int], JSON] = {}
        self.open_queries: set[str] = set()
        self.blocked: set[int] = set()
        self._last_message_id: dict[int, int] = {}
        self._ids = itertools.count(1)

    def chat(self, chat_id: int) -> JSON:
        """The chat as residents' messages showed it; else private for positive ids, else group."""
        return self.known.get(chat_id) or {
            "id": chat_id,
            "type": "private" if chat_id > 0 else "group",
        }

    def new_message_id(self, chat_id: int) -> int:
        # Residents and the bot share one message_id sequence per chat, as in Telegram.
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def new_id(self) -> int:
        """A number for a new file or callback query, unique within the fake."""
        return next(self._ids)


class BotState:
    """Everything the fake remembers: its settings, what the bot did, chats, updates, webhook."""

    def __init__(
        self,
        *,
        token: str,
        enforce_limits: bool,
        per_chat_per_second: float,
        global_per_second: float,
        webhook_attempts: int,
        webhook_retry_delay: float,
    ) -> None:
        self.token = token
        self.enforce_limits = enforce_limits
        self.per_chat_per_second = per_chat_per_second
        self.global_per_second = global_per_second
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self.sent: list[SentMessage] = []
        self.edits: list[Edit] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.deliveries: list[WebhookDelivery] = []
        self.calls: list[ApiCall] = []
        self.bot_user: JSON = {"id": int(token.split(":")[0]), "is_bot": True}
        self.bot_user |= {"first_name": "Listening Post", "username": "listening_post_test_bot"}
        self._chats = Chats()
        self._updates = Updates()
        self._closing = False
        self._poll: asyncio.Event | None = None
        self._waiting_polls = 0
        self._webhook: Webhook | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._deliverer: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None  # made on first delivery: it costs 20 ms
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._failures: dict[str, list[Failure]] = {}
