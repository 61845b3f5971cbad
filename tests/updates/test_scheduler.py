"""The scheduler: one lock holder at a time, jobs kept in the database, due updates queued once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.delivery import DeliveryWorker
from bot.scheduler import UpdateScheduler, sync_url
from bot.settings import Settings, load_settings
from bot.updates import WEB, UpdateSending, WebChatSender
from flows import load_flows
from models import leases
from models import updates as service
from models.base import utcnow
from models.db import Database
from models.tables import Delivery, SchedulerJob
from tests.updates.conftest import NOW
from tests.updates.seeding import Someone, seed


def settings_for(url: str, check: float = 0.2, lease: float = 2.0) -> Settings:
    return load_settings(
        None,
        database={"url": url},
        scheduler={"check_seconds": check, "lease_seconds": lease},
        delivery={"quiet_hours": ""},
    )


@pytest.fixture
async def second_db(database_url: str) -> AsyncIterator[Database]:
    """Another process's view of the same database: its own engine and connections."""
    database = Database(database_url)
    yield database
    await database.dispose()


def test_the_job_store_gets_a_synchronous_driver() -> None:
    assert sync_url("sqlite+aiosqlite:///var/x.db") == "sqlite:///var/x.db"
    assert (
        sync_url("postgresql+asyncpg://lp:secret@db/lp") == "postgresql+psycopg://lp:secret@db/lp"
    )


async def test_the_lock_has_one_holder_until_its_lease_lapses(db: Database) -> None:
    async with db.transaction() as session:
        assert await leases.hold(session, "scheduler", "one", NOW, 30)
        assert not await leases.hold(session, "scheduler", "two", NOW + timedelta(seconds=29), 30)
        assert await leases.hold(session, "scheduler", "one", NOW + timedelta(seconds=20), 30)
        assert not await leases.hold(session, "scheduler", "two", NOW + timedelta(seconds=49), 30)
        assert await leases.hold(session, "scheduler", "two", NOW + timedelta(seconds=51), 30)
        assert not await leases.hold(session, "scheduler", "one", NOW + timedelta(seconds=52), 30)
        await leases.release(session, "scheduler", "two")
        assert await leases.hold(session, "scheduler", "one", NOW + timedelta(seconds=53), 30)


async def test_two_processes_on_one_database_only_one_sends(
    database_url: str, db: Database, second_db: Database
) -> None:
    async with db.transaction() as session:
        for n in range(6):
            await seed(session, Someone(f"r{n}", channel="web"), utcnow())
    flows = load_flows()
    sides = []
    for database in (db, second_db):
        settings = settings_for(database_url)
        worker = DeliveryWorker(database, {WEB: WebChatSender()})
        scheduler = UpdateScheduler(database, settings, worker.notify)
        worker.gate = UpdateSending(database, settings, flows, leader=scheduler.is_leader)
        sides.append((scheduler, worker))
    try:
        for scheduler, _ in sides:
            await scheduler.tick()
        assert [s.is_leader() for s, _ in sides] == [True, False]
        async with db.transaction() as session:
            draft = service.UpdateDraft("Damp", "Fixed.", ["housing"], send_at=utcnow())
            await service.create_update(session, draft, None, utcnow())
        for scheduler, _ in reversed(sides):
            await scheduler.tick()
        sent = [await worker.send_due() for _, worker in reversed(sides)]
        assert sent == [0, 6]  # the follower claims none; the holder sends all six
        async with db.sessions() as session:
            statuses = (await session.execute(select(Delivery.status))).scalars().all()
        assert sorted(statuses) == ["sent"] * 6
    finally:
        for scheduler, _ in sides:
            await scheduler.stop()


async def test_when_the_holder_stops_the_other_takes_over(
    database_url: str, db: Database, second_db: Database
) -> None:
    first = UpdateScheduler(db, settings_for(database_url), lambda: None)
    second = UpdateScheduler(second_db, settings_for(database_url), lambda: None)
    await first.tick()
    await second.tick()
    assert (first.is_leader(), second.is_leader()) == (True, False)
    await first.stop()  # a clean stop hands the lock over at once
    await second.tick()
    assert second.is_leader()
    await second.stop()


async def test_a_scheduled_update_is_a_job_in_the_database_and_fires_on_time(
    database_url: str, db: Database
) -> None:
    async with db.transaction() as session:
        await seed(session, Someone("a", channel="web"), utcnow())
        draft = service.UpdateDraft(
            "Damp", "Fixed.", ["housing"], send_at=utcnow() + timedelta(seconds=2)
        )
        row = await service.create_update(session, draft, None, utcnow())
    # Checks are far apart, so only the job can send it on time.
    settings = settings_for(database_url, check=10.0, lease=30.0)
    before = UpdateScheduler(db, settings, lambda: None)
    await before.tick()
    await before.stop()  # a restart: the job stays in the job store
    async with db.sessions() as session:
        jobs = (await session.execute(select(SchedulerJob.id))).scalars().all()
    assert jobs == [f"update-{row.id}"]
    after = UpdateScheduler(db, settings, lambda: None)
    await after.start()
    try:
        for _ in range(80):
            async with db.sessions() as session:
                queued = (await session.execute(select(func.count(Delivery.id)))).scalar_one()
            if queued:
                break
            await asyncio.sleep(0.1)
        assert queued == 1
        async with db.sessions() as session:
            assert (await service.get_update(session, row.id)).status in ("sending", "sent")
    finally:
        await after.stop()
