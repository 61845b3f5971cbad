"""Fixtures for the tests of the fakes: each fake served, and a client that talks to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Bot

from tests.fakes.helpers import NOW
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import ACCESS_TOKEN, FakeGraph


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as b:
        yield b


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph(approved_templates={"checkin_reminder"}, clock=lambda: NOW) as fake:
        yield fake


@pytest.fixture
async def http(graph: FakeGraph) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    async with httpx.AsyncClient(base_url=graph.base_url, headers=headers) as client:
        yield client
