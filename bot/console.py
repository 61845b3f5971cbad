"""The console channel: one message per line from standard input, replies printed."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import TextIO

from bot.messages import InboundMessage
from bot.runtime import Runtime
from flows.types import Incoming, IncomingKind, Reply

CHANNEL = "console"


def render(reply: Reply) -> str:
    """A reply as plain text, choices as numbered options (typed answers always work)."""
    lines = [reply.text]
    lines.extend(f"  {n}. {choice.label}" for n, choice in enumerate(reply.choices, start=1))
    return "\n".join(lines)


async def chat(
    runtime: Runtime,
    address: str,
    flow: str | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    """Talk until end of input; returns how many messages were handled."""
    interactive = stdin.isatty()
    if interactive:
        print("Type a message and press Enter (Ctrl-D to finish).", file=stdout)
    handled = 0
    first = True
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            return handled
        text = line.rstrip("\r\n")
        if first and flow is not None and not text.startswith("/start"):
            await _send(runtime, address, "/start", flow, stdout)
        first = False
        await _send(runtime, address, text, flow, stdout)
        handled += 1


async def _send(runtime: Runtime, address: str, text: str, flow: str | None, out: TextIO) -> None:
    incoming = Incoming(IncomingKind.TEXT, datetime.now(UTC), text=text)
    result = await runtime.inbound.handle(InboundMessage(CHANNEL, address, incoming, flow=flow))
    for item in result.replies:
        print(render(item.reply), file=out, flush=True)
