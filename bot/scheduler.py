"""The scheduler: one process at a time turns due updates into outbox rows.

Every `serve` runs an `UpdateScheduler`; each tries to hold the lock row
(`scheduler_leases`, see models/leases.py) every `scheduler.check_seconds`. The holder runs
APScheduler (AsyncIOScheduler) with its SQLAlchemy job store in the project database, one
date job per scheduled update, so a send time survives restarts and fires on time; the
updates table stays the source of truth, and each check also picks up anything due that a
job did not fire for (a job that ran just before a crash, an update the dashboard just
scheduled). Only the holder materialises audiences and sends updates, so two processes
never both send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from bot.settings import Settings
from models import audience, leases
from models import updates as service
from models.base import utcnow
from models.db import Database

log = logging.getLogger("listening_post.scheduler")
LOCK = "scheduler"
JOB_PREFIX = "update-"
SYNC_DRIVERS = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg"}


async def update_due(update_id: int) -> int:
    """The job APScheduler runs at an update's send time; the scheduler's listener acts on it."""
    return update_id


def sync_url(url: str) -> str:
    """The project's async database URL with a synchronous driver, for APScheduler's job store."""
    parsed = make_url(url)
    driver = SYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(f"no synchronous driver known for {parsed.drivername}")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def job_engine(url: str) -> Engine:
    sync = sync_url(url)
    options: dict[str, object] = {"pool_pre_ping": True}
    if sync.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    return create_engine(sync, **options)


class UpdateScheduler:
    """Holds (or waits for) the scheduler lock; while holding it, sends updates when due."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        notify: Callable[[], None],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.notify = notify  # wakes the delivery worker after new outbox rows
        self.clock = clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lease_until: datetime | None = None
        self.aps: AsyncIOScheduler | None = None
        self._engine: Engine | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def is_leader(self) -> bool:
        """Whether this process holds the lock now (a lapsed lease counts as not)."""
        return self.lease_until is not None and self.lease_until > self.clock()

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        if self.settings.scheduler.enabled:
            self._task = asyncio.create_task(self.run(), name="scheduler")

    async def stop(self) -> None:
        """Stop checking, shut APScheduler down and hand the lock over at once."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        self._stop_aps()
        if self.lease_until is not None:
            async with self.db.transaction() as session:
                await leases.release(session, LOCK, self.holder)
            self.lease_until = None

    async def run(self) -> None:
        every = self.settings.scheduler.check_seconds
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler_tick_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), every)

    async def tick(self) -> None:
        """Renew or take the lock; as holder, send what is due and keep the jobs in step."""
        if not await self.hold():
            self._stop_aps()
            return
        if self.aps is None:
            self._start_aps()
        for update_id in await self._due():
            await self.send(update_id)
        self._sync_jobs(await self._scheduled())
        async with self.db.transaction() as session:
            finished = await audience.finish_sent(session)
        for update_id in finished:
            log.info("update_sent", extra={"update_id": update_id})

    async def hold(self) -> bool:
        now = self.clock()
        seconds = self.settings.scheduler.lease_seconds
        async with self.db.transaction() as session:
            held = await leases.hold(session, LOCK, self.holder, now, seconds)
        was = self.lease_until is not None
        self.lease_until = now + timedelta(seconds=seconds) if held else None
        if held != was:
            log.info("scheduler_lock", extra={"held": held, "holder": self.holder})
        return held

    async def send(self, update_id: int) -> int | None:
        """Put a due update's audience in the outbox (once, whatever happens) and wake delivery."""
        async with self.db.transaction() as session:
            queued = await audience.materialise(session, update_id, self.clock())
        if queued is not None:
            log.info("update_queued", extra={"update_id": update_id, "deliveries": queued})
            self.notify()
        return queued

    async def _due(self) -> list[int]:
        async with self.db.sessions() as session:
            return await service.due(session, self.clock())

    async def _scheduled(self) -> list[tuple[int, datetime]]:
        async with self.db.sessions() as session:
            return await service.scheduled(session)

    def _start_aps(self) -> None:
        self._engine = job_engine(self.settings.database.url)
        aps = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self._engine)},
            job_defaults={"coalesce": True, "misfire_grace_time": None},
            timezone=ZoneInfo(self.settings.delivery.timezone),
        )
        aps.add_listener(self._job_ran, EVENT_JOB_EXECUTED)
        aps.start()
        self.aps = aps
        log.info("scheduler_started", extra={"jobs": len(aps.get_jobs())})

    def _stop_aps(self) -> None:
        if self.aps is not None:
            self.aps.shutdown(wait=False)
            self.aps = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _job_ran(self, event: JobExecutionEvent) -> None:
        if str(event.job_id).startswith(JOB_PREFIX):
            self._wake.set()

    def _sync_jobs(self, waiting: list[tuple[int, datetime]]) -> None:
        """One date job per scheduled update; none for updates sent or cancelled meanwhile."""
        aps = self.aps
        if aps is None:
            return
        wanted = {f"{JOB_PREFIX}{update_id}": at for update_id, at in waiting if at > self.clock()}
        for job in aps.get_jobs(jobstore="default"):
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                job.remove()
        for job_id, at in wanted.items():
            job = aps.get_job(job_id, jobstore="default")
            if job is None or job.next_run_time != at:
                aps.add_job(
                    update_due,
                    "date",
                    run_date=at,
                    id=job_id,
                    args=[int(job_id.removeprefix(JOB_PREFIX))],
                    replace_existing=True,
                    jobstore="default",
                )
