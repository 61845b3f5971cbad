"""The rate limiter keeps to Telegram's limits even when the event loop stalls."""

from __future__ import annotations

import asyncio
import itertools
import time

from bot.pacing import RateLimiter


class Time:
    """A clock the test moves: sleeping advances it, and `stall` jumps it as a blocked loop."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


async def sends(limiter: RateLimiter, clock: Time, addresses: list[str]) -> list[float]:
    stamps: list[float] = []

    async def one(address: str) -> None:
        await limiter.acquire(address)
        stamps.append(clock.now)

    await asyncio.gather(*(one(a) for a in addresses))
    return sorted(stamps)


async def test_sends_are_spaced_by_the_global_rate() -> None:
    clock = Time()
    limiter = RateLimiter(30.0, 1.0, clock=clock, sleep=clock.sleep)
    stamps = await sends(limiter, clock, [f"chat-{n}" for n in range(90)])
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 1 / 30 - 1e-9


async def test_one_chat_waits_without_holding_others_up() -> None:
    clock = Time()
    limiter = RateLimiter(30.0, 1.0, clock=clock, sleep=clock.sleep)
    await limiter.acquire("busy")
    await limiter.acquire("busy")
    assert clock.now >= 1.0
    start = clock.now
    await limiter.acquire("other")
    assert clock.now - start <= 1 / 30 + 1e-9


async def test_a_stalled_event_loop_does_not_release_a_burst() -> None:
    """Real time: senders are waiting for their slots when the loop is blocked for 0.3 s."""
    limiter = RateLimiter(30.0, 1.0)
    stamps: list[float] = []

    async def one(address: str) -> None:
        await limiter.acquire(address)
        stamps.append(time.monotonic())

    async def stall() -> None:
        await asyncio.sleep(0.1)
        time.sleep(0.3)  # noqa: ASYNC251 - a blocked loop is the point

    await asyncio.gather(stall(), *(one(f"chat-{n}") for n in range(45)))
    window = 1.0 - 0.05  # the fake Telegram's tolerance
    most = max(sum(1 for s in stamps if start <= s < start + window) for start in stamps)
    assert most <= 30


async def test_hold_off_pauses_everyone() -> None:
    clock = Time()
    limiter = RateLimiter(30.0, None, clock=clock, sleep=clock.sleep)
    await limiter.acquire("a")
    limiter.hold_off(5.0)
    await limiter.acquire("b")
    assert clock.now >= 5.0
