"""Receiving by polling: getUpdates, offsets, conflicts, and what residents send."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from telegram import Bot, Update
from telegram.error import (
    Conflict,
)
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from tests.fakes.helpers import CHAT
from tests.fakes.telegram import FakeTelegram


async def test_long_poll_returns_an_update_queued_while_it_waits(
    bot: Bot, tg: FakeTelegram
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_for_poller()
    started = time.monotonic()
    sent = tg.user_sends(CHAT, "I'd like more benches in the park")

    updates = await asyncio.wait_for(poll, 2)

    assert time.monotonic() - started < 1
    assert [u.update_id for u in updates] == [sent["update_id"]]
    assert updates[0].message is not None
    assert updates[0].message.text == "I'd like more benches in the park"
    assert updates[0].message.chat.id == CHAT


async def test_long_poll_returns_nothing_after_its_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=timedelta(seconds=0.3)) == ()
    assert 0.25 <= time.monotonic() - started < 2


async def test_offset_confirms_and_forgets_earlier_updates(bot: Bot, tg: FakeTelegram) -> None:
    ids = [tg.user_sends(CHAT, text)["update_id"] for text in ("one", "two", "three")]

    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]  # not confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=ids[1] + 1)] == ids[2:]
    assert [u["update_id"] for u in tg.pending_updates] == ids[2:]
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    assert tg.pending_updates == []


async def test_a_requeued_update_id_is_delivered_again(bot: Bot, tg: FakeTelegram) -> None:
    update = tg.user_sends(CHAT, "hello")
    assert len(await bot.get_updates()) == 1
    assert await bot.get_updates(offset=update["update_id"] + 1) == ()

    tg.queue_raw(update)

    again = await bot.get_updates(offset=update["update_id"] + 1)
    assert [u.update_id for u in again] == [update["update_id"]]


async def test_a_second_poller_ends_the_waiting_one_with_conflict(
    bot: Bot, tg: FakeTelegram
) -> None:
    # PTB's getUpdates pool has one connection, so a second poller means a second Bot.
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_for_poller()
    async with Bot(tg.token, base_url=tg.base_url) as second:
        assert await second.get_updates() == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_updates_of_types_not_allowed_are_dropped(bot: Bot, tg: FakeTelegram) -> None:
    tg.user_sends(CHAT, "hello")
    assert await bot.get_updates(allowed_updates=["callback_query"]) == ()
    assert tg.pending_updates == []


async def test_residents_send_commands_media_and_edits(bot: Bot, tg: FakeTelegram) -> None:
    first = tg.user_sends(CHAT, "/start now")
    tg.user_sends_sticker(CHAT)
    tg.user_sends_photo(CHAT, caption="the broken swing")
    tg.user_sends_voice(CHAT)
    tg.user_sends_location(CHAT)
    tg.edited_message(CHAT, first["message"]["message_id"], "/start later")

    updates = await bot.get_updates()

    command, sticker, photo, voice, location = (u.message for u in updates[:5])
    assert command is not None and command.text == "/start now"
    assert (command.entities[0].type, command.entities[0].length) == ("bot_command", 6)
    assert sticker is not None and sticker.sticker is not None
    assert photo is not None and photo.photo and photo.caption == "the broken swing"
    assert voice is not None and voice.voice is not None
    assert location is not None and location.location is not None
    edit = updates[5].edited_message
    assert edit is not None and (edit.message_id, edit.text) == (command.message_id, "/start later")


async def test_a_ptb_application_polls_and_replies(tg: FakeTelegram) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"You said: {update.effective_message.text}")

    builder = Application.builder().token(tg.token).base_url(tg.base_url)
    app = builder.base_file_url(tg.base_file_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(timeout=timedelta(seconds=5))
        await app.start()
        tg.user_sends(CHAT, "hello")
        (reply,) = await tg.wait_for_sent(1)
        await app.updater.stop()
        await app.stop()

    assert (reply.chat_id, reply.text) == (CHAT, "You said: hello")
    assert tg.pending_updates == []  # the updater confirmed what it handled as it stopped
