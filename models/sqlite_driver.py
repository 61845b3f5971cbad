"""SQLAlchemy's aiosqlite dialect with at most one trip to the database thread per statement.

aiosqlite runs each sqlite3 call in its own thread and hands the result back to the event
loop. SQLAlchemy's adapter makes four such trips for a SELECT (open a cursor, execute, fetch,
close) and three for an INSERT, and one for every COMMIT or ROLLBACK, even a ROLLBACK of a
connection that has no transaction (each connection returned to the pool gets one). On a
busy loop each trip waits its turn behind everything else that is ready, and since SQLite
writes take turns (`models.db.Database`), those waits add up to the throughput of every
write. This adapter does the whole statement in one trip and skips COMMIT and ROLLBACK when
sqlite3 says no transaction is open (exactly what sqlite3 itself would then do: nothing).

**Quick statements run with no trip at all.** A statement with the execution option
`lp_inline` (`models.db.QUICK`: the small indexed reads and writes of a message arriving)
runs on the loop's own thread, and so do the COMMIT or ROLLBACK of a transaction whose
statements all did. A trip costs more than such a statement (tens of microseconds in SQLite,
with WAL and `synchronous=NORMAL` a commit does not sync), and the write turn is no longer
held across awaits while the loop runs everything else. Two things could still block the
loop, and neither happens there:

* waiting for another process's write lock: the connection's busy timeout is 0, so an
  inline statement that meets a lock fails at once with SQLITE_BUSY, having changed
  nothing, and is run again in aiosqlite's thread with a busy timeout of
  `BUSY_TIMEOUT_MS` (as every statement without the option is);
* a checkpoint (copying the WAL into the database file, with a sync): SQLite's automatic
  one runs inside a commit, so it is turned off and a passive checkpoint runs in
  aiosqlite's thread after every `CHECKPOINT_EVERY` commits instead.

The connection is used from both threads, never at once: SQLAlchemy awaits each call.

It is still aiosqlite underneath (its thread and queue, through `Connection._execute`, the
one function every aiosqlite call goes through) and still SQLAlchemy's dialect; only the
cursor adapter is replaced. `create_engine` picks it for `sqlite+aiosqlite` URLs, so
configuration does not change.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

DRIVER = "lp_aiosqlite"
# Statements run with this execution option run on the event loop's thread (see _run).
INLINE = "lp_inline"
# How long a statement in aiosqlite's thread waits for another process's write lock. On the
# loop's thread nothing waits: the connection's own busy timeout stays 0.
BUSY_TIMEOUT_MS = 5000
# Committing on the loop's thread must not copy the WAL back into the database file there
# (a checkpoint writes and syncs): connections turn SQLite's automatic checkpoint off and
# run a passive one in aiosqlite's thread after every CHECKPOINT_EVERY commits instead
# (SQLite's own default is about every 1,000 pages: some 100 messages here).
CHECKPOINT_EVERY = 100
_Outcome = tuple[Any, list[Any], int, int | None]


def _statement(
    connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool
) -> _Outcome:
    """Runs in aiosqlite's thread: execute, read every row, close."""
    cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _patiently(
    connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool
) -> _Outcome:
    """Runs in aiosqlite's thread: a statement that may wait for another writer's lock."""
    sqlite = connection._conn
    sqlite.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        return _statement(connection, operation, parameters, many)
    finally:
        sqlite.execute("PRAGMA busy_timeout=0")


_BUSY = object()


async def _at_once(work: Callable[[], Any]) -> Any:
    """Run `work` on the loop's thread without waiting for a lock: `_BUSY` when another
    writer holds it (nothing was changed), else what `work` returned.

    A coroutine that never suspends: SQLAlchemy's async layer wants every statement to pass
    through `await_`, and this costs a greenlet switch, not a trip through the event loop.
    """
    try:
        return work()
    except sqlite3.Error as error:
        if _busy(error):
            return _BUSY
        raise


def _busy(error: sqlite3.Error) -> bool:
    """SQLITE_BUSY or one of its extended codes: another connection holds the lock."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(error, sqlite3.OperationalError) and code is not None and code & 0xFF == 5


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor that runs each statement, rows and all, in one call to aiosqlite's thread."""

    __slots__ = ("_arraysize", "_description", "_inline", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor is opened here: that would be a trip of its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows = collections.deque()
        self._soft_closed_memoized = EMPTY_DICT
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1
        self._inline = False

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid or 0

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._run(operation, seq_of_parameters, many=True)

    def _run(self, operation: str, parameters: Any, *, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        outcome: Any = _BUSY
        try:
            if self._inline:
                outcome = await_(
                    _at_once(partial(_statement, connection, operation, parameters, many))
                )
            if outcome is _BUSY:
                adapted: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
                adapted._slow = True
                outcome = await_(
                    connection._execute(  # type: ignore[no-untyped-call]
                        _patiently, connection, operation, parameters, many
                    )
                )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    async def _async_soft_close(self) -> None:
        """Nothing to close: the sqlite3 cursor was closed in the thread."""

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        """sqlite3 ignores input sizes."""


def _checkpoint(connection: aiosqlite.Connection) -> None:
    """Runs in aiosqlite's thread: copy what the WAL holds back into the database file."""
    connection._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").close()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    _cursor_cls = OneTripCursor  # type: ignore[assignment]
    # A statement of this transaction ran in aiosqlite's thread (not quick, or it had to
    # wait for a lock): its end goes there too.
    _slow = False
    _commits = 0

    def _end(self, commit: bool) -> None:
        slow, self._slow = self._slow, False
        driver: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        done = False
        try:
            end = driver._conn.commit if commit else driver._conn.rollback
            done = not slow and await_(_at_once(end)) is not _BUSY
        except Exception as error:
            self._handle_exception(error)
        if not done:
            super().commit() if commit else super().rollback()
        if commit:
            self._commits += 1
            if self._commits % CHECKPOINT_EVERY == 0:
                try:
                    await_(driver._execute(_checkpoint, driver))  # type: ignore[no-untyped-call]
                except Exception as error:
                    self._handle_exception(error)

    def _open(self) -> bool:
        driver: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        try:
            return driver._connection is not None and driver.in_transaction
        except sqlite3.ProgrammingError:  # closed underneath us: let the real call report it
            return True

    def rollback(self) -> None:
        if self._open():
            self._end(commit=False)
        else:
            self._slow = False

    def commit(self) -> None:
        if self._open():
            self._end(commit=True)
        else:
            self._slow = False


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        # Inline statements use the connection from the loop's thread, between (never during)
        # the calls aiosqlite makes from its own.
        kw["check_same_thread"] = False
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


class OneTripDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneTripDBAPI:
        return OneTripDBAPI(__import__("aiosqlite"), __import__("sqlite3"))

    def do_execute(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        _mark(cursor, context)
        cursor.execute(statement, parameters)

    def do_executemany(
        self, cursor: Any, statement: Any, parameters: Any, context: Any = None
    ) -> None:
        _mark(cursor, context)
        cursor.executemany(statement, parameters)

    def do_execute_no_params(self, cursor: Any, statement: Any, context: Any = None) -> None:
        _mark(cursor, context)
        cursor.execute(statement)


def _mark(cursor: OneTripCursor, context: Any) -> None:
    """Tell the cursor whether its statement carries the INLINE execution option."""
    cursor._inline = context is not None and context.execution_options.get(INLINE, False)


registry.register(f"sqlite.{DRIVER}", __name__, "OneTripDialect")
