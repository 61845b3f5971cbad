"""Shared fixtures: a real SQLite file and a real PostgreSQL database per test, the real tagger."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from bot.runtime import Runtime
from bot.settings import Settings, load_settings
from models.db import upgrade
from tests.fakes.telegram import FakeTelegram
from themes.tagger import load_tagger
from themes.types import Tagger

ADMIN_URL = os.environ.get(
    "LP_TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _async_url(database: str) -> str:
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(autouse=True)
def clean_lp_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No LP_ setting from the developer's shell leaks into a test (or its subprocesses)."""
    for key in [k for k in os.environ if k.startswith("LP_") and k != "LP_TEST_POSTGRES_ADMIN_URL"]:
        monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated template database; each test copies it. Fails (never skips) without a server."""
    name = f"lp_template_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    upgrade(_async_url(name))
    yield name
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name = f"lp_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    yield _async_url(name)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite file for one test."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'listening-post.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP to the `app` fixture of the test's package (the real ASGI app, lifespan running)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API on loopback."""
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="session")
def tagger() -> Tagger:
    """The shipped pipeline, loaded once."""
    return load_tagger()


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return load_settings(None, database={"url": sqlite_url}, server={"development": True})


@pytest.fixture
async def runtime(database_url: str, tagger: Tagger) -> AsyncIterator[Runtime]:
    """The runtime on SQLite and on PostgreSQL, with the real tagger."""
    settings = load_settings(None, database={"url": database_url}, server={"development": True})
    rt = await Runtime.start(settings, tagger)
    yield rt
    await rt.close()
