"""The one-trip aiosqlite adapter: same answers as SQLAlchemy's own, fewer trips to the thread."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiosqlite.core
import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from models import sqlite_driver
from models.db import QUICK, Database
from models.tables import Message, Resident

AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every call aiosqlite hands to its thread, by the name of the function."""
    counts: Counter[str] = Counter()
    real = aiosqlite.core.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counts[getattr(fn, "__name__", repr(fn))] += 1
        return await real(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    return counts


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_url)
    yield database
    await database.dispose()


async def test_sqlite_aiosqlite_urls_get_the_one_trip_dialect(db: Database) -> None:
    assert isinstance(db.engine.dialect, sqlite_driver.OneTripDialect)
    assert db.engine.dialect.name == "sqlite"


async def test_a_select_is_one_trip_and_an_empty_transaction_none(
    db: Database, trips: Counter[str]
) -> None:
    async with db.engine.connect() as connection:  # checks out a connection (pragmas run)
        await connection.execute(text("SELECT 1"))
    trips.clear()
    async with db.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT 1 AS one, 'two' AS two"))).all()
    assert [tuple(row) for row in rows] == [(1, "two")]
    # SQLAlchemy's own adapter: cursor, execute, fetchall, close, plus a ROLLBACK on return.
    assert trips == Counter({"_patiently": 1})


async def test_insert_returning_rowcount_and_commit(db: Database, trips: Counter[str]) -> None:
    async with db.transaction() as session:
        resident = Resident(channel="telegram", address="1", created_at=AT)
        session.add(resident)
        await session.flush()  # the ORM's INSERT … RETURNING (or lastrowid) gives the id
        assert resident.id is not None
        ids = (
            (
                await session.execute(
                    insert(Message).returning(Message.id, sort_by_parameter_order=True),
                    [
                        {
                            "resident_id": resident.id,
                            "direction": "in",
                            "kind": "text",
                            "channel": "telegram",
                            "text": text_,
                            "created_at": AT,
                        }
                        for text_ in ("one", "two", "three")
                    ],
                )
            )
            .scalars()
            .all()
        )
        assert len(ids) == 3 and ids == sorted(ids)
        changed = await session.execute(
            update(Message).where(Message.resident_id == resident.id).values(text="x")
        )
        assert getattr(changed, "rowcount", None) == 3
    assert trips["commit"] == 1
    async with db.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Message))
    assert count == 3


async def test_errors_still_reach_the_caller_as_sqlalchemy_errors(db: Database) -> None:
    async def twice() -> None:
        async with db.transaction() as session:
            for _ in range(2):  # (channel, address) is unique
                session.add(Resident(channel="telegram", address="same", created_at=AT))
                await session.flush()

    with pytest.raises(IntegrityError):
        await twice()
    async with db.sessions() as session:  # rolled back: nothing kept, connection usable
        assert await session.scalar(select(func.count()).select_from(Resident)) == 0


async def test_rollback_is_sent_only_when_a_transaction_is_open(
    db: Database, trips: Counter[str]
) -> None:
    async with db.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    trips.clear()
    async with db.engine.connect() as connection:
        await connection.execute(insert(Resident).values(channel="web", address="a", created_at=AT))
        # leaving without commit: SQLAlchemy rolls back, and this time there is work to undo
    assert trips["rollback"] == 1
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Resident)) == 0


def _resident(address: str) -> Any:
    return insert(Resident).values(channel="web", address=address, created_at=AT)


async def _warm(db: Database) -> None:
    """Check a connection out once, so its connect-time pragmas are not counted."""
    async with db.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def test_a_quick_transaction_makes_no_trip_and_commits(
    db: Database, trips: Counter[str], sqlite_url: str
) -> None:
    await _warm(db)
    trips.clear()
    async with db.transaction(quick=True) as session:
        session.add(Resident(channel="web", address="orm", created_at=AT))
        await session.flush()  # the ORM's own INSERT, on the session's quick connection
        await session.execute(_resident("core"))
        found = await session.scalar(select(func.count()).select_from(Resident))
        assert found == 2
    assert trips == Counter()
    # Committed for everyone, not only for this connection: another one sees both rows.
    with sqlite3.connect(str(make_url(sqlite_url).database)) as other:
        assert other.execute("SELECT count(*) FROM residents").fetchone() == (2,)


async def test_a_failed_quick_transaction_rolls_back_without_a_trip(
    db: Database, trips: Counter[str]
) -> None:
    await _warm(db)
    trips.clear()

    async def twice() -> None:
        async with db.transaction(quick=True) as session:
            await session.execute(_resident("same"))
            await session.execute(_resident("same"))  # (channel, address) is unique

    with pytest.raises(IntegrityError):
        await twice()
    assert trips == Counter()
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Resident)) == 0


async def test_a_quick_write_waits_for_another_process_in_the_thread_not_on_the_loop(
    db: Database, trips: Counter[str], sqlite_url: str
) -> None:
    """Another connection holds the write lock for 0.4 s: the loop keeps running meanwhile."""
    await _warm(db)
    other = sqlite3.connect(str(make_url(sqlite_url).database), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # takes the write lock
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def release() -> None:
        await asyncio.sleep(0.4)
        other.execute("COMMIT")

    ticker = asyncio.create_task(tick())
    releaser = asyncio.create_task(release())
    trips.clear()
    started = time.perf_counter()
    try:
        async with db.transaction(quick=True) as session:
            await session.execute(_resident("y"))
    finally:
        ticker.cancel()
        await releaser
        other.close()
    waited = time.perf_counter() - started
    assert waited >= 0.35  # it did wait for the lock …
    assert ticks >= 10  # … and the loop ran the whole time (a blocked loop would tick ~0)
    assert trips["_patiently"] == 1 and trips["commit"] == 1  # the retry and its commit
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Resident)) == 1


async def test_checkpoints_run_in_the_thread_every_so_many_commits(
    db: Database, trips: Counter[str], monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY", 5)
    await _warm(db)
    async with db.engine.connect() as connection:
        automatic = (await connection.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
    assert automatic == 0  # SQLite's own would run inside a commit, on the loop
    trips.clear()
    for number in range(10):
        async with db.transaction(quick=True) as session:
            await session.execute(_resident(str(number)))
    assert trips == Counter({"_checkpoint": 2})
    with sqlite3.connect(str(make_url(sqlite_url).database)) as other:
        busy, frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and frames == copied  # nothing left behind


async def test_the_quick_option_is_per_statement_elsewhere(
    db: Database, trips: Counter[str]
) -> None:
    await _warm(db)
    trips.clear()
    async with db.engine.begin() as connection:
        await connection.execute(_resident("a"), execution_options=QUICK)
        await connection.execute(_resident("b"))  # not quick: a trip, and so is the commit
    assert trips == Counter({"_patiently": 1, "commit": 1})
