"""The real app, lifespan and all, with Telegram pointed at the fake Bot API on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bot.app import create_app
from bot.runtime import Runtime
from bot.settings import load_settings
from models.tables import Delivery, Resident
from tests.fakes.telegram import TOKEN, FakeTelegram
from themes.types import Tagger

AppFactory = Callable[..., AbstractAsyncContextManager[FastAPI]]
T = TypeVar("T")


@pytest.fixture
def telegram_app(
    sqlite_url: str, tagger: Tagger, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> AppFactory:
    """Builds the app with Telegram enabled against the fake; extra settings per test."""
    monkeypatch.setenv("LP_SERVER__SECRET_KEY", "telegram-test-" + "k" * 32)
    monkeypatch.setenv("LP_TELEGRAM__TOKEN", TOKEN)

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[FastAPI]:
        sections: dict[str, dict[str, Any]] = {
            "database": {"url": sqlite_url},
            "telegram": {
                "enabled": True,
                "base_url": telegram.base_url,
                "base_file_url": telegram.base_file_url,
                "poll_timeout": 2,
            },
            "delivery": {"telegram_per_chat_per_second": 20.0},
        }
        for section, values in overrides.items():
            sections.setdefault(section, {}).update(values)
        app = create_app(load_settings(None, **sections), tagger)
        async with app.router.lifespan_context(app):
            yield app

    return make


def runtime_of(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


async def eventually(
    read: Callable[[], Awaitable[T]], done: Callable[[T], bool], seconds: float = 5.0
) -> T:
    """Read until `done` holds or the time is up; returns the last reading either way."""
    deadline = time.monotonic() + seconds
    while True:
        value = await read()
        if done(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


async def delivery_statuses(app: FastAPI, until: set[str], seconds: float = 5.0) -> set[str]:
    """The set of delivery statuses, once it equals `until` or the time is up."""

    async def read() -> set[str]:
        async with runtime_of(app).sessions() as session:
            return set((await session.execute(select(Delivery.status))).scalars().all())

    return await eventually(read, lambda statuses: statuses == until, seconds)


async def unreachable_since(app: FastAPI) -> datetime | None:
    """When the (only) resident was marked unreachable, waiting up to 5 s for it."""

    async def read() -> datetime | None:
        async with runtime_of(app).sessions() as session:
            resident = (await session.execute(select(Resident))).scalar_one_or_none()
        return resident.unreachable_at if resident is not None else None

    return await eventually(read, lambda when: when is not None)


@asynccontextmanager
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://lp.example.org") as client:
        yield client
