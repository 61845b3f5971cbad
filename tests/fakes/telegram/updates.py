"""The queue of updates waiting for the bot, shared by getUpdates and webhook delivery."""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass

from tests.fakes.telegram.records import JSON
from tests.fakes.telegram.rules import FIRST_UPDATE_ID, OPT_IN_UPDATES


@dataclass(slots=True)
class Pending:
    """An update in the queue; `seq` orders duplicates and says when it was queued."""

    seq: int
    update: JSON
    attempts: int = 0

    @property
    def key(self) -> tuple[int, int]:
        return (self.update["update_id"], self.seq)

    @property
    def kind(self) -> str:
        return next((key for key in self.update if key != "update_id"), "")


class Updates:
    """Updates waiting for the bot, handed out in update_id order until confirmed or accepted."""

    def __init__(self) -> None:
        self.pending: list[Pending] = []
        self.allowed: frozenset[str] | None = None  # None: all but the opt-in types
        self.wakeup = asyncio.Event()  # set, and replaced, whenever anything changes
        self._seq = 0
        self._answered_upto = 0
        self._last_update_id = FIRST_UPDATE_ID

    def add(self, update: JSON) -> JSON:
        self._seq += 1
        self._last_update_id = max(self._last_update_id, update["update_id"])
        bisect.insort(self.pending, Pending(self._seq, update), key=lambda entry: entry.key)
        self.wake()
        return update

    def add_new(self, payload: JSON, update_id: int | None = None) -> JSON:
        update_id = self._last_update_id + 1 if update_id is None else update_id
        return self.add({"update_id": update_id} | payload)

    def wake(self) -> None:
        self.wakeup.set()
        self.wakeup = asyncio.Event()

    def ready(self, limit: int) -> list[Pending]:
        """The first `limit` pending updates, forgetting those of types the bot did not ask for."""
        allowed = self.allowed
        self.pending = [
            entry
            for entry in self.pending
            if (entry.kind in allowed if allowed else entry.kind not in OPT_IN_UPDATES)
        ]
        return self.pending[:limit]

    def confirm(self, offset: int) -> None:
        """Forget what `offset` confirms: see the package docstring for duplicates."""
        if offset < 0:
            self.pending = self.pending[offset:]
            return
        self.pending = [
            entry
            for entry in self.pending
            if entry.update["update_id"] >= offset or entry.seq > self._answered_upto
        ]

    def answered(self) -> None:
        """Note that getUpdates answered: what is queued now counts as handed out."""
        self._answered_upto = self._seq

    def forget(self, entry: Pending) -> None:
        self.pending = [other for other in self.pending if other is not entry]
