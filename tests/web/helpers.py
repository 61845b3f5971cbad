"""Signing staff in, and putting residents' messages in the database, for the web tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from bot.runtime import Runtime
from models.staff import add_staff
from models.tables import Message, MessageTag
from tests.bot.helpers import Resident

PASSWORD = "correct horse battery staple"


@dataclass
class SignedIn:
    """A client signed in as one staff user, with the session's CSRF token."""

    http: httpx.AsyncClient
    csrf: str
    user_id: int


async def add_user(app: FastAPI, email: str, role: str) -> int:
    runtime: Runtime = app.state.runtime
    async with runtime.db.transaction() as session:
        user = await add_staff(session, email, PASSWORD, role)
        return user.id


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, app: FastAPI, role: str = "staff") -> SignedIn:
    """A new user of `role`, signed in on `client`."""
    email = f"{role}-{id(client)}@example.org"
    user_id = await add_user(app, email, role)
    token = csrf_of((await client.get("/staff/login")).text)
    answer = await client.post(
        "/staff/login", data={"email": email, "password": PASSWORD, "csrf": token}
    )
    assert answer.status_code == 303, answer.text
    home = await client.get("/staff")
    return SignedIn(client, csrf_of(home.text), user_id)


HOUSING = [
    "The damp in our flat is making my kids ill and the landlord won't fix it",
    "Mould all over the bedroom walls, the council never come",
    "Our rent went up again and the house is freezing",
    "We have been waiting two years for a council house",
    "The flat is damp and cold and the repairs never get done",
    "Housing round here is overcrowded and falling apart",
]


async def residents_say(
    app: FastAPI, texts: list[str], area: str = "LS9", channel: str = "webchat"
) -> list[int]:
    """Each text from a different resident in `area`, through the real inbound path."""
    runtime: Runtime = app.state.runtime
    ids = []
    for n, text in enumerate(texts):
        resident = Resident(runtime, address=f"{area}-{channel}-{n}", channel=channel)
        await resident.say("hello")
        result = await resident.say(text)
        assert result.resident_id is not None
        ids.append(result.resident_id)
    async with runtime.db.transaction() as session:
        from models.tables import Resident as ResidentRow

        for rid in ids:
            row = await session.get(ResidentRow, rid)
            assert row is not None
            row.area = area
    return ids


async def inbound_with(app: FastAPI, kind: str, label: str) -> list[int]:
    """Ids of resident messages carrying a standing tag."""
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session:
        query = (
            select(Message.id)
            .join(MessageTag, MessageTag.message_id == Message.id)
            .where(MessageTag.kind == kind, MessageTag.label == label)
            .where(MessageTag.removed_at.is_(None), Message.direction == "in")
            .order_by(Message.id)
        )
        return list((await session.execute(query)).scalars())
