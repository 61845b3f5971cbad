"""Who is signed in, and whether their role may use a route (staff < manager < admin)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from models.repositories import StaffRepository
from models.tables import StaffUser
from web.context import WebContext, web_context

ROLES = ("staff", "manager", "admin")


class SignInRequired(Exception):
    """Raised by a page dependency when nobody is signed in; the app redirects to the login page."""


def role_allows(role: str, needed: str) -> bool:
    """True when `role` is `needed` or above it."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


async def signed_in_staff(request: Request, ctx: WebContext) -> StaffUser | None:
    """The staff user of this session's cookie, unless they were disabled since."""
    staff_id = request.session.get("staff_id")
    if not isinstance(staff_id, int):
        return None
    async with ctx.sessions() as session:
        user = await StaffRepository(session).get(staff_id)
    return user if user is not None and user.disabled_at is None else None


def require_role(needed: str) -> Callable[..., Awaitable[StaffUser]]:
    """A page dependency: the signed-in user if their role suffices, else login redirect or 403."""
    if needed not in ROLES:
        raise ValueError(f"unknown role {needed!r}")

    async def dependency(
        request: Request, ctx: Annotated[WebContext, Depends(web_context)]
    ) -> StaffUser:
        user = await signed_in_staff(request, ctx)
        if user is None:
            raise SignInRequired
        if not role_allows(user.role, needed):
            raise HTTPException(status_code=403, detail="Your role cannot use this page.")
        return user

    return dependency
