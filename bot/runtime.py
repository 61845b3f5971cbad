"""The application object: settings, database, flows, tagger and inbound handling, wired once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.inbound import InboundService
from bot.settings import Settings
from bot.tagging import TaggingWorker
from flows import Flow, load_flows
from models.base import utcnow
from models.db import Database
from models.retention import purge_messages_before
from themes import active_pipeline, load_tagger
from themes.types import Tagger

log = logging.getLogger("listening_post.runtime")


@dataclass
class Runtime:
    """Everything a channel, a command or a page needs, passed explicitly."""

    settings: Settings
    db: Database
    flows: dict[str, Flow]
    tagging: TaggingWorker
    inbound: InboundService

    @classmethod
    async def start(cls, settings: Settings, tagger: Tagger | None = None) -> Runtime:
        """Connect and load; the tagger loads in a thread (or is given, e.g. shared in tests)."""
        db = Database(settings.database.url, echo=settings.database.echo)
        flows_dir = settings.conversation.flows_dir
        flows = load_flows(Path(flows_dir) if flows_dir else None)
        if settings.conversation.default_flow not in flows:
            known = ", ".join(sorted(flows))
            raise ValueError(
                f"conversation.default_flow: no flow named "
                f"{settings.conversation.default_flow!r} (known: {known})"
            )
        if tagger is None:
            active = active_pipeline(Path(settings.tagging.pipelines_dir))
            encoder = settings.tagging.risk_encoder
            tagger = await asyncio.to_thread(partial(load_tagger, active, encoder=encoder))
        tagging = TaggingWorker(tagger)
        inbound = InboundService(db, flows, tagging, settings)
        return cls(settings, db, flows, tagging, inbound)

    @property
    def engine(self) -> AsyncEngine:
        return self.db.engine

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.db.sessions

    async def healthy(self) -> bool:
        """Whether the database answers."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True

    async def purge_expired(self) -> int:
        """Delete messages older than privacy.retention_days; returns how many."""
        cutoff = utcnow() - timedelta(days=self.settings.privacy.retention_days)
        async with self.db.transaction() as session:
            purged = await purge_messages_before(session, cutoff)
        if purged:
            log.info("retention_purge", extra={"messages": purged})
        return purged

    async def keep_tidy(self, stop: asyncio.Event, every: float = 24 * 60 * 60) -> None:
        """Apply retention now and then once a day until `stop` is set; failures are logged.

        Stopping waits for a purge under way, so no transaction is cut off mid-way.
        """
        while not stop.is_set():
            try:
                await self.purge_expired()
            except Exception:
                log.exception("retention_purge_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def close(self) -> None:
        self.tagging.close()
        await self.db.dispose()
