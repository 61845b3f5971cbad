"""The bot's command menu in the fake Bot API: set, read, delete, and refused."""

from __future__ import annotations

import pytest
from telegram import Bot, BotCommand
from telegram.error import (
    BadRequest,
)

from tests.fakes.telegram import FakeTelegram


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
