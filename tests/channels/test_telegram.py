"""Telegram end to end: the real app and python-telegram-bot against a fake Bot API over HTTP."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from bot.privacy import export_resident
from models.repositories import ResidentRepository
from models.tables import Consent, Delivery, Resident
from tests.channels.conftest import (
    AppFactory,
    delivery_statuses,
    http,
    runtime_of,
    unreachable_since,
)
from tests.fakes.telegram import FakeTelegram

CHAT = 4242


async def say(tg: FakeTelegram, text: str, chat: int = CHAT) -> str:
    """The resident sends `text`; returns the text of the bot's next message."""
    before = len(tg.messages_to(chat))
    tg.user_sends(chat, text)
    sent = await tg.wait_for_sent(before + 1, chat_id=chat)
    return sent[-1].text


async def press(tg: FakeTelegram, label: str, chat: int = CHAT) -> str:
    """Press the button labelled `label` on the bot's last message; returns the next message."""
    last = tg.messages_to(chat)[-1]
    data = dict(last.buttons)[label]
    assert data is not None
    before = len(tg.messages_to(chat))
    tg.user_presses(chat, last.message_id, data)
    sent = await tg.wait_for_sent(before + 1, chat_id=chat)
    return sent[-1].text


async def quiet_for(tg: FakeTelegram, seconds: float, chat: int = CHAT) -> bool:
    before = len(tg.messages_to(chat))
    await asyncio.sleep(seconds)
    return len(tg.messages_to(chat)) == before


