"""Sending a "you said, we did" update to 10,000 residents on the fake Telegram server.

A real `listening-post serve` process (SQLite, Telegram pointed at the fake Bot API on
loopback, `delivery.telegram_per_second = 30`) sends one update to 10,000 residents who
raised its theme and agreed to hear back. The fake records the arrival time of every
sendMessage; from that come the achieved rate, the limit violations (more than 30 sends in
any one-second window, or more than one to a chat), duplicates and losses.

Two runs: one straight through, and one where the process is killed hard (SIGKILL) at a
third of the way and stopped cleanly (SIGTERM) at two thirds, each time started again. The
rate of the second is measured over the time it was sending (not while it was down).
Figures go to benchmarks/results.json under "updates".

Run: `.venv/bin/python benchmarks/bench_updates.py [--recipients N]` (or `make bench`);
about 6 minutes a run at 30 messages a second.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from benchmarks.results_file import record  # noqa: E402
from models import updates as service  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.db import Database, upgrade  # noqa: E402
from models.tables import Consent, Delivery, Message, MessageTag, Resident  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402
from tests.updates.process import serve_env, serving  # noqa: E402

LIMIT = 30.0
FIRST_CHAT = 100_000
UPDATE = "You said, we did"
SETTINGS = {
    "LP_DELIVERY__TELEGRAM_PER_SECOND": str(LIMIT),
    "LP_DELIVERY__TELEGRAM_PER_CHAT_PER_SECOND": "1",
    "LP_SCHEDULER__CHECK_SECONDS": "1",
    "LP_SCHEDULER__LEASE_SECONDS": "6",
    "LP_LOGGING__LEVEL": "WARNING",
}


async def seed(db: Database, count: int) -> int:
    """`count` Telegram residents who raised housing and agreed to hear back; an update to them."""
    now = utcnow()
    async with db.transaction() as session:
        await session.execute(
            insert(Resident),
            [
                {"channel": "telegram", "address": str(FIRST_CHAT + n), "created_at": now}
                for n in range(count)
            ],
        )
        ids = (await session.execute(select(Resident.id).order_by(Resident.id))).scalars().all()
        common = {"direction": "in", "channel": "telegram", "text": "damp", "created_at": now}
        await session.execute(insert(Message), [{"resident_id": rid} | common for rid in ids])
        messages = (await session.execute(select(Message.id))).scalars().all()
        await session.execute(
            insert(MessageTag),
            [{"message_id": m, "kind": "theme", "label": "housing"} for m in messages],
        )
        consent = {"purpose": "hear_back", "granted": True, "wording_version": "hear_back-v1"}
        consent |= {"channel": "telegram", "created_at": now}
        await session.execute(insert(Consent), [{"resident_id": rid} | consent for rid in ids])
        draft = service.UpdateDraft(
            "Damp repairs", "The council treated damp in 40 flats.", ["housing"], send_at=now
        )
        return (await service.create_update(session, draft, None, now)).id


def update_sends(tg: FakeTelegram) -> list[tuple[int, float]]:
    return [(m.chat_id, m.at) for m in tg.sent if UPDATE in m.text]


async def sent_in_database(db: Database) -> int:
    async with db.sessions() as session:
        rows = await session.execute(select(Delivery.status))
        return sum(status == "sent" for status in rows.scalars().all())


async def until_sent(tg: FakeTelegram, count: int, seconds: float = 3600) -> None:
    for _ in range(int(seconds / 0.05)):
        if len(update_sends(tg)) >= count:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{count} sends did not arrive within {seconds} s")


async def one_run(recipients: int, stops: list[tuple[float, signal.Signals]]) -> dict[str, Any]:
    """Send to `recipients`; at each (fraction, signal) stop the process and start it again."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        db = Database(url)
        await seed(db, recipients)
        log = Path(folder) / "serve.log"
        segments: list[tuple[float, float]] = []
        # The fake stamps each send when its handler runs; a garbage-collection pause in this
        # process would hold a few arrivals back and stamp them together, a burst that the
        # sender never made. Collection waits until the run is over.
        gc.collect()
        gc.disable()
        try:
            return await _sending(db, url, recipients, stops, log, segments)
        finally:
            gc.enable()
            await db.dispose()


