"""The bot's command menu: setMyCommands, deleteMyCommands and getMyCommands."""

from __future__ import annotations

import json

from tests.fakes.telegram.records import JSON
from tests.fakes.telegram.requests import Params, bad
from tests.fakes.telegram.rules import COMMAND
from tests.fakes.telegram.state import BotState


class Commands(BotState):
    """The command lists, one per scope and language, as the bot set them."""

    async def _set_my_commands(self, params: Params) -> bool:
        commands = params.structure("commands", unparsable="can't parse commands JSON object")
        if not isinstance(commands, list):
            raise bad('parameter "commands" is required')
        if len(commands) > 100:
            raise bad("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not COMMAND.fullmatch(str(command.get("command"))):
                raise bad("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not description.strip():
                raise bad("command description must be non-empty")
            if len(description) > 256:
                raise bad("command description is too long")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _delete_my_commands(self, params: Params) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    async def _get_my_commands(self, params: Params) -> list[JSON]:
        return list(self._commands.get(self._commands_key(params), []))

    @staticmethod
    def _commands_key(params: Params) -> tuple[str, str]:
        scope = params.structure("scope", unparsable="can't parse BotCommandScope JSON object")
        return commands_key(scope, params.text("language_code") or "")


def commands_key(scope: object, language_code: str) -> tuple[str, str]:
    """Where a command list is kept: its scope (default if none) and language."""
    return (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
