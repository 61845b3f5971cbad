"""The web chat over HTTP through the real ASGI app."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from bot.runtime import Runtime
from models.tables import Message, Resident
from tests.bot.helpers import count

ENDPOINT = "/chat/api/messages"


async def post(client: httpx.AsyncClient, client_id: str, **body: str) -> httpx.Response:
    return await client.post(ENDPOINT, json={"client_id": client_id, **body})


async def test_the_chat_page_sets_a_signed_cookie_and_is_accessible(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/chat")
    assert page.status_code == 200
    assert "lp_chat" in page.cookies
    html = page.text
    assert '<html lang="en-GB">' in html
    assert '<label for="text"' in html
    assert 'aria-live="polite"' in html
    assert (await client.get("/chat/static/chat.js")).status_code == 200


async def test_a_conversation_with_buttons_and_typed_answers(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await client.get("/chat")
    hello = (await post(client, "c000000001", text="Hello")).json()
    assert any("What matters most" in r["text"] for r in hello["replies"])
    first = hello["replies"][-1]
    assert any(c["value"] == "skip" for c in first["choices"])
    skipped = (await post(client, "c000000002", text="Skip", choice="skip")).json()
    assert any("gets in the way" in r["text"] for r in skipped["replies"])
    for n, answer in enumerate(["not much", "the park", "a walking group", "us lot"]):
        await post(client, f"c00000010{n}", text=answer)
    consent = (await post(client, "c000000200", text="Yes please", choice="yes")).json()
    assert any("area" in r["text"].lower() for r in consent["replies"])
    history = (await client.get(ENDPOINT)).json()["messages"]
    assert history[0] == {"direction": "in", "text": "Hello", "choices": []}
    assert len(history) >= 14
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
        assert resident.channel == "web"


async def test_a_retried_post_is_answered_once(client: httpx.AsyncClient, app: FastAPI) -> None:
    await client.get("/chat")
    await post(client, "hello00001", text="hello")
    first = (await post(client, "retry00001", text="the bins are never emptied")).json()
    again = (await post(client, "retry00001", text="the bins are never emptied")).json()
    assert again["duplicate"] is True
    assert again["replies"] == first["replies"]
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session:
        inbound = (
            (await session.execute(select(Message.text).where(Message.direction == "in")))
            .scalars()
            .all()
        )
    assert inbound.count("the bins are never emptied") == 1


async def test_a_forged_cookie_is_a_new_visitor(client: httpx.AsyncClient, app: FastAPI) -> None:
    await client.get("/chat")
    await post(client, "forge00001", text="hello")
    client.cookies.set("lp_chat", "not-a-signed-value")
    assert (await client.get(ENDPOINT)).json() == {"messages": []}
    await post(client, "forge00002", text="hello")
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session:
        assert await count(session, Resident) == 2


async def test_bad_requests_get_clear_answers_and_store_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await client.get("/chat")
    too_big = await client.post(
        ENDPOINT,
        content=b'{"text": "' + b"a" * 70_000 + b'", "client_id": "big0000001"}',
        headers={"content-type": "application/json"},
    )
    assert too_big.status_code == 413
    malformed = await client.post(
        ENDPOINT, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    no_id = await client.post(ENDPOINT, json={"text": "hi"})
    assert no_id.status_code == 422
    form = await client.post(ENDPOINT, data={"text": "hi", "client_id": "form000001"})
    assert form.status_code in (415, 422)
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session:
        assert await count(session, Message) == 0


async def test_health_staff_redirect_board_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    staff = await client.get("/staff")
    assert staff.status_code == 303 and staff.headers["location"] == "/staff/login"
    board = await client.get("/updates")
    assert board.status_code == 200 and "You said, we did" in board.text
    schema = (await client.get("/openapi.json")).json()
    assert "/chat/api/messages" in schema["paths"]
    assert "/healthz" in schema["paths"]
