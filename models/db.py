"""Engines, sessions and migrations for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.expression import Executable

from models import sqlite_driver

MIGRATIONS = Path(__file__).parent / "migrations"
QUICK = {sqlite_driver.INLINE: True}
# A pooled server connection is checked before use only when it has been idle this long.
PING_AFTER_IDLE = 1.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # No waiting for another process's lock on the event loop's thread: the driver waits in
    # aiosqlite's thread instead (models/sqlite_driver.py, BUSY_TIMEOUT_MS).
    cursor.execute("PRAGMA busy_timeout=0")
    # Checkpoints run in aiosqlite's thread, not inside a commit on the loop's (same module).
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder of a SQLite file so a fresh checkout just works."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite connections get foreign keys, WAL and the driver's lock settings."""
    ensure_sqlite_dir(url)
    # A server connection idle for a while is pinged before use (_ping_if_idle); a SQLite
    # file has no server to drop it.
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if parsed.drivername == "sqlite+aiosqlite":
        # The same aiosqlite, at most one trip to its thread per statement (sqlite_driver.py).
        parsed = parsed.set(drivername=f"sqlite+{sqlite_driver.DRIVER}")
    engine = create_async_engine(parsed, echo=echo, pool_pre_ping=False)
    if sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine.sync_engine, "connect", _fresh)
        event.listen(engine.sync_engine, "checkin", _fresh)
        event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


def _fresh(_dbapi_connection: Any, record: Any) -> None:
    """Just connected or just used: known to be alive now."""
    record.info["lp_alive_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Pessimistic disconnect handling without a ping on every checkout.

    SQLAlchemy's `pool_pre_ping` pings at every checkout, and on asyncpg a ping is three
    round trips (BEGIN, an empty query, ROLLBACK): a quarter of a message's. A connection
    used within the last `PING_AFTER_IDLE` seconds is taken as alive, as most pools do
    (HikariCP's default is half a second); an idle one is pinged, and one that fails is
    replaced by the pool (DisconnectionError), so a restarted server costs no request.
    """
    if time.monotonic() - record.info.get("lp_alive_at", 0.0) < PING_AFTER_IDLE:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:
        raise exc.DisconnectionError(f"ping failed: {error}") from error


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


class Database:
    """An engine, its sessions, and write transactions.

    SQLite has one writer at a time; rather than let concurrent transactions collide and
    sleep in SQLite's busy handler, writes from this process take turns on an asyncio lock.
    PostgreSQL needs no such lock.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.engine = create_engine(url, echo=echo)
        self.sessions = sessionmaker(self.engine)
        self._serial = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def transaction(self, *, quick: bool = False) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits on success and rolls back on error.

        `quick`: every statement is a small indexed lookup or write (a message arriving), so
        on SQLite they run on the loop's thread rather than a trip to aiosqlite's each; see
        models/sqlite_driver.py.
        """
        async with self._serial or nullcontext(), self.sessions() as session, session.begin():
            if quick:
                await session.connection(execution_options=QUICK)
            yield session

    async def write(self, statement: Executable) -> None:
        """One small Core statement in a transaction of its own: lighter than a session."""
        async with self._serial or nullcontext(), self.engine.begin() as connection:
            await connection.execute(statement, execution_options=QUICK)

    async def write_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        """One Core statement over many parameter sets (executemany) in one transaction."""
        async with self._serial or nullcontext(), self.engine.begin() as connection:
            await connection.execute(statement, list(rows), execution_options=QUICK)

    async def dispose(self) -> None:
        await self.engine.dispose()


class GroupWriter:
    """Group commit: small writes that arrive together share one transaction.

    `await writer.write(row)` returns once `row` is committed, as a transaction of its own
    would, but rows handed in while a transaction is under way wait for it and then go in
    the next one together (one executemany). Nothing waits on a timer: a lone write starts
    at once. On SQLite, where writes take turns, this turns a hundred queued one-row
    transactions into one; on PostgreSQL it saves a commit (a disk flush) per row.
    """

    def __init__(self, db: Database, statement: Executable) -> None:
        self.db = db
        self.statement = statement
        self._rows: list[tuple[Mapping[str, Any], asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def write(self, row: Mapping[str, Any]) -> None:
        done = asyncio.get_running_loop().create_future()
        self._rows.append((row, done))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush(), name="group-write")
        # A caller that is cancelled does not cancel the write: others share it.
        await asyncio.shield(done)

    async def drain(self) -> None:
        """Wait for every row handed in so far to be written."""
        while self._flushing is not None:
            await asyncio.shield(self._flushing)

    async def _flush(self) -> None:
        try:
            while self._rows:
                batch, self._rows = self._rows, []
                try:
                    await self.db.write_many(self.statement, [row for row, _ in batch])
                except Exception as error:  # every writer in the batch hears of it
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(error)
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._flushing = None


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the packaged migrations and `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (synchronous; call from a thread inside a loop)."""
    ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Undo migrations down to `revision`."""
    command.downgrade(alembic_config(url), revision)
