"""Telegram, through python-telegram-bot 22: updates in as `InboundMessage`s, replies out.

The adapter knows nothing of flows. Inbound: polling (Updater) or webhook (our own route,
checked against the secret header), private chats only, duplicates dropped by the inbound
path. Outbound: `TelegramSender` is the delivery worker's sender for this channel.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram import Message as TgMessage
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.delivery import ChannelDown, DeliveryWorker, Due, Undeliverable, Unreachable
from bot.delivery import RetryAfter as PlatformRetryAfter
from bot.inbound import InboundService
from bot.messages import InboundMessage, InboundResult
from bot.pacing import RateLimiter
from bot.settings import Settings
from flows.types import Incoming, IncomingKind, Reply

log = logging.getLogger("listening_post.telegram")
CHANNEL = "telegram"
CALLBACK_VERSION = "v1"
MAX_TEXT = 4096
PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
COMMANDS = [
    BotCommand("start", "Start (or restart) the conversation"),
    BotCommand("help", "What this is and what you can do"),
    BotCommand("stop", "Stop all messages from us"),
    BotCommand("mydata", "See what we hold about you"),
    BotCommand("forget", "Delete what we hold about you"),
]
GROUPS_REPLY = "I only talk one to one. Please message me directly to have your say."
EDITED_REPLY = (
    "I can't see changes to messages I've already read. Please send it again as a new message."
)
OLD_BUTTON = "That button is from an older message. Please type your answer instead."
MEDIA = (
    "photo",
    "voice",
    "audio",
    "video",
    "video_note",
    "document",
    "animation",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
)


def callback_data(value: str) -> str:
    """Button data: a version prefix and the choice value, within Telegram's 64 bytes."""
    data = f"{CALLBACK_VERSION}:{value}"
    if len(data.encode()) > 64:
        raise ValueError(f"choice value too long for a Telegram button: {value!r}")
    return data


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Choices as an inline keyboard: short labels two to a row, long ones on their own."""
    if not reply.choices:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for choice in reply.choices:
        button = InlineKeyboardButton(choice.label, callback_data=callback_data(choice.value))
        if rows and len(rows[-1]) == 1 and len(choice.label) <= 14 and len(rows[-1][0].text) <= 14:
            rows[-1].append(button)
        else:
            rows.append([button])
    return InlineKeyboardMarkup(rows)


def retry_seconds(exc: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (a timedelta under PTB_TIMEDELTA, else a number)."""
    value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """Sends one reply to one chat, translating Telegram's errors for the delivery worker."""

    channel = CHANNEL

    def __init__(
        self, application: Application[Any, Any, Any, Any, Any, Any], limiter: RateLimiter
    ) -> None:
        self.application = application
        self.limiter = limiter

    async def pace(self, address: str) -> None:
        await self.limiter.acquire(address)

    def hold_off(self, seconds: float) -> None:
        self.limiter.hold_off(seconds)

    async def send(self, address: str, reply: Reply, due: Due | None = None) -> str:
        try:
            sent = await self.application.bot.send_message(
                chat_id=int(address), text=reply.text[:MAX_TEXT], reply_markup=keyboard(reply)
            )
        except RetryAfter as exc:
            raise PlatformRetryAfter(retry_seconds(exc)) from exc
        except Forbidden as exc:
            raise Unreachable(exc.message) from exc
        except InvalidToken as exc:
            raise ChannelDown(exc.message) from exc
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise Unreachable(exc.message) from exc
            raise Undeliverable(exc.message) from exc
        return str(sent.message_id)


