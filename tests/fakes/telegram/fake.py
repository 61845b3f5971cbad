"""FakeTelegram: the Bot API served over loopback HTTP, and the test's controls and readings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes import LoopbackServer
from tests.fakes.telegram.commands import Commands, commands_key
from tests.fakes.telegram.receiving import Receiving
from tests.fakes.telegram.records import (
    JSON,
    ApiCall,
    RateViolations,
    SentMessage,
    Webhook,
    WebhookDelivery,
    count_rate_violations,
)
from tests.fakes.telegram.requests import ApiError, Params
from tests.fakes.telegram.residents import ResidentControls
from tests.fakes.telegram.rules import (
    BLOCKED,
    CLIENT_CLOSED_REQUEST,
    GLOBAL_PER_SECOND,
    PER_CHAT_PER_SECOND,
    RATE_TOLERANCE,
    TOKEN,
)
from tests.fakes.telegram.sending import Sending
from tests.fakes.telegram.state import Failure

Handler = Callable[[Params], Awaitable[Any]]


class FakeTelegram(ResidentControls, Receiving, Sending, Commands):
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
        super().__init__(
            token=token,
            enforce_limits=enforce_limits,
            per_chat_per_second=per_chat_per_second,
            global_per_second=global_per_second,
            webhook_attempts=webhook_attempts,
            webhook_retry_delay=webhook_retry_delay,
        )
        self._server = LoopbackServer(self._build_app())

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

    # --- Test controls: how Telegram pushes back (what residents do is in ResidentControls)

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
        failure = Failure(status, description or default, retry_after)
        self._failures.setdefault(method.lower(), []).extend([failure] * times)

    def block(self, chat_id: int) -> None:
        """The resident blocks the bot: sends, chat actions and edits to the chat get 403."""
        self._chats.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._chats.blocked.discard(chat_id)

    # --- Test controls: what the bot did

    @property
    def webhook(self) -> Webhook | None:
        return self._webhook

    @property
    def commands(self) -> list[JSON]:
        """The commands set for the default scope and no particular language."""
        return self.commands_for()

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        return list(self._commands.get(commands_key(scope, language_code), []))

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by an offset or accepted by the webhook."""
        return [entry.update for entry in self._updates.pending]

    @property
    def unanswered_callback_queries(self) -> set[str]:
        return set(self._chats.open_queries)

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [message for message in self.sent if message.chat_id == chat_id]

    def bot_message(self, chat_id: int, message_id: int) -> JSON:
        """A message the bot sent, as it stands after any edits."""
        return self._chats.bot_messages[(chat_id, message_id)].as_dict(self.bot_user)

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
        return count_rate_violations(self.sent, per_chat_per_second, global_per_second, tolerance)

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
        params = Params({})
        try:
            params = await Params.read(request)
            result = await self._call(request.path_params["token"], method, params)
            response, status = JSONResponse({"ok": True, "result": result}), 200
        except ApiError as error:
            response, status = error.response(), error.status
        if await request.is_disconnected():
            status = CLIENT_CLOSED_REQUEST  # e.g. a long poll PTB cancelled as it stopped
        self.calls.append(ApiCall(method, params.values, status, time.monotonic()))
        return response

    async def _call(self, token: str, method: str, params: Params) -> Any:
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        handler = self._methods.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        if failures := self._failures.get(method.lower()):
            failure = failures.pop(0)
            raise ApiError(failure.status, failure.description, retry_after=failure.retry_after)
        return await handler(params)

    async def _no_file(self, request: Request) -> JSONResponse:
        return ApiError(404, "Not Found").response()

    async def _get_me(self, params: Params) -> JSON:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
