"""Overview, theme page, equity of voice and exports: counts, suppression, CSV, redaction."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import httpx
from fastapi import FastAPI

from bot.runtime import Runtime
from models.counts import CountsRepository
from models.dashboard import TagRepository
from tests.web.helpers import HOUSING, SignedIn, add_user, inbound_with, residents_say, sign_in
from web.context import WebContext
from web.counts import refresh
from web.review import remove_tag

BUSES = "The buses never turn up on time, ring me on 07700 900461"


async def _recount(me: SignedIn) -> None:
    answer = await me.http.post("/staff/overview/refresh", data={"csrf": me.csrf})
    assert answer.status_code == 303


def _rows(text: str) -> dict[str, list[str]]:
    return {row[0]: row for row in csv.reader(io.StringIO(text))}


async def test_overview_counts_suppress_small_numbers_and_follow_corrections(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await residents_say(app, HOUSING, area="LS9")
    await residents_say(app, [BUSES], area="LS8")
    me = await sign_in(client, app)
    await _recount(me)
    page = await client.get("/staff/overview")
    assert page.status_code == 200
    assert page.text.count("<svg") == 4 and "Table view" in page.text
    themes = _rows((await client.get("/staff/overview/themes.csv")).text)
    housing_before = int(themes["housing"][2])
    assert housing_before >= 6 and int(themes["housing"][3]) == 6
    assert themes["transport"][2:] == ["<5", "<5"]  # one resident: suppressed
    areas = _rows((await client.get("/staff/overview/areas.csv")).text)
    assert areas["LS9"][3] == "6" and areas["LS8"][2:] == ["<5", "<5"]
    assert "LS8" in page.text and "fewer than 5 people" in page.text

    (buses,) = [m for m in await inbound_with(app, "theme", "transport")]
    added = await client.post(
        f"/staff/messages/{buses}/tags",
        data={"csrf": me.csrf, "tag": "theme:housing", "back": "/staff/inbox"},
    )
    assert added.status_code == 303
    themes = _rows((await client.get("/staff/overview/themes.csv")).text)
    assert int(themes["housing"][2]) == housing_before + 1  # at once, no recount
    assert int(themes["housing"][3]) == 7
    weekly = _rows((await client.get("/staff/overview/weekly.csv?theme=housing")).text)
    assert sum(int(r[2]) for k, r in weekly.items() if k != "week" and r[2] != "<5") >= 7


async def test_theme_page_lists_its_messages(app: FastAPI, client: httpx.AsyncClient) -> None:
    await residents_say(app, HOUSING, area="LS9")
    me = await sign_in(client, app)
    await _recount(me)
    page = await client.get("/staff/themes/housing")
    assert page.status_code == 200
    assert "Theme: Housing" in page.text and "bedroom walls" in page.text
    assert "Top evidence phrases" in page.text
    assert (await client.get("/staff/themes/unicorns")).status_code == 404


async def test_equity_against_populations_with_suppression(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await residents_say(app, HOUSING, area="LS9")
    await residents_say(app, [BUSES], area="LS8")
    me = await sign_in(client, app)
    await _recount(me)
    page = await client.get("/staff/equity")
    assert page.status_code == 200 and "32,000" in page.text
    rows = _rows((await client.get("/staff/equity.csv")).text)
    assert rows["LS9"][1:4] == ["6", "32000", "0.19"]
    assert rows["LS8"][1] == "<5" and rows["LS8"][3] == ""
    assert rows["LS6"][1] == "0"  # configured, nobody heard yet


async def test_export_is_redacted_by_default(app: FastAPI, client: httpx.AsyncClient) -> None:
    await residents_say(app, [BUSES, *HOUSING[:2]], area="LS8")
    await sign_in(client, app, "staff")
    exported = await client.get("/staff/export/messages.csv", params={"theme": "transport"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 1
    assert "[PHONE]" in rows[0]["text"] and "07700" not in exported.text
    assert "transport" in rows[0]["themes"].split(";") and rows[0]["area"] == "LS8"
    as_json = await client.get("/staff/export/messages.json")
    items = json.loads(as_json.text)
    assert len(items) == 6 and all("07700" not in i["text"] for i in items)  # with "hello"s
    refused = await client.get("/staff/export/messages.csv", params={"unredacted": "true"})
    assert refused.status_code == 403


async def test_manager_exports_unredacted_and_it_is_logged(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await residents_say(app, [BUSES], area="LS8")
    await sign_in(client, app, "manager")
    exported = await client.get("/staff/export/messages.csv", params={"unredacted": "true"})
    assert "07700 900461" in exported.text
    admin = await sign_in(client, app, "admin")
    audit = await admin.http.get("/staff/admin/settings")
    assert "export" in audit.text


async def test_counts_are_rebuilt_only_when_the_data_changed(app: FastAPI) -> None:
    ctx = app.state.web
    await refresh(ctx)
    assert await refresh(ctx) is False
    await residents_say(app, HOUSING[:1])
    assert await refresh(ctx) is True
    assert await refresh(ctx) is False
    (message_id,) = await inbound_with(app, "theme", "housing")
    staff_id = await add_user(app, "fixer@example.org", "staff")
    async with ctx.write() as session:
        tag = await TagRepository(session).standing(message_id, "theme", "housing")
        assert tag is not None
        await remove_tag(session, staff_id, message_id, tag.id)
    assert await refresh(ctx) is True  # a removal changes no id, but is seen


async def test_recounts_at_the_same_time_take_turns(app: FastAPI) -> None:
    """As when a second process (`dev seed`) recounts while the server does."""
    await residents_say(app, HOUSING[:5])
    runtime: Runtime = app.state.runtime
    other = WebContext(runtime.sessions)  # its own lock, as in another process
    results = await asyncio.gather(
        refresh(app.state.web, force=True), refresh(other, force=True), refresh(other, force=True)
    )
    assert list(results) == [True, True, True]
    async with runtime.sessions() as session:
        housing = await CountsRepository(session).by_label("theme")
    assert ("housing", 5, 5) in housing
