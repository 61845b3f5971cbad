"""Inbox, transcript, corrections and alerts through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from bot.runtime import Runtime
from models.tables import MessageTag, PiiReveal, SafeguardingAlert
from tests.web.helpers import HOUSING, inbound_with, residents_say, sign_in


async def test_inbox_filters_and_keyset_pages(client: httpx.AsyncClient, app: FastAPI) -> None:
    await residents_say(app, HOUSING, area="LS9")
    await residents_say(app, ["The buses never turn up on time"], area="LS8")
    me = await sign_in(client, app)
    everything = await client.get("/staff/inbox")
    assert everything.status_code == 200
    assert "turn up on time" in everything.text and "all over the bedroom" in everything.text
    housing = await client.get("/staff/inbox", params={"theme": "housing"})
    assert "all over the bedroom" in housing.text and "turn up on time" not in housing.text
    by_area = await client.get("/staff/inbox", params={"area": "LS8"})
    assert "turn up on time" in by_area.text and "all over the bedroom" not in by_area.text
    words = await client.get("/staff/inbox", params={"q": "MOULD"})
    assert "all over the bedroom" in words.text and "turn up on time" not in words.text
    later = await client.get("/staff/inbox", params={"since": "2100-01-01"})
    assert "No messages match" in later.text
    assert (await client.get("/staff/inbox", params={"theme": "nonsense"})).status_code == 422
    assert (await me.http.get("/staff/inbox", params={"since": "yesterday"})).status_code == 422


async def test_inbox_pages_by_keyset(app: FastAPI, client: httpx.AsyncClient) -> None:
    await residents_say(app, HOUSING * 2)
    await sign_in(client, app)
    app.state.web.page_size = 5
    first = await client.get("/staff/inbox")
    assert 'rel="next"' in first.text
    cursor = first.text.split("before=")[1].split('"')[0]
    second = await client.get("/staff/inbox", params={"before": cursor})
    first_ids = set(_message_ids(first.text))
    second_ids = set(_message_ids(second.text))
    assert len(first_ids) == 5 and second_ids and not first_ids & second_ids
    assert max(second_ids) < min(first_ids)


def _message_ids(html: str) -> list[int]:
    return [int(part.split('"')[0]) for part in html.split('<li id="m')[1:]]


async def test_transcript_redacts_and_logs_a_reveal(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    (rid,) = await residents_say(app, ["Ring me on 07700 900461 about the damp flat please"])
    await sign_in(client, app, "manager")
    page = await client.get(f"/staff/residents/{rid}")
    assert page.status_code == 200
    assert "07700 900461" not in page.text and "[PHONE]" in page.text
    assert "<mark" in page.text  # evidence highlighted
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    refused = await client.post(f"/staff/residents/{rid}/reveal", data={"csrf": "wrong"})
    assert refused.status_code == 403
    revealed = await client.post(f"/staff/residents/{rid}/reveal", data={"csrf": csrf})
    assert revealed.status_code == 200 and "07700 900461" in revealed.text
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session:
        logged = (await session.execute(select(PiiReveal))).scalars().all()
    assert [(r.resident_id, r.what) for r in logged] == [(rid, "transcript")]


async def test_staff_cannot_reveal(app: FastAPI, client: httpx.AsyncClient) -> None:
    (rid,) = await residents_say(app, ["Call me on 07700 900461"])
    me = await sign_in(client, app, "staff")
    page = await client.get(f"/staff/residents/{rid}")
    assert "Reveal personal details" not in page.text
    answer = await client.post(f"/staff/residents/{rid}/reveal", data={"csrf": me.csrf})
    assert answer.status_code == 403


async def test_correcting_tags_in_one_click(app: FastAPI, client: httpx.AsyncClient) -> None:
    await residents_say(app, HOUSING[:1])
    (message_id,) = await inbound_with(app, "theme", "housing")
    me = await sign_in(client, app)
    added = await client.post(
        f"/staff/messages/{message_id}/tags",
        data={"csrf": me.csrf, "kind": "theme", "label": "transport", "back": "/staff/inbox"},
    )
    assert added.status_code == 303 and added.headers["location"].endswith(f"#m{message_id}")
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session:
        tags = (
            (await session.execute(select(MessageTag).where(MessageTag.message_id == message_id)))
            .scalars()
            .all()
        )
    staff_tag = next(t for t in tags if t.label == "transport")
    assert staff_tag.source == "staff" and staff_tag.staff_user_id == me.user_id
    housing = next(t for t in tags if t.label == "housing")
    removed = await client.post(
        f"/staff/messages/{message_id}/tags/{housing.id}/remove",
        data={"csrf": me.csrf, "back": "https://evil.example/"},
    )
    assert removed.status_code == 303 and removed.headers["location"].startswith("/staff/")
    async with runtime.sessions() as session:
        gone = await session.get(MessageTag, housing.id)
    assert gone is not None and gone.removed_at is not None and gone.staff_user_id == me.user_id
    assert (await inbound_with(app, "theme", "housing")) == []
    agreement = await client.get("/staff/agreement")
    assert "Housing" in agreement.text and "Transport" in agreement.text


async def test_corrections_refuse_bad_labels_and_missing_csrf(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await residents_say(app, HOUSING[:1])
    (message_id,) = await inbound_with(app, "theme", "housing")
    me = await sign_in(client, app)
    url = f"/staff/messages/{message_id}/tags"
    body = {"kind": "theme", "label": "transport"}
    assert (await client.post(url, data=body)).status_code == 403
    assert (await client.post(url, data={**body, "csrf": "wrong"})).status_code == 403
    bad = {"csrf": me.csrf, "kind": "theme", "label": "unicorns"}
    assert (await client.post(url, data=bad)).status_code == 422
    risky = {"csrf": me.csrf, "kind": "safeguarding", "label": "abuse"}
    assert (await client.post(url, data=risky)).status_code == 422
    assert (
        await client.post("/staff/messages/999999/tags", data={**body, "csrf": me.csrf})
    ).status_code == 404
    assert await inbound_with(app, "theme", "transport") == []


async def test_alerts_on_top_and_handled(app: FastAPI, client: httpx.AsyncClient) -> None:
    (rid,) = await residents_say(app, ["I can't go on, I want to end my life"])
    me = await sign_in(client, app)
    alerts = await client.get("/staff/alerts")
    assert f"/staff/residents/{rid}" in alerts.text
    page = await client.get(f"/staff/residents/{rid}")
    assert page.text.index("Safeguarding alerts") < page.text.index("<h2>Messages</h2>")
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session:
        alert = (await session.execute(select(SafeguardingAlert))).scalar_one()
    done = await client.post(
        f"/staff/alerts/{alert.id}/handle", data={"csrf": me.csrf, "note": "Called back"}
    )
    assert done.status_code == 303
    async with runtime.sessions() as session:
        handled = await session.get(SafeguardingAlert, alert.id)
    assert handled is not None and handled.status == "handled"
    assert handled.handled_by_id == me.user_id and handled.note == "Called back"
    assert f"/staff/residents/{rid}" not in (await client.get("/staff/alerts")).text
