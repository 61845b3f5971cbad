"""Every route checks the role: walked with no one signed in and with each role."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from tests.web.helpers import HOUSING, SignedIn, residents_say, sign_in
from web.auth import ROLES, role_allows

PUBLIC_PREFIXES = ("/chat", "/webhooks", "/updates", "/healthz", "/docs", "/redoc", "/openapi")
PUBLIC = {"/", "/staff/login", "/staff/logout"}
VALUES = {
    "chart": "weekly",
    "label": "housing",
    "fmt": "csv",
}


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path template) of every staff and API route."""
    for context in iter_route_contexts(app.router.routes):
        route = context.route
        if not isinstance(route, APIRoute) or route.path in PUBLIC:
            continue
        if route.path.startswith(PUBLIC_PREFIXES):
            continue
        assert route.path.startswith(("/staff", "/api")), f"unclassified route {route.path}"
        for method in sorted(route.methods or ()):
            yield method, route.path


def needed(path: str) -> str:
    """The lowest role the issue allows on a route."""
    if path.startswith("/staff/admin/"):
        return "admin"
    if path.startswith(("/staff/actions", "/staff/updates")) or path.endswith("/reveal"):
        return "manager"
    return "staff"


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: VALUES.get(m.group(1), "1"), path)


async def call(http: httpx.AsyncClient, method: str, path: str, csrf: str = "") -> httpx.Response:
    url = concrete(path)
    if path.startswith("/api"):
        headers = {"X-CSRF-Token": csrf} if csrf else {}
        body = {"kind": "theme", "label": "food"} if method == "POST" else None
        return await http.request(method, url, json=body, headers=headers)
    if method == "POST":
        return await http.post(url, data={"csrf": csrf})
    return await http.get(url)


async def test_every_route_refuses_without_sign_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    walked = list(routes(app))
    assert len(walked) > 30
    for method, path in walked:
        answer = await call(client, method, path)
        if path.startswith("/api"):
            assert answer.status_code == 401, (method, path, answer.status_code)
        else:
            assert answer.status_code in (303, 403), (method, path, answer.status_code)
            if answer.status_code == 303:
                assert answer.headers["location"] == "/staff/login", (method, path)


async def test_every_route_with_each_role(app: FastAPI) -> None:
    await residents_say(app, HOUSING[:1])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    wrong: list[tuple[str, str, str, int]] = []
    for role in ROLES:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            me = await sign_in(http, app, role)
            wrong.extend(await _walk_as(app, me, role))
    assert wrong == []


async def _walk_as(app: FastAPI, me: SignedIn, role: str) -> list[tuple[str, str, str, int]]:
    """(role, method, path, status) of every answer that is not what the role should get."""
    wrong = []
    for method, path in routes(app):
        status = (await call(me.http, method, path, me.csrf)).status_code
        allowed = role_allows(role, needed(path))
        if status >= 500 or (status in (401, 403) if allowed else status != 403):
            wrong.append((role, method, path, status))
    return wrong
