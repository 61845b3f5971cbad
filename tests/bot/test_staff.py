"""Staff sign-in: argon2 hashes, CSRF, wrong passwords, throttling, sign-out."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from bot.runtime import Runtime
from models.staff import StaffError, add_staff, verify_password

PASSWORD = "correct horse battery staple"


async def make_staff(app: FastAPI, email: str = "sam@example.org") -> None:
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session, session.begin():
        user = await add_staff(session, email, PASSWORD, "staff")
        assert user.password_hash.startswith("$argon2")
        assert verify_password(user.password_hash, PASSWORD)
        assert not verify_password(user.password_hash, "wrong")


async def csrf(client: httpx.AsyncClient) -> str:
    page = await client.get("/staff/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def test_sign_in_and_out(client: httpx.AsyncClient, app: FastAPI) -> None:
    await make_staff(app)
    token = await csrf(client)
    signed_in = await client.post(
        "/staff/login", data={"email": "Sam@Example.org", "password": PASSWORD, "csrf": token}
    )
    assert signed_in.status_code == 303
    home = await client.get("/staff")
    assert home.status_code == 200 and "sam@example.org" in home.text
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    out_token = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert out_token is not None
    assert (await client.post("/staff/logout", data={"csrf": "wrong"})).status_code == 403
    out = await client.post("/staff/logout", data={"csrf": out_token.group(1)})
    assert out.status_code == 303
    assert (await client.get("/staff")).status_code == 303


async def test_wrong_password_and_missing_csrf_are_refused(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await make_staff(app)
    token = await csrf(client)
    wrong = await client.post(
        "/staff/login", data={"email": "sam@example.org", "password": "nope", "csrf": token}
    )
    assert wrong.status_code == 401
    no_csrf = await client.post(
        "/staff/login", data={"email": "sam@example.org", "password": PASSWORD}
    )
    assert no_csrf.status_code == 403
    assert (await client.get("/staff")).status_code == 303


async def test_sign_in_is_throttled(client: httpx.AsyncClient, app: FastAPI) -> None:
    await make_staff(app)
    token = await csrf(client)
    for _ in range(5):
        await client.post(
            "/staff/login", data={"email": "sam@example.org", "password": "x", "csrf": token}
        )
    blocked = await client.post(
        "/staff/login", data={"email": "sam@example.org", "password": PASSWORD, "csrf": token}
    )
    assert blocked.status_code == 429


@pytest.mark.parametrize(
    ("email", "password", "role"),
    [
        ("not-an-email", PASSWORD, "staff"),
        ("a@b.org", "short", "staff"),
        ("a@b.org", PASSWORD, "overlord"),
    ],
)
async def test_bad_staff_accounts_are_refused(
    app: FastAPI, email: str, password: str, role: str
) -> None:
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session:
        with pytest.raises(StaffError):
            await add_staff(session, email, password, role)
