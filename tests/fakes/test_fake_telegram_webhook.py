"""Receiving by webhook: the fake POSTs updates to a loopback endpoint and retries failures."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot
from telegram.error import (
    BadRequest,
    Conflict,
)

from tests.fakes import LoopbackServer
from tests.fakes.helpers import CHAT
from tests.fakes.telegram import FakeTelegram


class Receiver:
    """A bot's webhook endpoint: records what Telegram POSTs and answers with `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[str | None, Any]] = []
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        secret = request.headers.get("x-telegram-bot-api-secret-token")
        self.received.append((secret, await request.json()))
        return Response(status_code=self.status)


async def test_updates_are_posted_to_the_webhook_with_the_secret(
    bot: Bot, tg: FakeTelegram
) -> None:
    receiver = Receiver()
    async with LoopbackServer(receiver.app) as server:
        url = f"{server.url}/hook"
        assert await bot.set_webhook(url, secret_token="s3cret_-token", drop_pending_updates=True)
        assert tg.webhook is not None and tg.webhook.secret_token == "s3cret_-token"
        update = tg.user_sends(CHAT, "hello")

        (delivery,) = await tg.wait_for_deliveries(1)

        assert (delivery.update_id, delivery.status) == (update["update_id"], 200)
        assert receiver.received == [("s3cret_-token", update)]
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (url, 0)

    assert await bot.delete_webhook()
    tg.user_sends(CHAT, "polling again")
    assert len(await bot.get_updates()) == 1


async def test_failed_webhook_deliveries_are_retried_then_dropped() -> None:
    receiver = Receiver(status=500)
    async with (
        FakeTelegram(webhook_attempts=2, webhook_retry_delay=0.01) as tg,
        Bot(tg.token, base_url=tg.base_url) as bot,
        LoopbackServer(receiver.app) as server,
    ):
        await bot.set_webhook(f"{server.url}/hook")
        update = tg.user_sends(CHAT, "hello")

        deliveries = await tg.wait_for_deliveries(2)

        assert [(d.update_id, d.status) for d in deliveries] == [(update["update_id"], 500)] * 2
        assert len(receiver.received) == 2
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0
        assert info.last_error_message == "Wrong response from the webhook: 500"


WEBHOOK_REFUSALS: list[tuple[str, str | None, str]] = [
    ("http://example.org/hook", None, "Bad webhook: an https url must be provided for webhook"),
    (
        "https://example.org:8080/hook",
        None,
        "Bad webhook: webhook can be set up only on ports 80, 88, 443 or 8443",
    ),
    ("https://example.org/hook", "not allowed!", "Secret token contains unallowed characters"),
    ("https://example.org/hook", "x" * 257, "Secret token is too long"),
]


async def test_set_webhook_refuses_what_telegram_refuses(bot: Bot, tg: FakeTelegram) -> None:
    for url, secret, message in WEBHOOK_REFUSALS:
        with pytest.raises(BadRequest) as caught:
            await bot.set_webhook(url, secret_token=secret)
        assert caught.value.message == message
    assert tg.webhook is None
