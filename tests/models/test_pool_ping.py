"""PostgreSQL connections are pinged before use only after idling; a dead one is replaced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.exc import DBAPIError

from models import db as db_module
from models.db import Database


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts pings sent to the server."""
    sent: list[int] = []
    real = AsyncAdapt_asyncpg_connection.ping

    def counted(self: Any) -> None:
        sent.append(1)
        real(self)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted)
    return sent


@pytest.fixture
async def db(postgres_url: str) -> AsyncIterator[Database]:
    database = Database(postgres_url)
    yield database
    await database.dispose()


async def _backend_pid(db: Database) -> int:
    async with db.engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_connection_in_steady_use_is_not_pinged(db: Database, pings: list[int]) -> None:
    first = await _backend_pid(db)
    for _ in range(5):
        assert await _backend_pid(db) == first  # the same pooled connection each time
    assert pings == []  # a fresh or just-used connection is taken as alive


async def _terminate(db: Database, pid: int) -> None:
    """The server ends that connection, as a restart or an idle timeout would."""
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid) is True
    finally:
        await admin.close()


async def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(
    db: Database, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = await _backend_pid(db)
    await _terminate(db, dead)
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 0.0)  # every connection counts as idle
    alive = await _backend_pid(db)  # no error: the ping failed and the pool reconnected
    assert alive != dead
    assert len(pings) == 2  # the dead connection, then its replacement (idle at 0 s too)


async def test_without_the_ping_a_dead_connection_fails_its_request(
    db: Database, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the ping spares a request (and what happens within the idle window)."""
    dead = await _backend_pid(db)
    await _terminate(db, dead)
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 3600.0)
    with pytest.raises(DBAPIError) as failed:
        await _backend_pid(db)
    assert failed.value.connection_invalidated
    assert pings == []
    assert await _backend_pid(db) != dead  # the pool was refreshed after the failure
