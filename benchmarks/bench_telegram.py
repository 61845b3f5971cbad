"""Telegram inbound throughput: the full pipeline against a bare python-telegram-bot echo bot.

Both run in this process against the same fake Bot API on loopback. 100 simulated residents
each send 10 messages, each waiting for the reply to one before sending the next (a closed
loop, like people typing). For Listening Post a message is stored, tagged, the flow advanced,
the reply stored with its delivery and sent straight after commit; for the echo bot it is
echoed back. Rate limits are lifted for both runs (the fake does not enforce them either), so
what is compared is the processing, not Telegram's pacing. It runs on SQLite and, when a
server answers (LP_BENCH_POSTGRES_ADMIN_URL, default the local one), on PostgreSQL, each as
the median of alternating pairs; each pair also runs the pipeline with `tagging.risk_encoder`
off, beside it. Figures go to benchmarks/results.json.

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

import asyncpg  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, MessageHandler, filters  # noqa: E402

from benchmarks.results_file import record  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from models.base import Base  # noqa: E402
from models.db import Database, upgrade  # noqa: E402
from tests.fakes.telegram import TOKEN, FakeTelegram  # noqa: E402

RESIDENTS = 100
REPEATS = 3
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
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


async def pipeline_run(url: str, encoder: bool = True) -> tuple[float, list[float]]:
    """A fresh run of the whole app; the database is emptied first so every run starts alike.
    `encoder` is the `tagging.risk_encoder` setting (the shipped default: on)."""
    await asyncio.to_thread(upgrade, url)
    await empty(url)
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
            tagging={"risk_encoder": encoder},
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            return await drive(tg, 20_000)


async def empty(url: str) -> None:
    database = Database(url)
    try:
        async with database.transaction() as session:
            for table in reversed(Base.metadata.sorted_tables):
                await session.execute(table.delete())
    finally:
        await database.dispose()


def summary(seconds: float, latencies: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "messages": len(latencies),
        "seconds": round(seconds, 3),
        "messages_per_second": round(len(latencies) / seconds, 1),
        "p50_reply_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_reply_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
    }


async def postgres_database() -> str | None:
    """A fresh PostgreSQL database for the run, or None when no server answers."""
    admin = os.environ.get(
        "LP_BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"lp_bench_{os.getpid()}_{int(time.time())}"
    try:
        connection = await asyncpg.connect(admin, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def drop_database(url: str) -> None:
    admin = os.environ.get("LP_BENCH_POSTGRES_ADMIN_URL", ADMIN_URL)
    connection = await asyncpg.connect(admin, timeout=3)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await connection.close()


async def compare(url: str) -> dict[str, Any]:
    """Echo bot, pipeline, and pipeline without the risk encoder, alternating REPEATS times;
    the median of the paired ratios.

    Alternating runs keep a busy machine from favouring either side.
    """
    pairs = []
    for _ in range(REPEATS):
        echo = summary(*await echo_run())
        pipeline = summary(*await pipeline_run(url))
        fast = summary(*await pipeline_run(url, encoder=False))
        rate = echo["messages_per_second"]
        pairs.append(
            (
                pipeline["messages_per_second"] / rate,
                fast["messages_per_second"] / rate,
                echo,
                pipeline,
                fast,
            )
        )
    middle = sorted(pairs, key=lambda pair: pair[0])[len(pairs) // 2]
    ratio, _, echo, pipeline, _ = middle
    fast_middle = sorted(pairs, key=lambda pair: pair[1])[len(pairs) // 2]
    return {
        "listening_post": pipeline,
        "listening_post_no_encoder": fast_middle[4],
        "bare_ptb_echo_bot": echo,
        "throughput_ratio": round(ratio, 3),
        "ratios": sorted(round(pair[0], 3) for pair in pairs),
        "throughput_ratio_no_encoder": round(fast_middle[1], 3),
        "ratios_no_encoder": sorted(round(pair[1], 3) for pair in pairs),
    }


async def main() -> None:
    figures: dict[str, Any] = {
        "setup": f"{RESIDENTS} residents x {PER_RESIDENT} messages, closed loop, fake Bot API "
        f"on loopback in the same process, rate limits lifted; median of {REPEATS} "
        "alternating pairs",
        "target_ratio": 0.5,
    }
    with tempfile.TemporaryDirectory() as folder:
        figures["sqlite"] = await compare(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
    postgres = await postgres_database()
    if postgres is not None:
        try:
            figures["postgresql"] = await compare(postgres)
        finally:
            await drop_database(postgres)
    record("telegram_inbound", figures)
    for database in ("sqlite", "postgresql"):
        if database in figures:
            result = figures[database]
            print(f"{database}: echo bot        {result['bare_ptb_echo_bot']}")
            print(f"{database}: listening post  {result['listening_post']}")
            print(f"{database}: throughput ratio {result['throughput_ratio']} {result['ratios']}")
            print(
                f"{database}: without the risk encoder {result['throughput_ratio_no_encoder']} "
                f"{result['ratios_no_encoder']}"
            )


if __name__ == "__main__":
    asyncio.run(main())
