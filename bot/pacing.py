"""Pacing outbound sends: a global rate and a per-recipient rate, as platforms require."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """Spaces sends at least 1/`per_second` apart overall and 1/`per_address` per recipient.

    Strict spacing (rather than a bursty token bucket) means no one-second window ever holds
    more than the limit, which is what Telegram and WhatsApp count.
    """

    def __init__(
        self,
        per_second: float,
        per_address_per_second: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.gap = 1.0 / per_second
        self.address_gap = 1.0 / per_address_per_second if per_address_per_second else 0.0
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0
        self._next_for: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, address: str) -> None:
        """Wait until a send to `address` keeps within both rates, then claim the slot.

        Senders queue for the global slot one at a time (the lock is fair), and each next
        slot is counted from when the previous one was actually taken: if the event loop
        stalls, the senders held up go out spaced, never in a burst that breaks the limit.
        A recipient's own spacing is waited for outside the queue, holding no one else up.
        """
        own = self._next_for.get(address, 0.0) - self.clock()
        if own > 0:
            await self.sleep(own)
        async with self._lock:
            while (delay := self._next - self.clock()) > 0:
                await self.sleep(delay)
            now = self.clock()
            # Woken a little late (as every sleeper is): keep to the schedule, or the rate
            # drifts down; late by more (a stall, or idle): count from now.
            on_time = now - self._next < self.gap / 4
            self._next = (self._next if on_time else now) + self.gap
            if self.address_gap:
                self._next_for[address] = now + self.address_gap
                self._forget_old(now)

    def hold_off(self, seconds: float) -> None:
        """The platform said 429: nothing goes out for `seconds` from now."""
        self._next = max(self._next, self.clock() + seconds)

    def _forget_old(self, now: float) -> None:
        if len(self._next_for) > 10_000:
            self._next_for = {k: v for k, v in self._next_for.items() if v > now}
