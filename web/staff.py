"""Staff sign-in: argon2-checked passwords, a signed session cookie, CSRF on every form."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import Base, utcnow
from models.repositories import AlertRepository, StaffRepository
from models.staff import verify_password
from models.tables import Conversation, Message, Resident, StaffUser
from web.auth import signed_in_staff
from web.context import TEMPLATES, WebContext, web_context
from web.csrf import csrf_ok, csrf_token
from web.pages import render

Context = Annotated[WebContext, Depends(web_context)]


def _login_page(request: Request, error: str = "", status: int = 200) -> Response:
    context = {"csrf": csrf_token(request), "error": error}
    return TEMPLATES.TemplateResponse(request, "login.html", context, status_code=status)


def router() -> APIRouter:
    """Routes under /staff."""
    routes = APIRouter(include_in_schema=False)
    _add_home_routes(routes)
    _add_sign_in_routes(routes)
    return routes


def _add_home_routes(routes: APIRouter) -> None:
    @routes.get("/staff", response_class=HTMLResponse)
    async def home(request: Request, ctx: Context) -> Response:
        user = await signed_in_staff(request, ctx)
        if user is None:
            return RedirectResponse("/staff/login", status_code=303)
        async with ctx.sessions() as session:
            counts = {
                "residents": await _count(session, Resident),
                "conversations": await _count(session, Conversation),
                "messages": await _count(session, Message),
                "open_alerts": await AlertRepository(session).count_open(),
            }
        return render(request, "staff_home.html", user, counts=counts)


def _add_sign_in_routes(routes: APIRouter) -> None:
    @routes.get("/staff/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        return _login_page(request)

    @routes.post("/staff/login")
    async def login(
        request: Request,
        ctx: Context,
        email: Annotated[str, Form(max_length=254)],
        password: Annotated[str, Form(max_length=1024)],
        csrf: Annotated[str, Form(max_length=128)] = "",
    ) -> Response:
        if not csrf_ok(request, csrf):
            return _login_page(request, "Your form expired. Please try again.", 403)
        key = request.client.host if request.client else "unknown"
        if ctx.throttle.blocked(key):
            return _login_page(request, "Too many attempts. Please wait 15 minutes.", 429)
        user = await _check_password(ctx, email, password)
        if user is None:
            ctx.throttle.fail(key)
            return _login_page(request, "That email and password don't match.", 401)
        ctx.throttle.clear(key)
        request.session.clear()
        request.session.update({"staff_id": user.id, "csrf": secrets.token_urlsafe(32)})
        return RedirectResponse("/staff", status_code=303)

    @routes.post("/staff/logout")
    async def logout(request: Request, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
        if not csrf_ok(request, csrf):
            return Response("CSRF token missing or wrong", status_code=403)
        request.session.clear()
        return RedirectResponse("/staff/login", status_code=303)


async def _check_password(ctx: WebContext, email: str, password: str) -> StaffUser | None:
    """The enabled staff user with this email and password (noting the sign-in), else None."""
    async with ctx.sessions() as session, session.begin():
        user = await StaffRepository(session).by_email(email)
        valid = (
            user is not None
            and user.disabled_at is None
            and verify_password(user.password_hash, password)
        )
        if user is not None and valid:
            user.last_login_at = utcnow()
    return user if valid else None


async def _count(session: AsyncSession, table: type[Base]) -> int:
    return int((await session.execute(select(func.count()).select_from(table))).scalar_one())
