"""How the fake Bot API pushes back (errors, blocked chats, enforced limits), and rate counting."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from telegram import Bot
from telegram.error import (
    Forbidden,
    RetryAfter,
)
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.helpers import CHAT
from tests.fakes.telegram import FakeTelegram, SentMessage


@pytest.fixture
def timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 warns when it builds a RetryAfter unless time periods are timedeltas."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


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
