"""The fake Bot API, driven by a real python-telegram-bot Bot over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)
from telegram.ext import Application, ContextTypes, MessageHandler, filters
from telegram.warnings import PTBDeprecationWarning

from tests.fakes import LoopbackServer
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram_rules import SentMessage

CHAT = 4242


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as b:
        yield b


@pytest.fixture
def timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 warns when it builds a RetryAfter unless time periods are timedeltas."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


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


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)] for label, data in pairs]
    )


# --- Connecting


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


# --- Sending


async def test_send_message_returns_a_message_and_records_it(bot: Bot, tg: FakeTelegram) -> None:
    first = await bot.send_message(CHAT, "Thanks for telling us.")
    second = await bot.send_message(CHAT, "<b>Anything else?</b>", parse_mode="HTML")
    await bot.send_message(7, "Hello")

    assert (first.message_id, second.message_id) == (1, 2)
    assert first.from_user is not None and first.from_user.id == bot.bot.id
    assert (first.chat.id, first.text, second.text) == (
        CHAT,
        "Thanks for telling us.",
        "Anything else?",
    )
    assert [m.text for m in tg.messages_to(CHAT)] == [
        "Thanks for telling us.",
        "<b>Anything else?</b>",
    ]
    assert tg.sent[1].parse_mode == "HTML"


SEND_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"text": " \n "}, "Message text is empty"),
    ({"text": "x" * 4097}, "Message is too long"),
    ({"text": "😀" * 2049}, "Message is too long"),  # 4098 UTF-16 code units
    ({"text": "<b>x</b>" + "y" * 4096, "parse_mode": "HTML"}, "Message is too long"),
    (
        {"text": "1 <blink> 2", "parse_mode": "HTML"},
        'Can\'t parse entities: unsupported start tag "blink" at byte offset 2',
    ),
    (
        {"text": "<b>bold", "parse_mode": "HTML"},
        "Can't parse entities: can't find end tag corresponding to start tag \"b\"",
    ),
    ({"text": "hi", "parse_mode": "BBCode"}, "Unsupported parse_mode"),
    ({"text": "hi", "reply_markup": keyboard(("Yes", "y" * 65))}, "Button_data_invalid"),
    ({"text": "hi", "reply_markup": keyboard(("Yes", ""))}, "Button_data_invalid"),
]


async def test_send_message_refuses_what_telegram_refuses(bot: Bot, tg: FakeTelegram) -> None:
    # PTB strips "Bad Request: " and capitalize()s the rest, lower-casing everything after it.
    for kwargs, message in SEND_REFUSALS:
        with pytest.raises(BadRequest) as caught:
            await bot.send_message(CHAT, **kwargs)
        assert (caught.value.message, tg.calls[-1].status) == (message, 400)
    assert tg.sent == []


async def test_longest_texts_pass(bot: Bot, tg: FakeTelegram) -> None:
    await bot.send_message(CHAT, "x" * 4096)
    await bot.send_message(CHAT, "😀" * 2048)
    await bot.send_message(CHAT, "ok", reply_markup=keyboard(("Yes", "é" * 32)))  # 64 bytes
    assert len(tg.sent) == 3


# --- Receiving by polling


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


# --- Failures


async def test_an_injected_429_surfaces_as_retry_after(
    bot: Bot, tg: FakeTelegram, timedelta_periods: None
) -> None:
    tg.fail_next("sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "hello")
    assert caught.value.retry_after == timedelta(seconds=7)
    assert tg.sent == []

    await bot.send_message(CHAT, "hello")  # only the next call failed
    assert len(tg.sent) == 1


async def test_ptb_warns_when_it_builds_retry_after_with_integer_periods(
    bot: Bot, tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under filterwarnings=error this warning, not RetryAfter, is what the caller would get.
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    tg.fail_next("sendMessage", retry_after=2)
    with pytest.warns(PTBDeprecationWarning), pytest.raises(RetryAfter):
        await bot.send_message(CHAT, "hello")


async def test_a_blocked_chat_surfaces_as_forbidden(bot: Bot, tg: FakeTelegram) -> None:
    tg.block(CHAT)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "hello")
    await bot.send_message(CHAT + 1, "others still get messages")

    tg.unblock(CHAT)
    await bot.send_message(CHAT, "hello again")
    assert [m.chat_id for m in tg.sent] == [CHAT + 1, CHAT]


async def test_enforced_limits_answer_429(timedelta_periods: None) -> None:
    async with (
        FakeTelegram(enforce_limits=True) as tg,
        Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        await bot.send_message(CHAT, "one")
        await bot.send_message(CHAT + 1, "another chat is fine")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CHAT, "two, too soon")
    assert caught.value.retry_after == timedelta(seconds=1)
    assert len(tg.sent) == 2


# --- Buttons


async def test_press_answer_and_edit_an_inline_keyboard(bot: Bot, tg: FakeTelegram) -> None:
    sent = await bot.send_message(
        CHAT, "Did that help?", reply_markup=keyboard(("Yes", "yes"), ("No", "no"))
    )
    assert tg.sent[0].buttons == [("Yes", "yes"), ("No", "no")]
    with pytest.raises(ValueError, match="no button"):
        tg.user_presses(CHAT, sent.message_id, "maybe")

    tg.user_presses(CHAT, sent.message_id, "yes")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "yes"
    assert query.message is not None and query.message.message_id == sent.message_id

    assert await bot.answer_callback_query(query.id, text="Thanks!") is True
    assert tg.callback_answers[0].text == "Thanks!"
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query.id)

    edited = await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
    assert not isinstance(edited, bool) and edited.reply_markup is None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
    assert [(e.method, e.message_id, e.reply_markup) for e in tg.edits] == [
        ("editMessageReplyMarkup", sent.message_id, None)
    ]


async def test_edit_message_text(bot: Bot, tg: FakeTelegram) -> None:
    sent = await bot.send_message(CHAT, "Pick one", reply_markup=keyboard(("A", "a")))

    edited = await bot.edit_message_text("You picked A", CHAT, sent.message_id)

    # Telegram drops the keyboard when editMessageText comes without reply_markup.
    assert not isinstance(edited, bool) and edited.reply_markup is None
    assert tg.bot_message(CHAT, sent.message_id)["text"] == "You picked A"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("You picked A", CHAT, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("Hello", CHAT, 999)


# --- Webhook


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


# --- Commands


async def test_commands_are_set_read_and_deleted(bot: Bot, tg: FakeTelegram) -> None:
    commands = [
        BotCommand("start", "Begin a conversation"),
        BotCommand("stop", "Stop and forget me"),
    ]
    assert await bot.set_my_commands(commands)
    assert tg.commands == [c.to_dict() for c in commands]
    assert await bot.get_my_commands() == tuple(commands)

    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


COMMAND_REFUSALS: list[tuple[BotCommand, str]] = [
    (BotCommand("Start", "Begin"), "Bot_command_invalid"),
    (BotCommand("x" * 33, "Begin"), "Bot_command_invalid"),
    (BotCommand("start-now", "Begin"), "Bot_command_invalid"),
    (BotCommand("start", ""), "Command description must be non-empty"),
    (BotCommand("start", "x" * 257), "Command description is too long"),
]


async def test_set_my_commands_refuses_what_telegram_refuses(bot: Bot, tg: FakeTelegram) -> None:
    for command, message in COMMAND_REFUSALS:
        with pytest.raises(BadRequest) as caught:
            await bot.set_my_commands([command])
        assert caught.value.message == message
    assert tg.commands == []


# --- Rates


async def test_rate_violations_count_a_burst(bot: Bot, tg: FakeTelegram) -> None:
    await asyncio.gather(*(bot.send_message(CHAT, f"burst {n}") for n in range(5)))
    await bot.send_message(CHAT + 1, "elsewhere")

    violations = tg.rate_violations()

    assert (violations.overall, violations.per_chat) == (0, {CHAT: 4})
    assert tg.rate_violations(global_per_second=3).overall == 3


def test_rate_window_math() -> None:
    tg = FakeTelegram()

    def at(*times: float, chat: int = CHAT) -> None:
        tg.sent.extend(SentMessage(chat, 0, "x", None, None, t) for t in times)

    at(0.0, 0.97, 1.94, 2.91)  # paced at ~1/s, with jitter within the tolerance
    assert not tg.rate_violations()
    at(10.0, 10.9)  # 0.9 s apart
    assert tg.rate_violations().per_chat == {CHAT: 1}
    assert tg.rate_violations(tolerance=0.0).per_chat == {CHAT: 4}
    at(20.0, 20.3, 20.6, chat=CHAT + 1)
    assert tg.rate_violations(per_chat_per_second=2).per_chat == {CHAT + 1: 1}
