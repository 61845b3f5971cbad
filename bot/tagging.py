"""Runs the tagger off the event loop, one message at a time, in its own worker thread."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from themes.types import Tagger, TagResult


class TaggingWorker:
    """A single worker thread owns the spaCy pipeline, so tagging never blocks the loop."""

    def __init__(self, tagger: Tagger) -> None:
        self.tagger = tagger
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tagger")

    @property
    def version(self) -> str:
        return self.tagger.version

    async def tag(self, text: str) -> TagResult:
        """Tag `text` in the worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.tagger.tag, text)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
