"""Managers' pages: record an action, write an update, preview it, send it, cancel one."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from models import updates as service
from models.base import utcnow
from tests.updates.conftest import database_of, wait_for
from tests.updates.seeding import Someone, seed
from tests.web.helpers import sign_in


async def residents(app: FastAPI, count: int) -> None:
    async with database_of(app).transaction() as session:
        for n in range(count):
            await seed(
                session,
                Someone(f"web-{n}", channel="web", text="the damp in here is awful"),
                utcnow(),
            )


async def record_action(client: httpx.AsyncClient, csrf: str, **extra: str) -> httpx.Response:
    form = {"csrf": csrf, "title": "Damp treated", "description": "40 flats treated."}
    form |= {"done_by": "Housing team", "done_on": "2026-11-01", "themes": "housing"}
    return await client.post("/staff/actions", data=form | extra)


async def write_update(client: httpx.AsyncClient, csrf: str, action: str) -> str:
    answer = await client.post(
        f"{action}/updates",
        data={
            "csrf": csrf,
            "title": "Damp treated",
            "body": "We treated 40 flats.",
            "themes": "housing",
            "period_days": "90",
        },
    )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def test_only_managers_may_use_them(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client, app, role="staff")
    for path in ("/staff/actions", "/staff/updates"):
        assert (await client.get(path)).status_code == 403


async def test_a_manager_records_an_action_and_sends_an_update(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    manager = await sign_in(client, app, role="manager")
    await residents(app, 3)
    assert (await record_action(client, "wrong")).status_code == 403
    refused = await record_action(client, manager.csrf, themes="")
    assert refused.status_code == 400 and "choose at least one theme" in refused.text
    recorded = await record_action(client, manager.csrf)
    assert recorded.status_code == 303
    action = recorded.headers["location"]
    assert "40 flats treated." in (await client.get(action)).text

    page_url = await write_update(client, manager.csrf, action)
    page = (await client.get(page_url)).text
    assert "fewer than 5" in page  # three residents: suppressed, and no sample
    assert "A sample" not in page
    assert page.count("Does this help?") == 4  # Telegram, WhatsApp twice, web chat
    assert "you_said_we_did" in page

    await residents_more(app)
    page = (await client.get(page_url)).text
    assert re.search(r"<strong>6</strong> residents", page)
    assert "the damp in here is awful" in page  # the sample

    sent = await client.post(f"{page_url}/schedule", data={"csrf": manager.csrf, "when": "now"})
    assert sent.status_code == 303
    update_id = int(page_url.rsplit("/", 1)[1])

    async def went_out() -> bool:
        async with database_of(app).sessions() as session:
            return (await service.get_update(session, update_id)).status == "sent"

    await wait_for(went_out)
    page = (await client.get(page_url)).text
    assert re.search(r"Sent</th><td>6</td>", page)
    assert "No replies yet." in page
    listed = (await client.get("/staff/updates")).text
    assert "Damp treated" in listed and "sent" in listed


async def residents_more(app: FastAPI) -> None:
    async with database_of(app).transaction() as session:
        for n in range(3, 6):
            await seed(
                session,
                Someone(f"web-{n}", channel="web", text="the damp in here is awful"),
                utcnow(),
            )


async def test_a_scheduled_update_can_be_cancelled_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    manager = await sign_in(client, app, role="manager")
    action = (await record_action(client, manager.csrf)).headers["location"]
    page_url = await write_update(client, manager.csrf, action)
    later = await client.post(
        f"{page_url}/schedule",
        data={"csrf": manager.csrf, "when": "at", "send_at": "2099-01-01T09:30"},
    )
    assert later.status_code == 303
    page = (await client.get(page_url)).text
    assert "scheduled" in page and "1 January 2099 09:30" in page
    assert (await client.post(f"{page_url}/cancel", data={"csrf": manager.csrf})).status_code == 303
    again = await client.post(f"{page_url}/cancel", data={"csrf": manager.csrf})
    assert again.status_code == 400 and "nothing left to cancel" in again.text
    bad_time = await client.post(
        f"{page_url}/schedule", data={"csrf": manager.csrf, "when": "at", "send_at": "soon"}
    )
    assert bad_time.status_code == 400
    assert (await client.get("/staff/updates/999")).status_code == 404
