"""A `serve` process killed mid-batch and started again: no update is sent twice or lost."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from models import updates as service
from models.base import utcnow
from models.db import Database
from models.tables import Delivery
from tests.fakes.telegram import FakeTelegram
from tests.updates.conftest import wait_until
from tests.updates.process import serve_env, serving
from tests.updates.seeding import Someone, seed

RESIDENTS = 30
FIRST_CHAT = 7000
UPDATE = "You said, we did"


async def statuses(db: Database) -> Counter[str]:
    async with db.sessions() as session:
        query = select(Delivery.status, func.count()).group_by(Delivery.status)
        return Counter({status: n for status, n in (await session.execute(query)).all()})


def update_messages(tg: FakeTelegram) -> Counter[int]:
    return Counter(m.chat_id for m in tg.sent if UPDATE in m.text)


async def kill_between_sends(
    process: asyncio.subprocess.Process, db: Database, tg: FakeTelegram
) -> Counter[str]:
    """SIGKILL at a moment when every send the fake has seen is recorded as sent.

    The process is frozen (SIGSTOP) while that is checked, so nothing moves in between; a
    send whose answer had not been recorded yet is the one case no platform without
    idempotency keys can settle, and is not what this test is about.
    """
    while True:
        process.send_signal(signal.SIGSTOP)
        seen = sum(update_messages(tg).values())
        now = await statuses(db)
        if now["sent"] == seen and now["sending"] > 0:
            process.send_signal(signal.SIGKILL)
            await process.wait()
            return now
        process.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.03)


async def test_killed_mid_batch_then_restarted_sends_each_once(
    database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    async with db.transaction() as session:
        for n in range(RESIDENTS):
            await seed(session, Someone(str(FIRST_CHAT + n)), utcnow())
        draft = service.UpdateDraft("Damp", "Fixed in 40 flats.", ["housing"], send_at=utcnow())
        await service.create_update(session, draft, None, utcnow())
    log = tmp_path / "serve.log"
    try:
        async with FakeTelegram() as tg:
            env = serve_env(database_url, tg, LP_DELIVERY__TELEGRAM_PER_SECOND="6")
            async with serving(env, log) as first:
                await wait_until(lambda: sum(update_messages(tg).values()) >= RESIDENTS // 3, 60)
                at_kill = await kill_between_sends(first, db, tg)
            assert 0 < at_kill["sent"] < RESIDENTS
            assert at_kill["sending"] > 0  # claimed, not yet sent: the batch was cut
            async with serving(serve_env(database_url, tg), log):
                for _ in range(600):
                    if (await statuses(db))["sent"] == RESIDENTS:
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1.0)  # and nothing more arrives after that
            received = update_messages(tg)
        final = await statuses(db)
    finally:
        await db.dispose()
    assert received == Counter({FIRST_CHAT + n: 1 for n in range(RESIDENTS)}), log.read_text()[
        -3000:
    ]
    assert final == Counter({"sent": RESIDENTS})
