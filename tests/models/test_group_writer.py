"""Group commit: writes handed in together share a transaction; each caller waits for its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, event, select, update

from models.db import Database, GroupWriter
from models.tables import Resident

AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
SET_AREA = update(Resident).where(Resident.id == bindparam("rid")).values(area=bindparam("a"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.transaction() as session:
        session.add_all(
            Resident(channel="web", address=str(n), created_at=AT) for n in range(1, 51)
        )
    yield database
    await database.dispose()


async def areas(db: Database) -> dict[int, str | None]:
    async with db.sessions() as session:
        rows = (await session.execute(select(Resident.id, Resident.area))).all()
        return {rid: area for rid, area in rows}


async def test_concurrent_writes_share_transactions_and_all_land(db: Database) -> None:
    commits = 0

    def counted(*_: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(db.engine.sync_engine, "commit", counted)
    writer = GroupWriter(db, SET_AREA)
    ids = sorted(await areas(db))
    await asyncio.gather(*(writer.write({"rid": rid, "a": f"area-{rid}"}) for rid in ids))
    assert await areas(db) == {rid: f"area-{rid}" for rid in ids}
    # All fifty were handed in before the first transaction began: one transaction for all.
    assert commits == 1
    await asyncio.gather(*(writer.write({"rid": rid, "a": "later"}) for rid in ids[:10]))
    assert commits == 2


async def test_a_lone_write_is_committed_when_it_returns(db: Database) -> None:
    writer = GroupWriter(db, SET_AREA)
    rid = min(await areas(db))
    await writer.write({"rid": rid, "a": "LS9"})
    assert (await areas(db))[rid] == "LS9"


async def test_a_failed_batch_is_reported_to_every_writer_in_it(db: Database) -> None:
    writer = GroupWriter(db, update(Resident).values(area=bindparam("a")).where(bindparam("x")))
    results = await asyncio.gather(
        *(writer.write({"a": "never"}) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, Exception) for result in results)
    assert set((await areas(db)).values()) == {None}


async def test_a_cancelled_writer_does_not_cancel_the_shared_write(db: Database) -> None:
    writer = GroupWriter(db, SET_AREA)
    first, second = sorted(await areas(db))[:2]
    blocker = asyncio.create_task(writer.write({"rid": first, "a": "one"}))
    waiting = asyncio.create_task(writer.write({"rid": second, "a": "two"}))
    await asyncio.sleep(0)
    waiting.cancel()
    await blocker
    await writer.drain()
    assert waiting.cancelled()
    written = await areas(db)
    assert (written[first], written[second]) == ("one", "two")
