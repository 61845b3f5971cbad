"""The Bot API methods that write to chats: send, show a chat action, edit, answer a button."""

from __future__ import annotations

import math
import time

from tests.fakes.telegram.records import JSON, CallbackAnswer, Edit, SentMessage
from tests.fakes.telegram.requests import ApiError, Params, bad, too_many
from tests.fakes.telegram.rules import (
    BLOCKED,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    RATE_TOLERANCE,
    message_text,
    reply_markup,
)
from tests.fakes.telegram.state import BotMessage, BotState


class Sending(BotState):
    """sendMessage, sendChatAction, editMessageText, editMessageReplyMarkup, answerCallbackQuery."""

    def _refuse_if_blocked(self, chat_id: int) -> None:
        if chat_id in self._chats.blocked:
            raise ApiError(403, BLOCKED)

    def _refuse_if_too_fast(self, chat_id: int, now: float) -> None:
        if not self.enforce_limits:
            return
        window = 1.0 - RATE_TOLERANCE
        recent = [message for message in self.sent if now - message.at < window]
        same_chat = [message for message in recent if message.chat_id == chat_id]
        for crowd, limit in (
            (same_chat, self.per_chat_per_second),
            (recent, self.global_per_second),
        ):
            if crowd and len(crowd) + 1 > limit:
                raise too_many(max(1, math.ceil(crowd[0].at + window - now)))

    async def _send_message(self, params: Params) -> JSON:
        chat_id = params.chat_id()
        source, shown, parse_mode = message_text(params)
        markup = reply_markup(params, inline_only=False)
        self._refuse_if_blocked(chat_id)
        now = time.monotonic()
        self._refuse_if_too_fast(chat_id, now)
        message = BotMessage(
            chat=self._chats.chat(chat_id),
            message_id=self._chats.new_message_id(chat_id),
            text=shown,
            source=source,
            reply_markup=markup if markup and "inline_keyboard" in markup else None,
            date=int(time.time()),
        )
        self._chats.bot_messages[(chat_id, message.message_id)] = message
        self.sent.append(SentMessage(chat_id, message.message_id, source, parse_mode, markup, now))
        return message.as_dict(self.bot_user)

    async def _send_chat_action(self, params: Params) -> bool:
        chat_id = params.chat_id()
        if not params.text("action"):
            raise bad("wrong parameter action in request")
        self._refuse_if_blocked(chat_id)
        return True

    def _message_to_edit(self, params: Params) -> BotMessage:
        if params.text("inline_message_id"):
            raise bad("inline messages are not supported by the fake")
        chat_id = params.chat_id()
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad("message identifier is not specified")
        if (chat_id, message_id) in self._chats.user_messages:
            raise bad("message can't be edited")
        message = self._chats.bot_messages.get((chat_id, message_id))
        if message is None:
            raise bad("message to edit not found")
        self._refuse_if_blocked(chat_id)
        return message

    async def _edit_message_text(self, params: Params) -> JSON:
        message = self._message_to_edit(params)
        source, shown, _ = message_text(params)
        # Without reply_markup, editMessageText takes the inline keyboard away, as Telegram does.
        markup = reply_markup(params, inline_only=True)
        if (source, markup) == (message.source, message.reply_markup):
            raise bad(NOT_MODIFIED)
        message.source, message.text, message.reply_markup = source, shown, markup
        return self._edited(message, "editMessageText", source, markup)

    async def _edit_message_reply_markup(self, params: Params) -> JSON:
        message = self._message_to_edit(params)
        markup = reply_markup(params, inline_only=True)
        if markup == message.reply_markup:
            raise bad(NOT_MODIFIED)
        message.reply_markup = markup
        return self._edited(message, "editMessageReplyMarkup", None, markup)

    def _edited(
        self, message: BotMessage, method: str, text: str | None, markup: JSON | None
    ) -> JSON:
        message.edit_date = int(time.time())
        edit = Edit(method, message.chat["id"], message.message_id, text, markup, time.monotonic())
        self.edits.append(edit)
        return message.as_dict(self.bot_user)

    async def _answer_callback_query(self, params: Params) -> bool:
        query_id = params.text("callback_query_id") or ""
        if query_id not in self._chats.open_queries:
            raise bad(QUERY_TOO_OLD)
        self._chats.open_queries.remove(query_id)
        text, show_alert = params.text("text"), params.flag("show_alert")
        self.callback_answers.append(CallbackAnswer(query_id, text, show_alert, time.monotonic()))
        return True
