"""Admin pages: users (add, role, disable), the read-only codebook and settings views."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.web.helpers import PASSWORD, csrf_of, sign_in


async def test_admin_adds_changes_and_disables_a_user(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    me = await sign_in(client, app, "admin")
    short = await client.post(
        "/staff/admin/users",
        data={"csrf": me.csrf, "email": "new@example.org", "password": "short", "role": "staff"},
    )
    assert short.status_code == 422 and "at least 12" in short.text
    added = await client.post(
        "/staff/admin/users",
        data={"csrf": me.csrf, "email": "new@example.org", "password": PASSWORD, "role": "staff"},
    )
    assert added.status_code == 303
    page = (await client.get("/staff/admin/users")).text
    new_id = re.search(r'action="/staff/admin/users/(\d+)"', page)
    assert new_id is not None and "new@example.org" in page
    url = f"/staff/admin/users/{new_id.group(1)}"
    assert (await client.post(url, data={"csrf": me.csrf, "role": "wizard"})).status_code == 422
    assert (await client.post(url, data={"csrf": me.csrf, "role": "manager"})).status_code == 303
    assert (await client.post(url, data={"csrf": me.csrf, "enabled": "no"})).status_code == 303
    own = await client.post(
        f"/staff/admin/users/{me.user_id}", data={"csrf": me.csrf, "enabled": "no"}
    )
    assert own.status_code == 409

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        token = csrf_of((await other.get("/staff/login")).text)
        login = {"email": "new@example.org", "password": PASSWORD, "csrf": token}
        assert (await other.post("/staff/login", data=login)).status_code == 401  # disabled


async def test_codebook_and_settings_are_shown_read_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await sign_in(client, app, "admin")
    codebook = await client.get("/staff/admin/codebook")
    assert (
        "Money and cost of living" in codebook.text
        and "<form" not in codebook.text.split("<h1>")[1]
    )
    settings = await client.get("/staff/admin/settings")
    assert "[areas]" in settings.text and "LS9" in settings.text
    assert "test-secret-key" not in settings.text and "(set)" in settings.text


async def test_the_layout_links_managers_to_actions_and_updates(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await sign_in(client, app, "manager")
    home = (await client.get("/staff/inbox")).text
    assert 'href="/staff/actions"' in home and 'href="/staff/updates"' in home
    assert 'href="/staff/admin/users"' not in home
