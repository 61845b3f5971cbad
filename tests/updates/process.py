"""A real `listening-post serve` process for tests that stop it the hard way, driven async.

The fake Telegram server runs in the test's event loop, so waiting for the process must not
block that loop (tests/serving.py waits synchronously, which would starve the fake).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.serving import free_port


def serve_env(database_url: str, tg: FakeTelegram, **extra: str) -> dict[str, str]:
    env = dict(os.environ)  # LP_ variables were removed for the test
    env.update(
        LP_DATABASE__URL=database_url,
        LP_SERVER__PORT=str(free_port()),
        LP_SERVER__SECRET_KEY="served-test-secret-" + "y" * 32,
        LP_TELEGRAM__ENABLED="true",
        LP_TELEGRAM__TOKEN=TOKEN,
        LP_TELEGRAM__BASE_URL=tg.base_url,
        LP_TELEGRAM__BASE_FILE_URL=tg.base_file_url,
        LP_TELEGRAM__POLL_TIMEOUT="1",
        LP_DELIVERY__QUIET_HOURS="",
        LP_SCHEDULER__CHECK_SECONDS="0.5",
        LP_SCHEDULER__LEASE_SECONDS="2",
    )
    env.update(extra)
    return env


@asynccontextmanager
async def serving(env: dict[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start `python -m bot serve`, wait until healthy; SIGTERM on the way out if still alive."""
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", env=env, stdout=sink, stderr=sink
        )
    try:
        await healthy(f"http://127.0.0.1:{env['LP_SERVER__PORT']}", process, log)
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 60)


async def healthy(base: str, process: asyncio.subprocess.Process, log: Path) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if process.returncode is not None:
                tail = (await asyncio.to_thread(log.read_text))[-4000:]
                raise AssertionError(f"serve exited early:\n{tail}")
            try:
                if (await client.get(f"{base}/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("serve did not become healthy within 60 s")
