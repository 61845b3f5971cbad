"""The JSON API: nothing without auth, personal tokens (hashed at rest), session + CSRF."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from bot.runtime import Runtime
from models.tables import ApiToken
from tests.web.helpers import HOUSING, SignedIn, inbound_with, residents_say, sign_in

API_GETS = [
    "/api/messages",
    "/api/residents/1/transcript",
    "/api/alerts",
    "/api/overview",
    "/api/equity",
    "/api/agreement",
]


async def make_token(me: SignedIn, name: str = "script") -> str:
    made = await me.http.post("/staff/tokens", data={"csrf": me.csrf, "name": name})
    assert made.status_code == 201
    found = re.search(r'id="new-token">(lp_[^<]+)<', made.text)
    assert found is not None
    return found.group(1)


async def test_nothing_under_api_answers_without_auth(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await residents_say(app, HOUSING[:1])
    for path in API_GETS:
        answer = await client.get(path)
        assert answer.status_code == 401, path
        assert answer.headers["www-authenticate"] == "Bearer"
    wrong = {"Authorization": "Bearer lp_not-a-real-token"}
    assert (await client.get("/api/messages", headers=wrong)).status_code == 401
    post = await client.post("/api/messages/1/tags", json={"kind": "theme", "label": "food"})
    assert post.status_code == 401


async def test_a_personal_token_reads_and_corrects(app: FastAPI, client: httpx.AsyncClient) -> None:
    await residents_say(app, HOUSING[:2])
    token = await make_token(await sign_in(client, app))
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session:
        stored = (await session.execute(select(ApiToken))).scalar_one()
    assert token not in stored.token_hash and len(stored.token_hash) == 64
    client.cookies.clear()  # the token alone
    auth = {"Authorization": f"Bearer {token}"}
    page = (await client.get("/api/messages", params={"theme": "housing"}, headers=auth)).json()
    assert len(page["items"]) == 2 and page["next_before"] is None
    first = page["items"][0]
    assert any(t["label"] == "housing" and t["source"] == "model" for t in first["tags"])
    small = (await client.get("/api/messages", params={"limit": 1}, headers=auth)).json()
    older = await client.get("/api/messages", params={"before": small["next_before"]}, headers=auth)
    assert older.json()["items"][0]["id"] < small["items"][0]["id"]
    transcript = await client.get(f"/api/residents/{first['resident_id']}/transcript", headers=auth)
    assert transcript.status_code == 200 and transcript.json()["messages"]
    added = await client.post(
        f"/api/messages/{first['id']}/tags", json={"kind": "signal", "label": "idea"}, headers=auth
    )
    assert added.status_code == 201 and added.json()["source"] == "staff"
    gone = await client.delete(
        f"/api/messages/{first['id']}/tags/{added.json()['id']}", headers=auth
    )
    assert gone.status_code == 204
    assert first["id"] not in await inbound_with(app, "signal", "idea")
    overview = (await client.get("/api/overview", headers=auth)).json()
    assert {"weekly", "themes", "areas", "signals", "channels"} <= set(overview)


async def test_a_revoked_token_stops_working(app: FastAPI, client: httpx.AsyncClient) -> None:
    me = await sign_in(client, app)
    token = await make_token(me)
    auth = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/alerts", headers=auth)).status_code == 200
    page = await client.get("/staff/tokens")
    token_id = re.search(r"/staff/tokens/(\d+)/revoke", page.text)
    assert token_id is not None
    revoked = await client.post(f"/staff/tokens/{token_id.group(1)}/revoke", data={"csrf": me.csrf})
    assert revoked.status_code == 303
    client.cookies.clear()
    assert (await client.get("/api/alerts", headers=auth)).status_code == 401


async def test_the_session_cookie_reads_but_changes_need_the_csrf_header(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await residents_say(app, HOUSING[:1])
    (message_id,) = await inbound_with(app, "theme", "housing")
    me = await sign_in(client, app)
    assert (await client.get("/api/messages")).status_code == 200
    body = {"kind": "theme", "label": "food"}
    url = f"/api/messages/{message_id}/tags"
    assert (await client.post(url, json=body)).status_code == 403
    assert (await client.post(url, json=body, headers={"X-CSRF-Token": "x"})).status_code == 403
    made = await client.post(url, json=body, headers={"X-CSRF-Token": me.csrf})
    assert made.status_code == 201


async def test_openapi_documents_the_api(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    paths = set(schema["paths"])
    assert {"/api/messages", "/api/overview", "/api/equity", "/api/agreement"} <= paths
    staff_pages = [p for p in paths if p.startswith("/staff")]
    assert staff_pages == []  # pages are not API
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
