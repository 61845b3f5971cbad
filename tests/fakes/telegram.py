"""A fake Telegram Bot API server, speaking real HTTP on loopback, for testing the Telegram channel.

    async with FakeTelegram() as tg, Bot(tg.token, base_url=tg.base_url) as bot:
        tg.user_sends(42, "hello")
        updates = await bot.get_updates(timeout=1)

What it follows, and where it simplifies:

* Requests: ``{base_url}{token}/{method}``, GET or POST; method names are case-insensitive, as
  Telegram's are. Parameters come from the query string and an urlencoded, multipart or JSON
  body. python-telegram-bot (PTB) 22 posts a form in which strings are sent raw and every other
  value JSON-encoded (``chat_id=42``, ``drop_pending_updates=true``, ``reply_markup={...}``), so
  each method reads each parameter as the type it expects, as Telegram does.
* Answers: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description":
  ..., "parameters": {"retry_after": S}}`` with N as the HTTP status.
* Text is measured after entity parsing, trimmed, in UTF-16 code units (Telegram's unit for
  entities). HTML tags are checked; Markdown markup is only stripped; no ``entities`` come back.
* Any integer chat_id is a chat the bot may write to; ``block`` makes one answer 403.
* Updates wait until confirmed (polling) or accepted with a 2xx (webhook) and go out in
  update_id order. Confirming an ``offset`` forgets the updates below it that were already
  queued when the previous getUpdates answered: one queued later is new to the bot even if it
  reuses an old update_id, which is how ``queue_raw`` simulates a re-delivered duplicate.
* Webhook delivery is automatic: while a webhook is set, a background task POSTs each pending
  update, one at a time and in order, with ``X-Telegram-Bot-Api-Secret-Token``; it records each
  status in ``deliveries`` and drops an update after ``webhook_attempts`` failures. It connects
  only to loopback addresses, where plain http is allowed (Telegram insists on https).

Two things PTB does with these answers that tests must expect: a BadRequest's message loses
"Bad Request: " and is capitalize()d ("Bad Request: BUTTON_DATA_INVALID" reads
"Button_data_invalid"); and building RetryAfter warns (PTBDeprecationWarning, an error under
``filterwarnings = error``) unless the environment has ``PTB_TIMEDELTA=true``.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import math
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes import LoopbackServer
from tests.fakes.telegram_rules import (
    BLOCKED,
    CLIENT_CLOSED_REQUEST,
    COMMAND,
    FIRST_UPDATE_ID,
    GLOBAL_PER_SECOND,
    JSON,
    LOOPBACK_HOSTS,
    NOT_MODIFIED,
    OPT_IN_UPDATES,
    PER_CHAT_PER_SECOND,
    POLL_CONFLICT,
    QUERY_TOO_OLD,
    RATE_TOLERANCE,
    SECRET_TOKEN,
    TOKEN,
    WEBHOOK_CONFLICT,
    ApiCall,
    CallbackAnswer,
    Edit,
    RateViolations,
    SentMessage,
    Webhook,
    WebhookDelivery,
    _ApiError,
    _bad,
    _BotMessage,
    _buttons,
    _chat_type,
    _check_webhook_url,
    _commands_key,
    _Failure,
    _message_text,
    _Params,
    _Pending,
    _reply_markup,
    _text_content,
    _too_many,
    _windows_over,
)


class _Updates:
    """Updates waiting for the bot, handed out in update_id order until confirmed or accepted."""

    def __init__(self) -> None:
        self.pending: list[_Pending] = []
        self.allowed: frozenset[str] | None = None  # None: all but the opt-in types
        self.wakeup = asyncio.Event()  # set, and replaced, whenever anything changes
        self._seq = 0
        self._answered_upto = 0
        self._last_update_id = FIRST_UPDATE_ID

    def add(self, update: JSON) -> JSON:
        self._seq += 1
        self._last_update_id = max(self._last_update_id, update["update_id"])
        bisect.insort(self.pending, _Pending(self._seq, update), key=lambda entry: entry.key)
        self.wake()
        return update

    def add_new(self, payload: JSON, update_id: int | None = None) -> JSON:
        update_id = self._last_update_id + 1 if update_id is None else update_id
        return self.add({"update_id": update_id} | payload)

    def wake(self) -> None:
        self.wakeup.set()
        self.wakeup = asyncio.Event()

    def ready(self, limit: int) -> list[_Pending]:
        """The first `limit` pending updates, forgetting those of types the bot did not ask for."""
        allowed = self.allowed
        self.pending = [
            entry
            for entry in self.pending
            if (entry.kind in allowed if allowed else entry.kind not in OPT_IN_UPDATES)
        ]
        return self.pending[:limit]

    def confirm(self, offset: int) -> None:
        """Forget what `offset` confirms: see the module docstring for duplicates."""
        if offset < 0:
            self.pending = self.pending[offset:]
            return
        self.pending = [
            entry
            for entry in self.pending
            if entry.update["update_id"] >= offset or entry.seq > self._answered_upto
        ]

    def answered(self) -> None:
        """Note that getUpdates answered: what is queued now counts as handed out."""
        self._answered_upto = self._seq

    def forget(self, entry: _Pending) -> None:
        self.pending = [other for other in self.pending if other is not entry]


# --- The fake ---------------------------------------------------------------------------------


Handler = Callable[[_Params], Awaitable[Any]]


class FakeTelegram:
    """The Bot API for one bot over loopback HTTP, plus controls for the test that drives it."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        enforce_limits: bool = False,
        per_chat_per_second: float = PER_CHAT_PER_SECOND,
        global_per_second: float = GLOBAL_PER_SECOND,
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 0.05,
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
        self._server = LoopbackServer(self._build_app())
        self._updates = _Updates()
        self._closing = False
        self._poll: asyncio.Event | None = None
        self._waiting_polls = 0
        self._webhook: Webhook | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._deliverer: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None  # made on first delivery: it costs 20 ms
        self._chats: dict[int, JSON] = {}
        self._messages: dict[tuple[int, int], _BotMessage] = {}
        self._user_messages: dict[tuple[int, int], JSON] = {}
        self._last_message_id: dict[int, int] = {}
        self._open_queries: set[str] = set()
        self._ids = itertools.count(1)
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._blocked: set[int] = set()

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)`` and ``ApplicationBuilder().base_url(...)``."""
        return f"{self._server.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self._server.url}/file/bot"

    async def __aenter__(self) -> Self:
        await self._server.__aenter__()
        self._deliverer = asyncio.create_task(self._deliver_forever())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closing = True  # long polls answer at once, so uvicorn can stop
        self._updates.wake()
        if self._deliverer is not None:
            self._deliverer.cancel()
            await asyncio.gather(self._deliverer, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
        await self._server.__aexit__(exc_type, exc, traceback)

    # --- Test controls: what residents do

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
        original = self._user_messages.get((chat_id, message_id))
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
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise LookupError(f"the bot sent no message {message_id} to chat {chat_id}")
        if check_button and data not in [d for _, d in _buttons(message.reply_markup)]:
            raise ValueError(f"message {message_id} has no button with callback_data {data!r}")
        query_id = str(next(self._ids))
        self._open_queries.add(query_id)
        query = {"id": query_id, "from": user or self._default_user(chat_id, message.chat["type"])}
        query |= {"message": message.as_dict(self.bot_user), "chat_instance": str(-abs(chat_id))}
        return self._updates.add_new({"callback_query": query | {"data": data}})

    def queue_raw(self, update: JSON) -> JSON:
        """Queue any update as given; reusing an update_id simulates a re-delivered duplicate."""
        if not isinstance(update.get("update_id"), int):
            raise ValueError("an update needs an integer update_id")
        return self._updates.add(dict(update))

    # --- Test controls: how Telegram pushes back

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with this error instead of running them."""
        if status == 429 and retry_after is None:
            retry_after = 1
        default = {
            400: "Bad Request",
            403: BLOCKED,
            429: f"Too Many Requests: retry after {retry_after}",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }.get(status, f"Error {status}")
        failure = _Failure(status, description or default, retry_after)
        self._failures.setdefault(method.lower(), []).extend([failure] * times)

    def block(self, chat_id: int) -> None:
        """The resident blocks the bot: sends, chat actions and edits to the chat get 403."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    # --- Test controls: what the bot did

    @property
    def webhook(self) -> Webhook | None:
        return self._webhook

    @property
    def commands(self) -> list[JSON]:
        """The commands set for the default scope and no particular language."""
        return self.commands_for()

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        return list(self._commands.get(_commands_key(scope, language_code), []))

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by an offset or accepted by the webhook."""
        return [entry.update for entry in self._updates.pending]

    @property
    def unanswered_callback_queries(self) -> set[str]:
        return set(self._open_queries)

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [message for message in self.sent if message.chat_id == chat_id]

    def bot_message(self, chat_id: int, message_id: int) -> JSON:
        """A message the bot sent, as it stands after any edits."""
        return self._messages[(chat_id, message_id)].as_dict(self.bot_user)

    async def wait_for_sent(
        self,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test's deadline, not a cancellation scope
        *,
        chat_id: int | None = None,
    ) -> list[SentMessage]:
        """Wait until at least `count` messages were sent in all (or to `chat_id`); return them."""

        def sent() -> list[SentMessage]:
            return list(self.sent) if chat_id is None else self.messages_to(chat_id)

        await self._wait_until(lambda: len(sent()) >= count, timeout, f"{count} sendMessage")
        return sent()

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[ApiCall]:
        """Wait until `method` was called at least `count` times, whatever the outcome."""

        def calls() -> list[ApiCall]:
            return [call for call in self.calls if call.method.lower() == method.lower()]

        await self._wait_until(lambda: len(calls()) >= count, timeout, f"{count} {method}")
        return calls()

    async def wait_for_deliveries(
        self,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[WebhookDelivery]:
        """Wait until the webhook was tried at least `count` times, whatever the outcome."""
        what = f"{count} webhook deliveries"
        await self._wait_until(lambda: len(self.deliveries) >= count, timeout, what)
        return list(self.deliveries)

    async def wait_for_poller(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a getUpdates call is waiting for updates."""
        await self._wait_until(lambda: self._waiting_polls > 0, timeout, "a waiting getUpdates")

    def rate_violations(
        self,
        per_chat_per_second: float = PER_CHAT_PER_SECOND,
        global_per_second: float = GLOBAL_PER_SECOND,
        *,
        tolerance: float = RATE_TOLERANCE,
    ) -> RateViolations:
        """Count the 1-second windows in which the bot sent more than Telegram allows.

        Each accepted sendMessage opens a sliding window [t, t + 1 s - tolerance) at its arrival
        time t; a window holding more sends than the limit is one violation. So a burst of n sends
        to one chat counts n - 1 at 1/s, and sends paced one second apart count none, even with
        up to `tolerance` seconds of scheduling jitter.
        """
        window = 1.0 - tolerance
        times: dict[int, list[float]] = {}
        for message in self.sent:
            times.setdefault(message.chat_id, []).append(message.at)
        per_chat = {
            chat: _windows_over(sorted(at), per_chat_per_second, window)
            for chat, at in times.items()
        }
        overall = _windows_over(sorted(m.at for m in self.sent), global_per_second, window)
        return RateViolations(overall, {chat: n for chat, n in per_chat.items() if n})

    # --- Residents' updates

    def _user_message(
        self,
        chat_id: int,
        content: JSON,
        user: JSON | None,
        chat_type: str = "private",
        update_id: int | None = None,
    ) -> JSON:
        sender = user or self._default_user(chat_id, chat_type)
        chat: JSON = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = sender.get("first_name", "Resident")
        else:
            chat["title"] = f"Chat {chat_id}"
        self._chats[chat_id] = chat
        message_id = self._new_message_id(chat_id)
        message = {"message_id": message_id, "from": sender, "chat": chat, "date": int(time.time())}
        message |= content
        self._user_messages[(chat_id, message_id)] = message
        return self._updates.add_new({"message": message}, update_id)

    @staticmethod
    def _default_user(chat_id: int, chat_type: str) -> JSON:
        user_id = chat_id if chat_type == "private" else 7_000_000 + abs(chat_id) % 1_000_000
        return {"id": user_id, "is_bot": False, "first_name": "Resident", "language_code": "en"}

    def _file(self, **fields: Any) -> JSON:
        number = next(self._ids)
        return {"file_id": f"file-{number}", "file_unique_id": f"unique-{number}"} | fields

    def _new_message_id(self, chat_id: int) -> int:
        # Residents and the bot share one message_id sequence per chat, as in Telegram.
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    async def _wait_until(self, condition: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() >= deadline:
                seen = [(call.method, call.status) for call in self.calls]
                raise TimeoutError(f"no {what} within {seconds} s; calls so far: {seen}")
            await asyncio.sleep(0.005)

    # --- HTTP

    def _build_app(self) -> Starlette:
        self._methods: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "sendchataction": self._send_chat_action,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
        }
        verbs = ["GET", "POST"]
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=verbs),
                Route("/file/bot{token}/{path:path}", self._no_file, methods=verbs),
            ]
        )

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params = _Params({})
        try:
            params = await _Params.read(request)
            result = await self._call(request.path_params["token"], method, params)
            response, status = JSONResponse({"ok": True, "result": result}), 200
        except _ApiError as error:
            response, status = error.response(), error.status
        if await request.is_disconnected():
            status = CLIENT_CLOSED_REQUEST  # e.g. a long poll PTB cancelled as it stopped
        self.calls.append(ApiCall(method, params.values, status, time.monotonic()))
        return response

    async def _call(self, token: str, method: str, params: _Params) -> Any:
        if token != self.token:
            raise _ApiError(401, "Unauthorized")
        handler = self._methods.get(method.lower())
        if handler is None:
            raise _ApiError(404, "Not Found")
        if failures := self._failures.get(method.lower()):
            failure = failures.pop(0)
            raise _ApiError(failure.status, failure.description, retry_after=failure.retry_after)
        return await handler(params)

    async def _no_file(self, request: Request) -> JSONResponse:
        return _ApiError(404, "Not Found").response()

    # --- Methods: the bot and its updates

    async def _get_me(self, params: _Params) -> JSON:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: _Params) -> list[JSON]:
        if self._webhook is not None:
            raise _ApiError(409, WEBHOOK_CONFLICT)
        offset = params.integer("offset")
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        self._set_allowed_updates(params)
        if offset is not None:
            self._updates.confirm(offset)
        if self._poll is not None:
            self._poll.set()  # a newer getUpdates ends the one still waiting
            self._updates.wake()
        mine = self._poll = asyncio.Event()
        try:
            ready = await self._long_poll(limit, time.monotonic() + timeout, mine)
        finally:
            if self._poll is mine:
                self._poll = None
        self._updates.answered()
        return [entry.update for entry in ready]

    async def _long_poll(self, limit: int, deadline: float, mine: asyncio.Event) -> list[_Pending]:
        while not (ready := self._updates.ready(limit)) and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wakeup = self._updates.wakeup
            self._waiting_polls += 1
            try:
                await asyncio.wait_for(wakeup.wait(), remaining)
            except TimeoutError:
                pass
            finally:
                self._waiting_polls -= 1
            if mine.is_set():
                raise _ApiError(409, POLL_CONFLICT)
            if self._webhook is not None:
                raise _ApiError(409, WEBHOOK_CONFLICT)
        return ready

    def _set_allowed_updates(self, params: _Params) -> tuple[str, ...] | None:
        allowed = params.structure("allowed_updates", unparsable="can't parse allowed updates")
        if allowed is None:
            return None
        if not isinstance(allowed, list) or not all(isinstance(kind, str) for kind in allowed):
            raise _bad("allowed updates must be an Array of Strings")
        self._updates.allowed = frozenset(allowed)
        return tuple(allowed)

    # --- Methods: messages

    def _refuse_if_blocked(self, chat_id: int) -> None:
        if chat_id in self._blocked:
            raise _ApiError(403, BLOCKED)

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
                raise _too_many(max(1, math.ceil(crowd[0].at + window - now)))

    async def _send_message(self, params: _Params) -> JSON:
        chat_id = params.chat_id()
        source, shown, parse_mode = _message_text(params)
        markup = _reply_markup(params, inline_only=False)
        self._refuse_if_blocked(chat_id)
        now = time.monotonic()
        self._refuse_if_too_fast(chat_id, now)
        message = _BotMessage(
            chat=self._chats.get(chat_id) or {"id": chat_id, "type": _chat_type(chat_id)},
            message_id=self._new_message_id(chat_id),
            text=shown,
            source=source,
            reply_markup=markup if markup and "inline_keyboard" in markup else None,
            date=int(time.time()),
        )
        self._messages[(chat_id, message.message_id)] = message
        self.sent.append(SentMessage(chat_id, message.message_id, source, parse_mode, markup, now))
        return message.as_dict(self.bot_user)

    async def _send_chat_action(self, params: _Params) -> bool:
        chat_id = params.chat_id()
        if not params.text("action"):
            raise _bad("wrong parameter action in request")
        self._refuse_if_blocked(chat_id)
        return True

    def _message_to_edit(self, params: _Params) -> _BotMessage:
        if params.text("inline_message_id"):
            raise _bad("inline messages are not supported by the fake")
        chat_id = params.chat_id()
        message_id = params.integer("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        if (chat_id, message_id) in self._user_messages:
            raise _bad("message can't be edited")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _bad("message to edit not found")
        self._refuse_if_blocked(chat_id)
        return message

    async def _edit_message_text(self, params: _Params) -> JSON:
        message = self._message_to_edit(params)
        source, shown, _ = _message_text(params)
        # Without reply_markup, editMessageText takes the inline keyboard away, as Telegram does.
        markup = _reply_markup(params, inline_only=True)
        if (source, markup) == (message.source, message.reply_markup):
            raise _bad(NOT_MODIFIED)
        message.source, message.text, message.reply_markup = source, shown, markup
        return self._edited(message, "editMessageText", source, markup)

    async def _edit_message_reply_markup(self, params: _Params) -> JSON:
        message = self._message_to_edit(params)
        markup = _reply_markup(params, inline_only=True)
        if markup == message.reply_markup:
            raise _bad(NOT_MODIFIED)
        message.reply_markup = markup
        return self._edited(message, "editMessageReplyMarkup", None, markup)

    def _edited(
        self, message: _BotMessage, method: str, text: str | None, markup: JSON | None
    ) -> JSON:
        message.edit_date = int(time.time())
        edit = Edit(method, message.chat["id"], message.message_id, text, markup, time.monotonic())
        self.edits.append(edit)
        return message.as_dict(self.bot_user)

    async def _answer_callback_query(self, params: _Params) -> bool:
        query_id = params.text("callback_query_id") or ""
        if query_id not in self._open_queries:
            raise _bad(QUERY_TOO_OLD)
        self._open_queries.remove(query_id)
        text, show_alert = params.text("text"), params.flag("show_alert")
        self.callback_answers.append(CallbackAnswer(query_id, text, show_alert, time.monotonic()))
        return True

    # --- Methods: webhook

    async def _set_webhook(self, params: _Params) -> bool:
        url = params.text("url") or ""
        if not url:
            return await self._delete_webhook(params)
        _check_webhook_url(url)
        secret = params.text("secret_token") or None
        if secret is not None and len(secret) > 256:
            raise _bad("secret token is too long")
        if secret is not None and not SECRET_TOKEN.fullmatch(secret):
            raise _bad("secret token contains unallowed characters")
        max_connections = params.integer("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise _bad("max_connections must be between 1 and 100")
        allowed_updates = self._set_allowed_updates(params)
        if params.flag("drop_pending_updates"):
            self._updates.pending.clear()
        self._webhook = Webhook(url, secret, allowed_updates, max_connections)
        self._webhook_error = None
        self._updates.wake()
        return True

    async def _delete_webhook(self, params: _Params) -> bool:
        if params.flag("drop_pending_updates"):
            self._updates.pending.clear()
        self._webhook = None
        return True

    async def _get_webhook_info(self, params: _Params) -> JSON:
        webhook = self._webhook
        info: JSON = {"url": webhook.url if webhook else "", "has_custom_certificate": False}
        info["pending_update_count"] = len(self._updates.pending)
        if webhook is not None:
            info["max_connections"] = webhook.max_connections
            if webhook.allowed_updates is not None:
                info["allowed_updates"] = list(webhook.allowed_updates)
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _deliver_forever(self) -> None:
        while True:
            wakeup = self._updates.wakeup
            if not await self._deliver_next():
                await wakeup.wait()

    async def _deliver_next(self) -> bool:
        """POST the first pending update to the webhook; whether there was one to try."""
        webhook = self._webhook
        ready = self._updates.ready(1) if webhook is not None else []
        if webhook is None or not ready:
            return False
        if urlsplit(webhook.url).hostname not in LOOPBACK_HOSTS:
            self._webhook_error = (int(time.time()), "the fake delivers only to loopback hosts")
            return False
        entry = ready[0]
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        status: int | None = None
        error: str | None = None
        try:
            body = json.dumps(entry.update)
            self._client = self._client or httpx.AsyncClient(timeout=5.0)
            response = await self._client.post(webhook.url, content=body, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        update_id = entry.update["update_id"]
        self.deliveries.append(
            WebhookDelivery(update_id, webhook.url, status, error, time.monotonic())
        )
        entry.attempts += 1
        if status is not None and 200 <= status < 300:
            self._updates.forget(entry)
            return True
        self._webhook_error = (
            int(time.time()),
            error or f"Wrong response from the webhook: {status}",
        )
        if entry.attempts >= self.webhook_attempts:
            self._updates.forget(entry)
        else:
            await asyncio.sleep(self.webhook_retry_delay)
        return True

    # --- Methods: commands

    async def _set_my_commands(self, params: _Params) -> bool:
        commands = params.structure("commands", unparsable="can't parse commands JSON object")
        if not isinstance(commands, list):
            raise _bad('parameter "commands" is required')
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not COMMAND.fullmatch(str(command.get("command"))):
                raise _bad("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not description.strip():
                raise _bad("command description must be non-empty")
            if len(description) > 256:
                raise _bad("command description is too long")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _delete_my_commands(self, params: _Params) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    async def _get_my_commands(self, params: _Params) -> list[JSON]:
        return list(self._commands.get(self._commands_key(params), []))

    @staticmethod
    def _commands_key(params: _Params) -> tuple[str, str]:
        scope = params.structure("scope", unparsable="can't parse BotCommandScope JSON object")
        return _commands_key(scope, params.text("language_code") or "")
