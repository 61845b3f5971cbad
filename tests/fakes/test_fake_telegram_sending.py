"""Sending and editing through the fake Bot API, with Telegram's refusals and inline keyboards."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
)

from tests.fakes.helpers import CHAT
from tests.fakes.telegram import FakeTelegram


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)] for label, data in pairs]
    )


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