class TelegramChannel:
    """Starts and stops with `serve`; turns updates into inbound messages."""

    def __init__(self, settings: Settings, inbound: InboundService, worker: DeliveryWorker) -> None:
        # PTB 22 warns on every time period it hands out unless this opts in to timedeltas,
        # and it builds RetryAfter by reading one: without it a 429 arrives as a warning.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        token = settings.telegram.token
        if token is None:
            raise ValueError("telegram.enabled is true but LP_TELEGRAM__TOKEN is not set")
        self.settings = settings
        self.inbound = inbound
        self.worker = worker
        builder = (
            Application.builder()
            .token(token.get_secret_value())
            .base_url(settings.telegram.base_url)
            .base_file_url(settings.telegram.base_file_url)
            .concurrent_updates(True)
        )
        if settings.telegram.mode == "webhook":
            builder = builder.updater(None)
        self.application = builder.build()
        self.application.add_handler(TypeHandler(Update, self.on_update))
        self.application.add_error_handler(self.on_error)
        limiter = RateLimiter(
            settings.delivery.telegram_per_second, settings.delivery.telegram_per_chat_per_second
        )
        self.sender = TelegramSender(self.application, limiter)

    async def start(self) -> None:
        """Connect (getMe), publish the commands, then poll or register the webhook."""
        app = self.application
        await app.initialize()
        await app.bot.set_my_commands(COMMANDS)
        await app.start()
        if self.settings.telegram.mode == "webhook":
            secret = self.settings.telegram.webhook_secret
            await app.bot.set_webhook(
                url=self.settings.server.public_url.rstrip("/") + "/webhooks/telegram",
                secret_token=secret.get_secret_value() if secret else None,
                allowed_updates=["message", "edited_message", "callback_query"],
            )
        else:
            assert app.updater is not None
            await app.bot.delete_webhook()
            await app.updater.start_polling(
                timeout=timedelta(seconds=self.settings.telegram.poll_timeout),
                poll_interval=self.settings.telegram.poll_interval,
                allowed_updates=["message", "edited_message", "callback_query"],
            )
        log.info("telegram_started", extra={"mode": self.settings.telegram.mode})

    async def stop(self) -> None:
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        log.info("telegram_stopped")

    def secret_ok(self, header: str | None) -> bool:
        """Whether a webhook request carries our secret token."""
        secret = self.settings.telegram.webhook_secret
        if secret is None or header is None:
            return False
        return hmac.compare_digest(header.encode(), secret.get_secret_value().encode())

    async def feed(self, data: dict[str, Any]) -> None:
        """A webhook update: processed before we answer, so nothing is lost if we crash."""
        update = Update.de_json(data, self.application.bot)
        await self.application.process_update(update)

    async def on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await self._on_press(update.callback_query)
            return
        if update.edited_message is not None:
            await self._direct(update.edited_message.chat_id, EDITED_REPLY, update.edited_message)
            return
        message = update.message
        if message is None:
            return
        if message.chat.type != "private":
            await self._direct(message.chat_id, GROUPS_REPLY, message)
            return
        await self._handle(incoming_message(message))

    async def _on_press(self, query: CallbackQuery) -> None:
        await query.answer()
        message = query.message
        data = query.data or ""
        if not isinstance(message, TgMessage) or message.chat.type != "private":
            return
        version, _, value = data.partition(":")
        if version != CALLBACK_VERSION or not value:
            await self._direct(message.chat_id, OLD_BUTTON, message)
            return
        label = pressed_label(message, data) or value
        try:
            await message.edit_reply_markup(reply_markup=None)
        except BadRequest as exc:  # already removed: a second press of the same keyboard
            log.info("keyboard_already_removed", extra={"error": exc.message})
        # One answer per keyboard: a second press of the same message is a duplicate.
        now = datetime.now(UTC)
        incoming = Incoming(IncomingKind.CHOICE, now, text=label, choice=value)
        await self._handle(
            InboundMessage(
                CHANNEL,
                str(message.chat_id),
                incoming,
                channel_message_id=f"press:{message.chat_id}:{message.message_id}",
            )
        )

    async def _handle(self, message: InboundMessage) -> None:
        claiming = replace(message, send_at_once=True)

        async def send(result: InboundResult) -> None:
            await self.worker.send_claimed(claiming, result)

        result = await self.inbound.handle(claiming, after_commit=send)
        if result.erased:
            for item in result.replies:  # nothing is kept after erasure, so send directly
                await self._send_now(message.address, item.reply)
        elif any(item.claimed_delivery is None for item in result.replies):
            self.worker.notify()  # queued behind earlier replies: the worker sends them

    async def _direct(self, chat_id: int, text: str, message: TgMessage) -> None:
        """An explanation that changes nothing and is not part of any conversation."""
        log.info("telegram_explained", extra={"chat_type": message.chat.type})
        await self._send_now(str(chat_id), Reply(text))

    async def _send_now(self, address: str, reply: Reply) -> None:
        try:
            await self.sender.pace(address)
            await self.sender.send(address, reply)
        except (TelegramError, Unreachable, Undeliverable, PlatformRetryAfter, ChannelDown) as exc:
            log.warning("telegram_direct_send_failed", extra={"error": str(exc)})

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram_update_failed", exc_info=context.error)


def incoming_message(message: TgMessage) -> InboundMessage:
    """A private-chat message in the project's terms."""
    at = message.date.astimezone(UTC) if message.date else datetime.now(UTC)
    source = None
    if message.text is not None:
        text = message.text
        kind = IncomingKind.TEXT
        command, _, payload = text.partition(" ")
        if command == "/start" and PAYLOAD.match(payload.strip()):
            source = payload.strip()
    elif message.sticker is not None:
        text, kind = "", IncomingKind.STICKER
    elif any(getattr(message, name, None) for name in MEDIA):
        text, kind = message.caption or "", IncomingKind.MEDIA
    else:
        text, kind = "", IncomingKind.UNSUPPORTED
    return InboundMessage(
        CHANNEL,
        str(message.chat_id),
        Incoming(kind, at, text=text),
        channel_message_id=f"{message.chat_id}:{message.message_id}",
        source=source,
    )


def pressed_label(message: TgMessage, data: str) -> str | None:
    """The label of the button whose data was pressed, from the message's keyboard."""
    markup = message.reply_markup
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


def router() -> APIRouter:
    """POST /webhooks/telegram: only with the secret header; processed before answering."""
    routes = APIRouter(tags=["channels"])

    @routes.post("/webhooks/telegram", responses={403: {}, 404: {}, 400: {}})
    async def webhook(request: Request) -> JSONResponse:
        channel: TelegramChannel | None = getattr(request.app.state, "telegram", None)
        if channel is None or channel.settings.telegram.mode != "webhook":
            return JSONResponse({"detail": "Telegram webhooks are not enabled"}, 404)
        if not channel.secret_ok(request.headers.get("X-Telegram-Bot-Api-Secret-Token")):
            return JSONResponse({"detail": "wrong or missing secret token"}, 403)
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"detail": "body is not JSON"}, 400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return JSONResponse({"detail": "not a Telegram update"}, 400)
        await channel.feed(data)
        return JSONResponse({"ok": True})

    return routes
