"""A lock row with a lease: at most one process holds a named lock until its lease runs out.

Works the same on SQLite and PostgreSQL. The holder renews well before the lease ends; a
holder that dies simply stops renewing, and another process takes over once it has expired.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import SchedulerLease


async def hold(
    session: AsyncSession, name: str, holder: str, now: datetime, seconds: float
) -> bool:
    """Take or renew the lock `name` for `holder`; False while someone else holds it."""
    expires = now + timedelta(seconds=seconds)
    renewed = await session.execute(
        update(SchedulerLease)
        .where(
            SchedulerLease.name == name,
            or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now),
        )
        .values(holder=holder, expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    if getattr(renewed, "rowcount", 0):
        return True
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = make(SchedulerLease).values(name=name, holder=holder, expires_at=expires)
    created = await session.execute(statement.on_conflict_do_nothing(index_elements=["name"]))
    return bool(getattr(created, "rowcount", 0))


async def release(session: AsyncSession, name: str, holder: str) -> None:
    """Give the lock up at once (on a clean stop), so another process need not wait."""
    await session.execute(
        delete(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.holder == holder)
    )
