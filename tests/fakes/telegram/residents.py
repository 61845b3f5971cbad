"""What residents do: the updates a test queues for the bot, as Telegram would build them."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.telegram.records import JSON, buttons
from tests.fakes.telegram.state import BotState


class ResidentControls(BotState):
    """The test's controls for what residents send, edit and press."""

    def user_sends(
        self,
        chat_id: int,
        text: str,
        *,
        user: JSON | None = None,
        chat_type: str = "private",
        update_id: int | None = None,
    ) -> JSON:
        """Queue a text message; a leading /command gets the bot_command entity PTB looks for."""
        return self._user_message(chat_id, _text_content(text), user, chat_type, update_id)

    def user_sends_sticker(self, chat_id: int, *, user: JSON | None = None) -> JSON:
        sticker = self._file(type="regular", width=512, height=512, emoji="👍")
        sticker |= {"is_animated": False, "is_video": False}
        return self._user_message(chat_id, {"sticker": sticker}, user)

    def user_sends_photo(
        self, chat_id: int, *, caption: str | None = None, user: JSON | None = None
    ) -> JSON:
        content: JSON = {"photo": [self._file(width=90, height=90, file_size=1024)]}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(chat_id, content, user)

    def user_sends_voice(self, chat_id: int, *, user: JSON | None = None) -> JSON:
        voice = self._file(duration=3, mime_type="audio/ogg", file_size=4096)
        return self._user_message(chat_id, {"voice": voice}, user)

    def user_sends_location(
        self,
        chat_id: int,
        *,
        latitude: float = 51.5072,
        longitude: float = -0.1276,
        user: JSON | None = None,
    ) -> JSON:
        location = {"latitude": latitude, "longitude": longitude}
        return self._user_message(chat_id, {"location": location}, user)

    def edited_message(self, chat_id: int, message_id: int, text: str) -> JSON:
        """Queue the resident's edit of a message they sent earlier (with user_sends)."""
        original = self._chats.user_messages.get((chat_id, message_id))
        if original is None:
            raise LookupError(f"chat {chat_id} sent no message {message_id}")
        edited = {key: value for key, value in original.items() if key != "entities"}
        edited |= _text_content(text) | {"edit_date": int(time.time())}
        return self._updates.add_new({"edited_message": edited})

    def user_presses(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user: JSON | None = None,
        check_button: bool = True,
    ) -> JSON:
        """Queue a callback_query for a button on a message the bot sent.

        With check_button=False the data need not be on the message's current keyboard, as when
        a resident presses a button just before the bot edits it away.
        """
        message = self._chats.bot_messages.get((chat_id, message_id))
        if message is None:
            raise LookupError(f"the bot sent no message {message_id} to chat {chat_id}")
        if check_button and data not in [d for _, d in buttons(message.reply_markup)]:
            raise ValueError(f"message {message_id} has no button with callback_data {data!r}")
        query_id = str(self._chats.new_id())
        self._chats.open_queries.add(query_id)
        query = {"id": query_id, "from": user or _default_user(chat_id, message.chat["type"])}
        query |= {"message": message.as_dict(self.bot_user), "chat_instance": str(-abs(chat_id))}
        return self._updates.add_new({"callback_query": query | {"data": data}})

    def queue_raw(self, update: JSON) -> JSON:
        """Queue any update as given; reusing an update_id simulates a re-delivered duplicate."""
        if not isinstance(update.get("update_id"), int):
            raise ValueError("an update needs an integer update_id")
        return self._updates.add(dict(update))

    def _user_message(
        self,
        chat_id: int,
        content: JSON,
        user: JSON | None,
        chat_type: str = "private",
        update_id: int | None = None,
    ) -> JSON:
        sender = user or _default_user(chat_id, chat_type)
        chat: JSON = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = sender.get("first_name", "Resident")
        else:
            chat["title"] = f"Chat {chat_id}"
        self._chats.known[chat_id] = chat
        message_id = self._chats.new_message_id(chat_id)
        message = {"message_id": message_id, "from": sender, "chat": chat, "date": int(time.time())}
        message |= content
        self._chats.user_messages[(chat_id, message_id)] = message
        return self._updates.add_new({"message": message}, update_id)

    def _file(self, **fields: Any) -> JSON:
        number = self._chats.new_id()
        return {"file_id": f"file-{number}", "file_unique_id": f"unique-{number}"} | fields


def _default_user(chat_id: int, chat_type: str) -> JSON:
    user_id = chat_id if chat_type == "private" else 7_000_000 + abs(chat_id) % 1_000_000
    return {"id": user_id, "is_bot": False, "first_name": "Resident", "language_code": "en"}


def _text_content(text: str) -> JSON:
    """A resident's text, with the bot_command entity PTB's CommandHandler looks for."""
    content: JSON = {"text": text}
    if text.startswith("/"):
        length = len(text.split(maxsplit=1)[0].encode("utf-16-le")) // 2
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return content
