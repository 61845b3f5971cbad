"""What the web pages need from the runtime, handed over as plain values (web never imports bot)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from themes.codebook import Codebook, load_codebook

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


@dataclass
class LoginThrottle:
    """At most `attempts` failed logins per key (client address) in `window` seconds."""

    attempts: int = 5
    window: float = 900.0
    failures: dict[str, deque[float]] = field(default_factory=dict)

    def blocked(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        recent = self.failures.get(key)
        while recent and now - recent[0] > self.window:
            recent.popleft()
        return bool(recent) and len(recent or ()) >= self.attempts

    def fail(self, key: str, now: float | None = None) -> None:
        self.failures.setdefault(key, deque()).append(time.monotonic() if now is None else now)

    def clear(self, key: str) -> None:
        self.failures.pop(key, None)


Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass
class WebContext:
    """Database sessions and the few settings the pages use."""

    sessions: async_sessionmaker[AsyncSession]
    redact_pii: bool = True
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    # The runtime's write transaction (SQLite writers take turns); None: a plain session.
    transaction: Transaction | None = None
    populations: dict[str, int] = field(default_factory=dict)
    reveal_role: str = "manager"
    page_size: int = 50
    refresh_seconds: int = 300
    settings_view: dict[str, dict[str, Any]] = field(default_factory=dict)
    codebook: Codebook = field(default_factory=load_codebook)
    counts_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one recount at a time

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits on success and rolls back on error."""
        if self.transaction is not None:
            async with self.transaction() as session:
                yield session
            return
        async with self.sessions() as session, session.begin():
            yield session


def web_context(request: Request) -> WebContext:
    value: WebContext = request.app.state.web
    return value