async def _sending(
    db: Database,
    url: str,
    recipients: int,
    stops: list[tuple[float, signal.Signals]],
    log: Path,
    segments: list[tuple[float, float]],
) -> dict[str, Any]:
    async with FakeTelegram() as tg:
        env = serve_env(url, tg, **SETTINGS)
        for fraction, how in stops:
            async with serving(env, log) as process:
                await until_sent(tg, int(recipients * fraction))
                process.send_signal(how)
                await process.wait()
            segments.append(_segment(tg, segments))
        async with serving(env, log):
            await until_sent(tg, recipients)
            for _ in range(3000):  # the last records are written just after the last send
                if await sent_in_database(db) >= recipients:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(2.0)  # anything late or duplicated would arrive now
        segments.append(_segment(tg, segments))
        return _figures(tg, recipients, segments, await sent_in_database(db))


def _segment(tg: FakeTelegram, before: list[tuple[float, float]]) -> tuple[float, float]:
    """First and last send time since the previous segment."""
    after = before[-1][1] if before else float("-inf")
    times = [at for _, at in update_sends(tg) if at > after]
    return (times[0], times[-1]) if times else (after, after)


def _figures(
    tg: FakeTelegram, recipients: int, segments: list[tuple[float, float]], recorded: int
) -> dict[str, Any]:
    sends = update_sends(tg)
    per_chat = Counter(chat for chat, _ in sends)
    sending = sum(end - start for start, end in segments)
    rate = (len(sends) - len(segments)) / sending if sending else 0.0
    violations = tg.rate_violations(per_chat_per_second=1.0, global_per_second=LIMIT)
    return {
        "recipients": recipients,
        "sends": len(sends),
        "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
        "losses": recipients - len(per_chat),
        "recorded_sent": recorded,
        "rate_per_second": round(rate, 2),
        "rate_vs_limit": round(rate / LIMIT, 3),
        "violations_global": violations.overall,
        "violations_per_chat": sum(violations.per_chat.values()),
        "sending_seconds": round(sending, 1),
        "longest_pauses_seconds": _pauses(sorted(at for _, at in sends), len(segments)),
        "closest_sends_ms": _closest(sorted(at for _, at in sends)),
        "over_limit_windows_ms": _over(sorted(at for _, at in sends)),
    }


def _over(times: list[float], window: float = 0.95) -> list[list[float]]:
    """For up to 3 one-second windows over the limit: the gaps (ms) between their sends."""
    found: list[list[float]] = []
    end = 0
    for start, at in enumerate(times):
        while end < len(times) and times[end] < at + window:
            end += 1
        if end - start > LIMIT and len(found) < 3:
            inside = times[start:end]
            found.append([round((b - a) * 1000, 1) for a, b in itertools.pairwise(inside)])
    return found


def _closest(times: list[float]) -> list[float]:
    """The shortest gaps between consecutive arrivals: under the pacing gap, arrivals bunched."""
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    return [round(g * 1000, 1) for g in gaps[:5]]


def _pauses(times: list[float], skip: int) -> list[float]:
    """The longest gaps between consecutive sends, leaving out the restarts."""
    gaps = sorted((b - a for a, b in itertools.pairwise(times)), reverse=True)
    return [round(g, 3) for g in gaps[skip - 1 : skip + 2]]


async def main(recipients: int, only_straight: bool = False) -> None:
    straight = await one_run(recipients, [])
    print("straight through:", straight, flush=True)
    if only_straight:
        return
    restarted = await one_run(recipients, [(1 / 3, signal.SIGKILL), (2 / 3, signal.SIGTERM)])
    print("killed and restarted:", restarted, flush=True)
    record(
        "updates",
        {
            "limit_per_second": LIMIT,
            "straight": straight,
            "killed_and_restarted": restarted,
            "note": (
                "one update to N Telegram residents from a real serve process; the second run "
                "is SIGKILLed at 1/3 and SIGTERMed at 2/3 and restarted each time; rate over "
                "the time spent sending; violations counted by the fake Bot API"
            ),
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--straight-only", action="store_true", help="skip the restart run")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.recipients, arguments.straight_only))
