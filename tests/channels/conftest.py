"""The real app, lifespan and all, with Telegram pointed at the fake Bot API on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bot.app import create_app
from bot.runtime import Runtime
from bot.settings import load_settings
from models.tables import Delivery
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram_rules import TOKEN
from themes.types import Tagger

AppFactory = Callable[..., AbstractAsyncContextManager[FastAPI]]


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


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


async def delivery_statuses(app: FastAPI, until: set[str], seconds: float = 5.0) -> set[str]:
    """The set of delivery statuses, once it equals `until` or the time is up."""
    deadline = time.monotonic() + seconds
    while True:
        async with runtime_of(app).sessions() as session:
            statuses = set((await session.execute(select(Delivery.status))).scalars().all())
        if statuses == until or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.05)


@asynccontextmanager
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://lp.example.org") as client:
        yield client
