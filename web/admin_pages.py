"""Admin pages (users, read-only codebook and settings) and everyone's own API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from models.base import utcnow
from models.dashboard import RevealRepository, TokenRepository, UsersRepository
from models.staff import ROLES, StaffError, add_staff
from models.tables import StaffUser
from web.pages import MAX_ID, Admin, AnyStaff, Context, Csrf, render
from web.tokens import create_token

Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def router() -> APIRouter:
    """Routes for everyone's own API tokens and the admin pages."""
    routes = APIRouter(include_in_schema=False)
    _add_token_routes(routes)
    _add_user_routes(routes)
    _add_settings_routes(routes)
    return routes


def _add_token_routes(routes: APIRouter) -> None:
    @routes.get("/staff/tokens", response_class=HTMLResponse)
    async def tokens(request: Request, ctx: Context, user: AnyStaff) -> Response:
        async with ctx.sessions() as session:
            mine = await TokenRepository(session).of(user.id)
        return render(request, "tokens.html", user, tokens=mine, new_token=None)

    @routes.post("/staff/tokens", response_class=HTMLResponse)
    async def make_token(
        request: Request,
        ctx: Context,
        user: AnyStaff,
        _: Csrf,
        name: Annotated[str, Form(max_length=100)] = "",
    ) -> Response:
        async with ctx.write() as session:
            token = await create_token(session, user, name)
            mine = await TokenRepository(session).of(user.id)
        return render(request, "tokens.html", user, tokens=mine, new_token=token, status=201)

    @routes.post("/staff/tokens/{token_id}/revoke")
    async def revoke(ctx: Context, user: AnyStaff, _: Csrf, token_id: Id) -> Response:
        async with ctx.write() as session:
            await TokenRepository(session).revoke(user.id, token_id)
        return RedirectResponse("/staff/tokens", status_code=303)


def _add_user_routes(routes: APIRouter) -> None:
    @routes.get("/staff/admin/users", response_class=HTMLResponse)
    async def users(request: Request, ctx: Context, user: Admin) -> Response:
        return await _users_page(request, ctx, user)

    @routes.post("/staff/admin/users", response_class=HTMLResponse)
    async def add_user(
        request: Request,
        ctx: Context,
        user: Admin,
        _: Csrf,
        email: Annotated[str, Form(max_length=254)],
        password: Annotated[str, Form(max_length=1024)],
        role: Annotated[str, Form(max_length=16)] = "staff",
    ) -> Response:
        try:
            async with ctx.write() as session:
                await add_staff(session, email, password, role)
        except StaffError as exc:
            return await _users_page(request, ctx, user, error=str(exc), status=422)
        return RedirectResponse("/staff/admin/users", status_code=303)

    @routes.post("/staff/admin/users/{staff_id}")
    async def change_user(
        ctx: Context,
        user: Admin,
        _: Csrf,
        staff_id: Id,
        role: Annotated[str, Form(max_length=16)] = "",
        enabled: Annotated[str, Form(pattern="^(|yes|no)$")] = "",
    ) -> Response:
        await _change_staff(ctx, user, staff_id, role, enabled)
        return RedirectResponse("/staff/admin/users", status_code=303)


def _add_settings_routes(routes: APIRouter) -> None:
    @routes.get("/staff/admin/codebook", response_class=HTMLResponse)
    async def codebook(request: Request, ctx: Context, user: Admin) -> Response:
        return render(request, "codebook.html", user, codebook=ctx.codebook)

    @routes.get("/staff/admin/settings", response_class=HTMLResponse)
    async def settings(request: Request, ctx: Context, user: Admin) -> Response:
        async with ctx.sessions() as session:
            reveals = await RevealRepository(session).recent()
        return render(request, "settings.html", user, settings=ctx.settings_view, reveals=reveals)


async def _users_page(
    request: Request, ctx: Context, user: StaffUser, error: str = "", status: int = 200
) -> Response:
    async with ctx.sessions() as session:
        everyone = await UsersRepository(session).all()
    return render(
        request, "users.html", user, users=everyone, roles=ROLES, error=error, status=status
    )


async def _change_staff(
    ctx: Context, user: StaffUser, staff_id: int, role: str, enabled: str
) -> None:
    """Set another staff user's role and/or enabled state; never the admin's own account."""
    if staff_id == user.id:
        raise HTTPException(status_code=409, detail="You cannot change your own account here.")
    async with ctx.write() as session:
        target = await session.get(StaffUser, staff_id)
        if target is None:
            raise HTTPException(status_code=404, detail="No such staff user.")
        if role:
            if role not in ROLES:
                raise HTTPException(status_code=422, detail="Unknown role.")
            target.role = role
        if enabled:
            target.disabled_at = None if enabled == "yes" else utcnow()
