"""Issue 8's scenario, end to end: the real app, the Telegram fake and the web chat.

A consents and talks about damp (Telegram); B talks about damp but declines to hear back
(web chat); C consents but talks only about the park (Telegram); D consents, talks about
damp, then says /stop (web chat). A housing update sent now reaches A exactly once and
never B, C or D, and A's answer to its check-back question lands in A's conversation.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, NamedTuple

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bot.app import create_app
from bot.runtime import Runtime
from bot.settings import load_settings
from models import audience
from models import updates as service
from models.base import utcnow
from models.tables import Delivery, Message
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.updates.conftest import wait_until
from themes.types import Tagger

A, C = 1001, 1003
UPDATE = "You said, we did"
LISTENING = ["hello", None, "skip", "skip", "skip", "skip"]  # None: what they talk about
App = Callable[[], AbstractAsyncContextManager[FastAPI]]


@pytest.fixture
def make_app(
    database_url: str, tagger: Tagger, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> App:
    monkeypatch.setenv("LP_SERVER__SECRET_KEY", "updates-test-" + "k" * 32)
    monkeypatch.setenv("LP_TELEGRAM__TOKEN", TOKEN)
    settings = load_settings(
        None,
        database={"url": database_url},
        telegram={
            "enabled": True,
            "base_url": telegram.base_url,
            "base_file_url": telegram.base_file_url,
            "poll_timeout": 2,
        },
        delivery={"telegram_per_chat_per_second": 20.0, "quiet_hours": ""},
        scheduler={"check_seconds": 0.2, "lease_seconds": 2.0},
    )

    @asynccontextmanager
    async def make() -> AsyncIterator[FastAPI]:
        app = create_app(settings, tagger)
        async with app.router.lifespan_context(app):
            yield app

    return make


def runtime_of(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


class TelegramResident:
    def __init__(self, tg: FakeTelegram, chat: int) -> None:
        self.tg, self.chat = tg, chat

    async def say(self, text: str) -> str:
        before = len(self.tg.messages_to(self.chat))
        self.tg.user_sends(self.chat, text)
        return (await self.tg.wait_for_sent(before + 1, chat_id=self.chat))[-1].text

    async def press(self, label: str) -> str:
        last = self.tg.messages_to(self.chat)[-1]
        data = dict(last.buttons)[label]
        assert data is not None
        before = len(self.tg.messages_to(self.chat))
        self.tg.user_presses(self.chat, last.message_id, data)
        return (await self.tg.wait_for_sent(before + 1, chat_id=self.chat))[-1].text

    def received(self, text: str) -> int:
        return sum(text in m.text for m in self.tg.messages_to(self.chat))


class WebResident:
    _ids = itertools.count(1)

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def say(self, text: str, choice: str | None = None) -> str:
        body: dict[str, Any] = {"text": text, "client_id": f"client-{next(self._ids):06d}"}
        if choice is not None:
            body["choice"] = choice
        response = await self.client.post("/chat/api/messages", json=body)
        assert response.status_code == 200, response.text
        return "\n".join(str(reply["text"]) for reply in response.json()["replies"])

    async def history(self) -> list[dict[str, Any]]:
        response = await self.client.get("/chat/api/messages")
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages


@asynccontextmanager
async def web_resident(app: FastAPI) -> AsyncIterator[WebResident]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://lp.example.org") as client:
        yield WebResident(client)


async def listen(resident: TelegramResident | WebResident, topic: str, hear_back: str) -> str:
    """The listening conversation: `topic` first, the rest skipped, then hear back or not."""
    for line in LISTENING:
        await resident.say(topic if line is None else line)
    return await resident.say(hear_back)


async def send_update(app: FastAPI, themes: list[str]) -> int:
    db = runtime_of(app).db
    async with db.transaction() as session:
        draft = service.UpdateDraft(
            "Damp repairs on the estate",
            "The council has treated damp and mould in 40 flats after what you told us.",
            themes,
            send_at=utcnow(),
        )
        return (await service.create_update(session, draft, None, utcnow())).id


async def hold_the_conversations(
    a: TelegramResident, b: WebResident, c: TelegramResident, d: WebResident
) -> None:
    """A hears back (in LS9), B declines, C talks only of the park, D consents then stops."""
    await listen(a, "The damp in my flat is making the kids ill", "yes please")
    await a.say("LS9")
    await listen(b, "There's damp and mould all over our bedroom walls", "no thanks")
    await listen(c, "The park is lovely but it needs more benches", "yes please")
    await listen(d, "Damp everywhere in our house and the landlord won't fix it", "yes")
    await d.say("/stop")


class Recorded(NamedTuple):
    """What the database holds about the update once A has answered."""

    deliveries: Sequence[Delivery]
    answers: Sequence[Message]
    tags: dict[int, list[str]]
    counts: dict[str, int]
    residents: set[int]  # who sent A's first Telegram message


async def recorded(app: FastAPI, update_id: int) -> Recorded:
    async with runtime_of(app).sessions() as session:
        rows = (await session.execute(select(Delivery))).scalars().all()
        answers = await audience.replies(session, update_id)
        tags = await audience.reply_tags(session, [m.id for m in answers])
        counts = await audience.delivery_counts(session, update_id)
        residents = {
            m.resident_id
            for m in (await session.execute(select(Message))).scalars().all()
            if m.channel == "telegram" and m.channel_message_id == f"{A}:1"
        }
    return Recorded(rows, answers, tags, counts, residents)


async def test_a_housing_update_reaches_only_a_and_a_replies(
    make_app: App, telegram: FakeTelegram
) -> None:
    async with make_app() as app, web_resident(app) as b, web_resident(app) as d:
        a, c = TelegramResident(telegram, A), TelegramResident(telegram, C)
        await hold_the_conversations(a, b, c, d)

        update_id = await send_update(app, ["housing"])
        await telegram.wait_for_sent(1, chat_id=A, timeout=10)
        await wait_until(lambda: a.received(UPDATE) == 1)
        await asyncio.sleep(1.0)  # several scheduler checks and delivery passes later...
        assert a.received(UPDATE) == 1  # ...still exactly once
        assert c.received(UPDATE) == 0
        for web in (b, d):
            assert not [m for m in await web.history() if UPDATE in m["text"]]

        sent = telegram.messages_to(A)[-1]
        assert sent.text.endswith("Does this help?")
        assert [label for label, _ in sent.buttons] == ["Yes", "Not really", "Tell us more"]
        assert "What would you like to tell us" in await a.press("Tell us more")
        await a.say("The mould came back in the bathroom within a week")

        rows, answers, tags, counts, residents = await recorded(app, update_id)
        assert [(r.update_id, r.resident_id) for r in rows if r.update_id] == [
            (update_id, residents.pop())
        ]
        assert [m.text for m in reversed(answers)] == [
            "Tell us more",
            "The mould came back in the bathroom within a week",
        ]
        assert "housing" in tags[answers[0].id]
        assert (counts["sent"], counts["replied"], counts["queued"]) == (1, 1, 0)


async def test_a_web_chat_resident_finds_the_update_in_their_chat_and_answers_it(
    make_app: App,
) -> None:
    async with make_app() as app, web_resident(app) as e:
        await listen(e, "Damp in the flat again, the walls are black", "yes please")
        update_id = await send_update(app, ["housing"])

        async def arrived() -> bool:
            return any(UPDATE in m["text"] for m in await e.history())

        for _ in range(100):
            if await arrived():
                break
            await asyncio.sleep(0.1)
        shown = [m for m in await e.history() if UPDATE in m["text"]]
        assert [c["label"] for c in shown[0]["choices"]] == ["Yes", "Not really", "Tell us more"]
        assert "good to hear" in await e.say("Yes", choice="yes")
        async with runtime_of(app).sessions() as session:
            answers = await audience.replies(session, update_id)
        assert [m.text for m in answers] == ["Yes"]
