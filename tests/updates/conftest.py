"""Fixtures for the update tests: a database (SQLite and PostgreSQL) and a fixed clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from bot.app import create_app
from bot.runtime import Runtime
from bot.settings import Settings, load_settings
from models.db import Database
from themes.types import Tagger

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # a Monday, noon in London


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def app_settings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The app on the test database: scheduler checks often, no quiet hours, web chat only."""
    monkeypatch.setenv("LP_SERVER__SECRET_KEY", "updates-test-" + "k" * 32)
    return load_settings(
        None,
        database={"url": database_url},
        delivery={"quiet_hours": ""},
        scheduler={"check_seconds": 0.2, "lease_seconds": 2.0},
    )


@pytest.fixture
async def app(app_settings: Settings, tagger: Tagger) -> AsyncIterator[FastAPI]:
    """The real app with its lifespan running (scheduler and delivery included)."""
    application = create_app(app_settings, tagger)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://lp.example.org") as http:
        yield http


def database_of(app: FastAPI) -> Database:
    runtime: Runtime = app.state.runtime
    return runtime.db


async def wait_for(read: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Poll `read` until it is true; fail after `seconds`."""
    for _ in range(int(seconds / 0.05)):
        if await read():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not true within {seconds} s")


async def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait until `condition()` holds; fail after `seconds`."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not true within {seconds} s")
