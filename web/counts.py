"""Keeping the dashboard's pre-aggregated counts fresh, and small-number suppression."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from models.counts import CountsRepository
from web.context import WebContext

log = logging.getLogger("listening_post.web.counts")
SUPPRESS_BELOW = 5  # residents: any count from fewer people than this is never shown


def suppressed(residents: int) -> bool:
    """True when a figure comes from too few residents to show without risk of identifying."""
    return residents < SUPPRESS_BELOW


def shown(value: int, residents: int) -> int | None:
    """`value`, or None when it comes from fewer than SUPPRESS_BELOW residents."""
    return None if suppressed(residents) else value


async def refresh(ctx: WebContext, *, force: bool = False) -> bool:
    """Rebuild the counts when the data changed since the last rebuild; True when rebuilt.

    The heavy reading happens outside any write transaction; the swap is one short write.
    """
    async with ctx.counts_lock:
        return await _refresh(ctx, force)


async def _refresh(ctx: WebContext, force: bool) -> bool:
    async with ctx.sessions() as session:
        counts = CountsRepository(session)
        fingerprint = await counts.fingerprint()
        last = await counts.last_refresh()
        if not force and last is not None and last.fingerprint == fingerprint:
            return False
        weekly, totals = await counts.compute()
        phrases = await counts.compute_phrases()
    async with ctx.write() as session:
        await CountsRepository(session).replace(weekly, totals, phrases, fingerprint)
    log.info("dashboard_counts_refreshed", extra={"weekly_rows": len(weekly)})
    return True


async def ensure_counted(ctx: WebContext) -> None:
    """Build the counts now if they have never been built (a fresh install)."""
    async with ctx.sessions() as session:
        last = await CountsRepository(session).last_refresh()
    if last is None:
        await refresh(ctx)


async def keep_fresh(ctx: WebContext, stop: asyncio.Event) -> None:
    """Rebuild the counts every `ctx.refresh_seconds` when something changed, until `stop`."""
    while not stop.is_set():
        try:
            await refresh(ctx)
        except Exception:
            log.exception("dashboard_counts_refresh_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=ctx.refresh_seconds)


class CountsKeeper:
    """The background task that runs `keep_fresh` for the app's lifetime."""

    def __init__(self, ctx: WebContext) -> None:
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(keep_fresh(ctx, self.stopping), name="dashboard-counts")

    async def stop(self) -> None:
        self.stopping.set()
        await self.task
