"""The one-trip aiosqlite adapter: same answers as SQLAlchemy's own, fewer trips to the thread."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiosqlite.core
import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from models import sqlite_driver
from models.db import Database
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
    assert trips == Counter({"_statement": 1})


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
