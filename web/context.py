"""What the web pages need from the runtime, handed over as plain values (web never imports bot)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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


@dataclass
class WebContext:
    """Database sessions and the few settings the pages use."""

    sessions: async_sessionmaker[AsyncSession]
    redact_pii: bool = True
    throttle: LoginThrottle = field(default_factory=LoginThrottle)


def web_context(request: Request) -> WebContext:
    value: WebContext = request.app.state.web
    return value
