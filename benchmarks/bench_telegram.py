"""Telegram inbound throughput: the full pipeline against a bare python-telegram-bot echo bot.

Both run in this process against the same fake Bot API on loopback. 100 simulated residents
each send 10 messages, each waiting for the reply to one before sending the next (a closed
loop, like people typing). For Listening Post a message is stored, tagged, the flow advanced,
the reply stored and queued, then sent by the delivery worker; for the echo bot it is echoed
back. Rate limits are lifted for both runs (the fake does not enforce them either), so what is
compared is the processing, not Telegram's pacing. Figures go to benchmarks/results.json.

Run: `.venv/bin/python benchmarks/bench_telegram.py` (or `make bench`).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, MessageHandler, filters  # noqa: E402

from benchmarks.results_file import record  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from models.db import upgrade  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402
from tests.fakes.telegram_rules import TOKEN  # noqa: E402

RESIDENTS = 100
PER_RESIDENT = 10
SCRIPT = [
    "hello",
    "the park and the people",
    "the buses are rubbish and the rent keeps going up",
    "the food pantry volunteers are great",
    "I'd join a walking group",
    "people who live here should decide",
    "yes please",
    "LS9",
    "one more thing, the street lights are out",
    "thanks",
]


class Replies:
    """Hands each message the bot sends to the waiting resident (one cheap watcher, not 100)."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.tg = tg
        self.seen = 0
        self.queues: defaultdict[int, asyncio.Queue[object]] = defaultdict(asyncio.Queue)

    async def pump(self) -> None:
        while True:
            sent = self.tg.sent
            for message in sent[self.seen :]:
                self.queues[message.chat_id].put_nowait(message)
            self.seen = len(sent)
            await asyncio.sleep(0.001)


async def drive(tg: FakeTelegram, first_chat: int) -> tuple[float, list[float]]:
    """All residents talk at once; returns (seconds, reply latencies)."""
    latencies: list[float] = []
    replies = Replies(tg)
    pump = asyncio.create_task(replies.pump())

    async def resident(chat: int) -> None:
        for text in SCRIPT[:PER_RESIDENT]:
            sent_at = time.perf_counter()
            tg.user_sends(chat, text)
            await asyncio.wait_for(replies.queues[chat].get(), 120)
            latencies.append(time.perf_counter() - sent_at)

    started = time.perf_counter()
    await asyncio.gather(*(resident(first_chat + i) for i in range(RESIDENTS)))
    elapsed = time.perf_counter() - started
    pump.cancel()
    return elapsed, latencies


async def echo_run() -> tuple[float, list[float]]:
    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(update.message.text or "")

    async with FakeTelegram() as tg:
        app = (
            Application.builder()
            .token(TOKEN)
            .base_url(tg.base_url)
            .base_file_url(tg.base_file_url)
            .concurrent_updates(True)
            .build()
        )
        app.add_handler(MessageHandler(filters.TEXT, echo))
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=5)
        try:
            return await drive(tg, 10_000)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()


async def pipeline_run(database: Path) -> tuple[float, list[float]]:
    url = os.environ.get("LP_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{database}"
    await asyncio.to_thread(upgrade, url)
    os.environ["LP_TELEGRAM__TOKEN"] = TOKEN
    os.environ["LP_SERVER__SECRET_KEY"] = "bench-" + "k" * 40
    async with FakeTelegram() as tg:
        settings = load_settings(
            None,
            database={"url": url},
            telegram={
                "enabled": True,
                "base_url": tg.base_url,
                "base_file_url": tg.base_file_url,
                "poll_timeout": 5,
            },
            delivery={"telegram_per_second": 100_000.0, "telegram_per_chat_per_second": 100_000.0},
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            return await drive(tg, 20_000)


def summary(seconds: float, latencies: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "messages": len(latencies),
        "seconds": round(seconds, 3),
        "messages_per_second": round(len(latencies) / seconds, 1),
        "p50_reply_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_reply_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
    }


async def main() -> None:
    echo = summary(*await echo_run())
    with tempfile.TemporaryDirectory() as folder:
        pipeline = summary(*await pipeline_run(Path(folder) / "bench.db"))
    ratio = pipeline["messages_per_second"] / echo["messages_per_second"]
    figures = {
        "setup": f"{RESIDENTS} residents x {PER_RESIDENT} messages, closed loop, SQLite, "
        "fake Bot API on loopback, rate limits lifted",
        "listening_post": pipeline,
        "bare_ptb_echo_bot": echo,
        "throughput_ratio": round(ratio, 3),
        "target_ratio": 0.5,
    }
    record("telegram_inbound", figures)
    print(f"echo bot:        {echo}")
    print(f"listening post:  {pipeline}")
    print(f"throughput ratio {ratio:.3f} (target >= 0.5)")


if __name__ == "__main__":
    asyncio.run(main())
