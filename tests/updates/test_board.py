"""The public board and its Atom feed show sent updates and nothing personal."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import httpx
from fastapi import FastAPI

from models import updates as service
from models.base import utcnow
from models.db import Database
from tests.updates.conftest import database_of, wait_for
from tests.updates.seeding import Someone, seed

ATOM = "{http://www.w3.org/2005/Atom}"
SECRET_TEXT = "Call me on 07700 900123, the damp at 12 Acacia Avenue is awful"


async def seed_updates(db: Database) -> dict[str, int]:
    """Six web residents who gave personal details, one about the park, and three updates."""
    async with db.transaction() as session:
        for n in range(6):
            await seed(session, Someone(f"web-{n}", channel="web", text=SECRET_TEXT), utcnow())
        await seed(session, Someone("park", channel="web", themes=("green_spaces",)), utcnow())
        now = utcnow()
        drafts = {
            "big": service.UpdateDraft(
                "Damp repairs", "Treated damp in 40 flats.", ["housing"], ["LS9"], send_at=now
            ),
            "small": service.UpdateDraft(
                "Benches", "Two new benches.", ["green_spaces"], send_at=now
            ),
            "draft": service.UpdateDraft("Not yet", "Still a draft.", ["housing"]),
        }
        ids = {
            k: (await service.create_update(session, d, None, now)).id for k, d in drafts.items()
        }
    return ids


async def wait_until_sent(db: Database, ids: list[int]) -> None:
    async def all_sent() -> bool:
        async with db.sessions() as session:
            rows = [await service.get_update(session, update_id) for update_id in ids]
        return all(row.status == "sent" for row in rows)

    await wait_for(all_sent)


async def test_the_board_and_feed_show_the_update_without_personal_data(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    db = database_of(app)
    ids = await seed_updates(db)

    # Areas narrow "big" to LS9, where nobody lives: it goes out to no one yet is still shown.
    await wait_until_sent(db, [ids["big"], ids["small"]])
    page = await client.get("/updates")
    assert page.status_code == 200
    html = page.text
    assert "Damp repairs" in html
    assert "Treated damp in 40 flats." in html
    assert "Housing" in html
    assert "LS9" in html
    assert "Benches" in html
    assert "Not yet" not in html
    assert "Sent to" not in html  # 0 and 1 are under 5: no count at all
    for personal in ("07700", "Acacia", "web-0", "park"):
        assert personal not in html.replace("Benches", "")

    feed = await client.get("/updates.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "07700" not in feed.text
    root = ET.fromstring(feed.content)  # noqa: S314 - our own feed, in a test
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Benches", "Damp repairs"]
    assert entries[1].findtext(f"{ATOM}content") == "Treated damp in 40 flats."
    assert root.find(f"{ATOM}link[@rel='self']") is not None


async def test_the_board_shows_how_many_it_reached_from_five_up(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    db = database_of(app)
    async with db.transaction() as session:
        for n in range(6):
            await seed(session, Someone(f"web-{n}", channel="web"), utcnow())
        draft = service.UpdateDraft("Damp repairs", "Treated.", ["housing"], send_at=utcnow())
        row = await service.create_update(session, draft, None, utcnow())

    async def sent() -> bool:
        async with db.sessions() as session:
            return (await service.get_update(session, row.id)).status == "sent"

    await wait_for(sent)
    assert "Sent to</dt><dd>6 residents who raised it" in (await client.get("/updates")).text
