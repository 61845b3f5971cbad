"""An HTTP client on the real ASGI app (lifespan and all), on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from bot.app import create_app
from bot.settings import load_settings
from themes.types import Tagger


@pytest.fixture
async def app(
    database_url: str, tagger: Tagger, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FastAPI]:
    monkeypatch.setenv("LP_SERVER__SECRET_KEY", "test-secret-key-" + "x" * 32)
    settings = load_settings(None, database={"url": database_url})
    application = create_app(settings, tagger)
    async with application.router.lifespan_context(application):
        yield application
