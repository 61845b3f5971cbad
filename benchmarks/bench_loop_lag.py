"""Does tagging block the event loop? Loop lag while tagging, in the worker thread vs inline.

A ticker task asks to wake every millisecond and records how late it wakes, while 2,000
resident messages are tagged one after another, first through `TaggingWorker` (the runtime's
way: a dedicated thread) and then by calling the tagger directly on the loop. Figures go to
benchmarks/results.json under "tagging_event_loop".
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results_file import record  # noqa: E402
from bot.tagging import TaggingWorker  # noqa: E402
from themes import load_tagger  # noqa: E402

MESSAGES = 2000


def texts() -> list[str]:
    lines = (ROOT / "themes" / "data" / "labelled" / "train_a.jsonl").read_text().splitlines()
    base = [json.loads(line)["text"] for line in lines]
    return [base[i % len(base)] + " " + base[(i * 7) % len(base)] for i in range(MESSAGES)]


async def lag_while(work: Callable[[], Awaitable[None]]) -> dict[str, float]:
    lags: list[float] = []
    done = False

    async def ticker() -> None:
        while not done:
            asked = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - asked - 0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.005)  # the ticker is running before the work starts
    started = time.perf_counter()
    await work()
    seconds = time.perf_counter() - started
    done = True
    await task
    lags.sort()
    return {
        "seconds": round(seconds, 3),
        "max_lag_ms": round(lags[-1] * 1000, 2),
        "p99_lag_ms": round(lags[max(int(len(lags) * 0.99) - 1, 0)] * 1000, 2),
    }


async def main() -> None:
    tagger = load_tagger()
    messages = texts()
    worker = TaggingWorker(tagger)

    async def in_thread() -> None:
        for text in messages:
            await worker.tag(text)

    async def inline() -> None:
        for text in messages:
            tagger.tag(text)

    threaded = await lag_while(in_thread)
    blocking = await lag_while(inline)
    worker.close()
    figures = {"messages": MESSAGES, "worker_thread": threaded, "inline_on_the_loop": blocking}
    record("tagging_event_loop", figures)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
