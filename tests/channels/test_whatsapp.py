"""WhatsApp end to end: the real app against a fake Graph API on loopback, signed webhooks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import create_app
from bot.settings import load_settings
from models.tables import Consent, Delivery, Message, Resident, Update
from tests.channels.conftest import (
    delivery_statuses,
    eventually,
    http,
    runtime_of,
    unreachable_since,
)
from tests.fakes.whatsapp import (
    ACCESS_TOKEN,
    PHONE_NUMBER_ID,
    FakeGraph,
    button_reply,
    list_reply,
    media_message,
    sign,
    signed_post,
    status_update,
    text_message,
    verification_params,
)
from themes.types import Tagger

APP_SECRET = "whatsapp-app-secret"
VERIFY = "verify-me-please"
WA_ID = "447700900123"
Factory = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph(approved_templates={"you_said_we_did"}) as fake:
        yield fake


@pytest.fixture
def whatsapp_app(
    sqlite_url: str, tagger: Tagger, graph: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> Factory:
    monkeypatch.setenv("LP_SERVER__SECRET_KEY", "whatsapp-test-" + "k" * 32)
    monkeypatch.setenv("LP_WHATSAPP__ACCESS_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv("LP_WHATSAPP__APP_SECRET", APP_SECRET)
    monkeypatch.setenv("LP_WHATSAPP__VERIFY_TOKEN", VERIFY)

    @asynccontextmanager
    async def make(**delivery: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        settings = load_settings(
            None,
            database={"url": sqlite_url},
            whatsapp={
                "enabled": True,
                "graph_url": graph.base_url,
                "phone_number_id": PHONE_NUMBER_ID,
            },
            delivery={"whatsapp_per_recipient_per_second": 50.0, **delivery},
        )
        app = create_app(settings, tagger)
        async with app.router.lifespan_context(app), http(app) as client:
            yield app, client

    return make


async def deliver(client: httpx.AsyncClient, payload: dict[str, Any]) -> httpx.Response:
    body, headers = signed_post(payload, APP_SECRET)
    return await client.post("/webhooks/whatsapp", content=body, headers=headers)


async def say(
    client: httpx.AsyncClient, graph: FakeGraph, payload: dict[str, Any]
) -> dict[str, Any]:
    before = len(graph.sent)
    assert (await deliver(client, payload)).status_code == 200
    sent = await graph.wait_for_sent(before + 1)
    return sent[-1].body


def shown(body: dict[str, Any]) -> str:
    if body["type"] == "text":
        return str(body["text"]["body"])
    return str(body["interactive"]["body"]["text"])


async def test_verification_handshake(whatsapp_app: Factory) -> None:
    async with whatsapp_app() as (_app, client):
        ok = await client.get("/webhooks/whatsapp", params=verification_params(VERIFY, "4242"))
        assert (ok.status_code, ok.text) == (200, "4242")
        wrong = await client.get("/webhooks/whatsapp", params=verification_params("nope"))
        assert wrong.status_code == 403


async def test_forged_missing_and_stale_signatures_are_refused(
    whatsapp_app: Factory, graph: FakeGraph
) -> None:
    async with whatsapp_app() as (app, client):
        payload = text_message(WA_ID, "hello", graph=graph)
        body, headers = signed_post(payload, APP_SECRET)
        forged = dict(headers, **{"X-Hub-Signature-256": sign(body, "not-the-secret")})
        missing = {"Content-Type": "application/json"}
        stale_body, stale_headers = signed_post(text_message(WA_ID, "older"), APP_SECRET)
        for content, sent_headers in [(body, forged), (body, missing), (body, stale_headers)]:
            answer = await client.post("/webhooks/whatsapp", content=content, headers=sent_headers)
            assert answer.status_code == 403
        tampered = body.replace(b"hello", b"HELLO")
        answer = await client.post("/webhooks/whatsapp", content=tampered, headers=headers)
        assert answer.status_code == 403
        async with runtime_of(app).sessions() as session:
            assert (await session.execute(select(Message))).first() is None
        assert stale_body != body


async def test_oversized_and_malformed_bodies_are_refused_and_store_nothing(
    whatsapp_app: Factory,
) -> None:
    async with whatsapp_app() as (app, client):
        bad = b"{not json"
        headers = {"X-Hub-Signature-256": sign(bad, APP_SECRET)}
        assert (
            await client.post("/webhooks/whatsapp", content=bad, headers=headers)
        ).status_code == 400
        shape = b'{"object": "page"}'
        headers = {"X-Hub-Signature-256": sign(shape, APP_SECRET)}
        assert (
            await client.post("/webhooks/whatsapp", content=shape, headers=headers)
        ).status_code == 400
        huge = b"x" * 100_000
        headers = {"X-Hub-Signature-256": sign(huge, APP_SECRET)}
        assert (
            await client.post("/webhooks/whatsapp", content=huge, headers=headers)
        ).status_code == 413
        async with runtime_of(app).sessions() as session:
            assert (await session.execute(select(Message))).first() is None


async def test_a_whole_conversation_with_buttons_and_a_list(
    whatsapp_app: Factory, graph: FakeGraph
) -> None:
    async with whatsapp_app() as (app, client):
        first = await say(client, graph, text_message(WA_ID, "hi", graph=graph))
        assert "What matters most" in shown(first)
        buttons = first["interactive"]["action"]["buttons"]
        assert {"type": "reply", "reply": {"id": "v1:skip", "title": "Skip"}} in buttons
        skipped = await say(client, graph, button_reply(WA_ID, "v1:skip", "Skip", graph=graph))
        assert "gets in the way" in shown(skipped)
        for answer in ["damp", "the park", "a walking group"]:
            await say(client, graph, text_message(WA_ID, answer, graph=graph))
        consent = await say(client, graph, text_message(WA_ID, "us lot", graph=graph))
        assert consent["type"] == "interactive"
        area = await say(client, graph, button_reply(WA_ID, "v1:yes", "Yes please", graph=graph))
        assert "area" in shown(area).lower()
        done = await say(client, graph, text_message(WA_ID, "LS9", graph=graph))
        assert "that's everything" in shown(done).lower()
        pulse_like = await say(client, graph, list_reply(WA_ID, "v1:better", "Better", graph=graph))
        assert shown(pulse_like)
        async with runtime_of(app).sessions() as session:
            resident = (await session.execute(select(Resident))).scalar_one()
            assert (resident.channel, resident.area) == ("whatsapp", "LS9")
        assert await delivery_statuses(app, until={"sent"}) == {"sent"}


async def test_a_redelivered_wamid_is_processed_once(
    whatsapp_app: Factory, graph: FakeGraph
) -> None:
    async with whatsapp_app() as (app, client):
        payload = text_message(WA_ID, "hello", wamid="wamid.SAME", graph=graph)
        await say(client, graph, payload)
        assert (await deliver(client, payload)).status_code == 200
        await asyncio.sleep(0.5)
        assert len(graph.sent) == 1
        async with runtime_of(app).sessions() as session:
            inbound = (
                (await session.execute(select(Message).where(Message.direction == "in")))
                .scalars()
                .all()
            )
        assert len(inbound) == 1


async def test_statuses_update_the_delivery_rows(whatsapp_app: Factory, graph: FakeGraph) -> None:
    async with whatsapp_app() as (app, client):
        await say(client, graph, text_message(WA_ID, "hello", graph=graph))
        wamid = graph.sent[-1].wamid
        assert await delivery_statuses(app, until={"sent"}) == {"sent"}
        await deliver(client, status_update(wamid, "delivered", WA_ID, graph=graph))
        await deliver(client, status_update(wamid, "read", WA_ID, graph=graph))
        async with runtime_of(app).sessions() as session:
            delivery = (await session.execute(select(Delivery))).scalar_one()
        assert delivery.status == "read"
        await deliver(client, status_update(wamid, "failed", WA_ID, errors=[131026], graph=graph))
        async with runtime_of(app).sessions() as session:
            delivery = (await session.execute(select(Delivery))).scalar_one()
        assert delivery.status == "failed"
        assert delivery.error is not None
        assert "131026" in delivery.error


async def test_throughput_limit_then_success_without_loss_or_duplicate(
    whatsapp_app: Factory, graph: FakeGraph
) -> None:
    async with whatsapp_app() as (app, client):
        graph.fail_next(130429)
        started = time.monotonic()
        assert (await deliver(client, text_message(WA_ID, "hello", graph=graph))).status_code == 200
        await graph.wait_for_sent(1, timeout=10)
        assert time.monotonic() - started >= 2.0  # backed off before trying again
        assert await delivery_statuses(app, until={"sent"}) == {"sent"}
        assert len(graph.sent) == 1
        async with runtime_of(app).sessions() as session:
            delivery = (await session.execute(select(Delivery))).scalar_one()
        assert (delivery.status, delivery.attempts) == ("sent", 1)


async def queue_an_update(session: AsyncSession, resident_id: int, created_at: datetime) -> None:
    """Queue the "you said, we did" update for the resident, as the update sender would."""
    update = Update(
        title="Damp repairs",
        body="You said damp; we fixed 40 homes.",
        themes=["housing"],
        status="sending",
    )
    session.add(update)
    await session.flush()
    message = Message(
        resident_id=resident_id,
        direction="out",
        channel="whatsapp",
        text=update.body,
        created_at=created_at,
    )
    session.add(message)
    await session.flush()
    session.add(
        Delivery(
            resident_id=resident_id,
            update_id=update.id,
            message_id=message.id,
            channel="whatsapp",
        )
    )


async def queue_a_free_form_reply(
    session: AsyncSession, resident_id: int, created_at: datetime
) -> int:
    """Queue a free-form (non-template) reply to the resident; returns its message id."""
    reply = Message(
        resident_id=resident_id,
        direction="out",
        channel="whatsapp",
        text="a free-form reply",
        created_at=created_at,
    )
    session.add(reply)
    await session.flush()
    session.add(Delivery(resident_id=resident_id, message_id=reply.id, channel="whatsapp"))
    return reply.id


async def test_an_update_outside_the_window_goes_as_the_template(
    whatsapp_app: Factory, graph: FakeGraph
) -> None:
    async with whatsapp_app(quiet_hours="") as (app, client):
        await say(client, graph, text_message(WA_ID, "hello", graph=graph))
        runtime = runtime_of(app)
        long_ago = datetime.now(UTC) - timedelta(days=3)
        async with runtime.db.transaction() as session:
            resident = (await session.execute(select(Resident))).scalar_one()
            resident.last_inbound_at = long_ago
            # Updates go only to residents who agreed to hear back (checked when sending).
            session.add(
                Consent(
                    resident_id=resident.id,
                    purpose="hear_back",
                    granted=True,
                    wording_version="hear_back-v1",
                    channel="whatsapp",
                )
            )
            await queue_an_update(session, resident.id, created_at=long_ago)
            reply_id = await queue_a_free_form_reply(session, resident.id, created_at=long_ago)
        graph.customer_wrote(WA_ID, long_ago)
        app.state.whatsapp.worker.notify()
        sent = await graph.wait_for_sent(2)
        template = sent[-1].body
        assert template["type"] == "template"
        assert template["template"]["name"] == "you_said_we_did"
        params = template["template"]["components"][0]["parameters"]
        assert params[0]["text"] == "You said damp; we fixed 40 homes."
        await delivery_statuses(app, until={"sent", "not_sendable"})
        async with runtime.sessions() as session:
            rows = {d.message_id: d for d in (await session.execute(select(Delivery))).scalars()}
        assert rows[reply_id].status == "not_sendable"  # recorded, never silently dropped
        assert "24-hour" in (rows[reply_id].error or "")
        assert len(graph.sent) == 2


async def test_an_unreachable_number_is_marked(whatsapp_app: Factory, graph: FakeGraph) -> None:
    async with whatsapp_app() as (app, client):
        graph.unreachable(WA_ID)
        await deliver(client, text_message(WA_ID, "hello", graph=graph))
        assert await unreachable_since(app) is not None


async def test_a_crisis_message_gets_116_123_within_a_second(
    whatsapp_app: Factory, graph: FakeGraph
) -> None:
    async with whatsapp_app() as (_app, client):
        await say(client, graph, text_message(WA_ID, "hello", graph=graph))
        started = time.monotonic()
        reply = await say(
            client, graph, text_message(WA_ID, "i want to end my life tonight", graph=graph)
        )
        assert time.monotonic() - started < 1.0
        assert "116 123" in shown(reply)


async def test_other_message_types_get_a_kind_explanation(
    whatsapp_app: Factory, graph: FakeGraph
) -> None:
    async with whatsapp_app() as (_app, client):
        await say(client, graph, text_message(WA_ID, "hello", graph=graph))
        for kind in ["image", "audio", "sticker", "location", "unsupported"]:
            reply = await say(client, graph, media_message(WA_ID, kind, graph=graph))
            assert "text" in shown(reply).lower() or "type" in shown(reply).lower()


async def test_a_rejected_token_stops_the_channel_and_keeps_the_message(
    whatsapp_app: Factory, graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    async with whatsapp_app() as (app, client):
        graph.fail_next(190)
        await deliver(client, text_message(WA_ID, "hello", graph=graph))
        worker = app.state.whatsapp.worker

        async def down() -> set[str]:
            return set(worker.down)

        assert "whatsapp" in await eventually(down, lambda channels: "whatsapp" in channels)
        assert any(
            r.levelname == "CRITICAL" and r.getMessage() == "channel_down" for r in caplog.records
        )
        assert await delivery_statuses(app, until={"queued"}) == {"queued"}  # kept, not lost
        assert graph.sent == []