async def test_a_whole_conversation_with_buttons_and_typed_answers(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app() as app:
        assert [c["command"] for c in telegram.commands] == [
            "start",
            "help",
            "stop",
            "mydata",
            "forget",
        ]
        first = await say(telegram, "/start poster-LS9")
        assert "What matters most to you about living round here?" in first
        assert ("Skip", "v1:skip") in telegram.messages_to(CHAT)[-1].buttons
        skipped = await press(telegram, "Skip")
        assert "gets in the way" in skipped
        assert telegram.callback_answers  # every press is answered
        assert not telegram.unanswered_callback_queries
        edit = telegram.edits[-1]
        assert edit.method == "editMessageReplyMarkup"
        assert not (edit.reply_markup or {}).get("inline_keyboard")
        for answer in ["damp and no money", "the pantry", "a walking group"]:
            await say(telegram, answer)
        consent = await say(telegram, "people who live here")
        assert "Can we message you" in consent
        area = await press(telegram, "Yes please")
        assert "Which area" in area
        done = await say(telegram, "LS9")
        assert "that's everything" in done.lower()
        async with runtime_of(app).sessions() as session:
            resident = (await session.execute(select(Resident))).scalar_one()
            assert (resident.address, resident.area, resident.source) == (
                str(CHAT),
                "LS9",
                "poster-LS9",
            )
            consent_row = (await session.execute(select(Consent))).scalar_one()
            assert consent_row.granted
        assert await delivery_statuses(app, until={"sent"}) == {"sent"}
    texts = [m.text for m in telegram.messages_to(CHAT)]
    assert len(texts) == len(set(texts))  # nothing answered twice


async def test_consent_declined_by_typing(telegram_app: AppFactory, telegram: FakeTelegram) -> None:
    async with telegram_app() as app:
        await say(telegram, "hi")
        for answer in ["skip", "skip", "skip", "skip", "skip"]:
            await say(telegram, answer)
        await say(telegram, "no thanks")
        async with runtime_of(app).sessions() as session:
            consent = (await session.execute(select(Consent))).scalar_one()
            assert consent.granted is False


async def test_stop_is_acknowledged_once_then_silence(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app():
        await say(telegram, "hello")
        stopped = await say(telegram, "/stop")
        assert "/start" in stopped
        telegram.user_sends(CHAT, "hello?")
        telegram.user_sends(CHAT, "stop")
        assert await quiet_for(telegram, 1.0)


async def test_forget_then_export_finds_nothing(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app() as app:
        await say(telegram, "hello")
        await say(telegram, "the damp in my flat at 14 Elm Road")
        confirm = await say(telegram, "/forget")
        assert "delete" in confirm.lower()
        done = await press(telegram, "Yes, delete it")
        assert "deleted" in done.lower()
        async with runtime_of(app).sessions() as session:
            assert await ResidentRepository(session).find("telegram", str(CHAT)) is None
            assert (await session.execute(select(Resident))).first() is None


async def test_a_crisis_message_gets_116_123_within_a_second(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app(delivery={"telegram_per_chat_per_second": 1.0}) as app:
        await say(telegram, "hello")
        await asyncio.sleep(1.0)  # let the per-chat pacing slot pass
        started = time.monotonic()
        reply = await say(telegram, "i cant go on anymore, i want to kill myself")
        assert time.monotonic() - started < 1.0
        assert "116 123" in reply
        async with runtime_of(app).sessions() as session:
            resident = (await session.execute(select(Resident))).scalar_one()
            assert resident.paused_at is not None
            data = await export_resident(session, resident)
        assert any(t["kind"] == "safeguarding" for m in data["messages"] for t in m["tags"])


async def test_429_is_waited_out_exactly_then_sent_once(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app() as app:
        telegram.fail_next("sendMessage", status=429, retry_after=1)
        started = time.monotonic()
        telegram.user_sends(CHAT, "hello")
        sent = await telegram.wait_for_sent(1, timeout=10, chat_id=CHAT)
        assert time.monotonic() - started >= 1.0
        assert await quiet_for(telegram, 0.5)
        assert len(telegram.messages_to(CHAT)) == len(sent) == 1
        assert "What matters most" in sent[0].text
        async with runtime_of(app).sessions() as session:
            delivery = (await session.execute(select(Delivery))).scalar_one()
        # waited as told (not the generic back-off for errors), and sent on the next try
        assert (delivery.status, delivery.attempts) == ("sent", 1)


async def test_a_blocked_bot_marks_the_resident_unreachable(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app() as app:
        telegram.block(CHAT)
        telegram.user_sends(CHAT, "hello")
        await telegram.wait_for_calls("sendMessage", 1)
        assert await unreachable_since(app) is not None
        async with runtime_of(app).sessions() as session:
            statuses = (await session.execute(select(Delivery.status))).scalars().all()
        assert statuses == ["failed"]


async def test_a_duplicate_update_is_processed_once(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app():
        update = telegram.user_sends(CHAT, "hello")
        await telegram.wait_for_sent(1, chat_id=CHAT)
        telegram.queue_raw(update)
        assert await quiet_for(telegram, 1.0)
        assert len(telegram.messages_to(CHAT)) == 1


async def test_a_button_pressed_twice_counts_once(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app():
        await say(telegram, "hello")
        question = telegram.messages_to(CHAT)[-1]
        await press(telegram, "Skip")
        telegram.user_presses(CHAT, question.message_id, "v1:skip", check_button=False)
        assert await quiet_for(telegram, 1.0)
        await telegram.wait_for_calls("answerCallbackQuery", 2)
        assert not telegram.unanswered_callback_queries


async def test_stickers_photos_voice_edits_and_groups_get_a_kind_reply(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app():
        await say(telegram, "hello")
        telegram.user_sends_sticker(CHAT)
        sticker = await telegram.wait_for_sent(2, chat_id=CHAT)
        assert "text" in sticker[-1].text.lower()
        telegram.user_sends_voice(CHAT)
        voice = await telegram.wait_for_sent(3, chat_id=CHAT)
        assert "text" in voice[-1].text.lower()
        original = telegram.user_sends(CHAT, "the buses")
        await telegram.wait_for_sent(4, chat_id=CHAT)
        telegram.edited_message(CHAT, original["message"]["message_id"], "the trains")
        edited = await telegram.wait_for_sent(5, chat_id=CHAT)
        assert "new message" in edited[-1].text
        telegram.user_sends(-100123, "hello everyone", chat_type="group")
        group = await telegram.wait_for_sent(1, chat_id=-100123)
        assert "one to one" in group[-1].text


async def test_webhook_mode_checks_the_secret(
    telegram_app: AppFactory, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LP_TELEGRAM__WEBHOOK_SECRET", "s3cret-token_value")
    overrides = {
        "telegram": {"mode": "webhook"},
        "server": {"public_url": "https://lp.example.org"},
    }
    async with telegram_app(**overrides) as app, http(app) as client:
        hook = telegram.webhook
        assert hook is not None
        assert hook.url == "https://lp.example.org/webhooks/telegram"
        update = {
            "update_id": 77,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "text": "hello",
                "chat": {"id": CHAT, "type": "private"},
                "from": {"id": CHAT, "is_bot": False, "first_name": "Res"},
            },
        }
        wrong = await client.post(
            "/webhooks/telegram",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": "nope"},
        )
        missing = await client.post("/webhooks/telegram", json=update)
        assert (wrong.status_code, missing.status_code) == (403, 403)
        async with runtime_of(app).sessions() as session:
            assert (await session.execute(select(Resident))).first() is None
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token_value"}
        bad = await client.post("/webhooks/telegram", content=b"{nope", headers=headers)
        assert bad.status_code == 400
        huge = await client.post("/webhooks/telegram", content=b"x" * 100_000, headers=headers)
        assert huge.status_code == 413
        ok = await client.post("/webhooks/telegram", json=update, headers=headers)
        assert ok.status_code == 200
        sent = await telegram.wait_for_sent(1, chat_id=CHAT)
        assert "What matters most" in sent[-1].text
        again = await client.post("/webhooks/telegram", json=update, headers=headers)
        assert again.status_code == 200
        assert await quiet_for(telegram, 0.5)
