"""The fake Bot API answers a real python-telegram-bot Bot: who it is, and whom it refuses."""

from __future__ import annotations

import httpx
import pytest
from telegram import Bot
from telegram.error import (
    EndPointNotFound,
    InvalidToken,
)

from tests.fakes.helpers import CHAT
from tests.fakes.telegram import FakeTelegram


async def test_get_me_answers_with_the_bot(bot: Bot, tg: FakeTelegram) -> None:
    me = bot.bot
    assert (me.id, me.is_bot, me.username) == (123456, True, "listening_post_test_bot")
    assert [(call.method, call.status) for call in tg.calls] == [("getMe", 200)]


async def test_other_tokens_are_unauthorized(tg: FakeTelegram) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("654321:WRONG-token", base_url=tg.base_url):
            pass
    assert tg.calls[-1].status == 401


async def test_unknown_methods_are_not_found(bot: Bot, tg: FakeTelegram) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("frobnicate")
    assert tg.calls[-1].status == 404


async def test_json_bodies_are_read_as_well_as_forms(tg: FakeTelegram) -> None:
    async with httpx.AsyncClient() as client:
        url = f"{tg.base_url}{tg.token}/sendMessage"
        answer = (await client.post(url, json={"chat_id": CHAT, "text": "hi"})).json()
    assert answer["ok"] is True
    assert answer["result"]["text"] == "hi"
    assert tg.sent[0].chat_id == CHAT
