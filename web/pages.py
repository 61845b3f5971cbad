"""What every dashboard page shares: role dependencies, CSRF checks, the layout's context."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import Response

from models.tables import StaffUser
from web.auth import require_role, role_allows
from web.context import TEMPLATES, WebContext, web_context
from web.csrf import csrf_ok, csrf_token

Context = Annotated[WebContext, Depends(web_context)]
AnyStaff = Annotated[StaffUser, Depends(require_role("staff"))]
Manager = Annotated[StaffUser, Depends(require_role("manager"))]
Admin = Annotated[StaffUser, Depends(require_role("admin"))]
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL

NAV: tuple[tuple[str, str, str], ...] = (
    ("/staff", "Home", "staff"),
    ("/staff/inbox", "Inbox", "staff"),
    ("/staff/alerts", "Alerts", "staff"),
    ("/staff/overview", "Overview", "staff"),
    ("/staff/equity", "Equity of voice", "staff"),
    ("/staff/agreement", "Agreement", "staff"),
    ("/staff/export", "Export", "staff"),
    ("/staff/actions", "Actions", "manager"),
    ("/staff/updates", "Updates", "manager"),
    ("/staff/admin/users", "Users", "admin"),
    ("/staff/admin/codebook", "Codebook", "admin"),
    ("/staff/admin/settings", "Settings", "admin"),
    ("/staff/tokens", "API tokens", "staff"),
)


async def checked_csrf(request: Request, csrf: Annotated[str, Form(max_length=128)] = "") -> None:
    """A form dependency: refuse (403, nothing changed) without the session's CSRF token."""
    if not csrf_ok(request, csrf):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong.")


Csrf = Annotated[None, Depends(checked_csrf)]


def render(
    request: Request, template: str, user: StaffUser, status: int = 200, **context: Any
) -> Response:
    """A dashboard page in the shared layout, with navigation for the user's role."""
    nav = [(href, name) for href, name, role in NAV if role_allows(user.role, role)]
    here = request.url.path
    context.update(
        user=user,
        csrf=csrf_token(request),
        nav=nav,
        here=here,
        ctx=request.app.state.web,
        can_reveal=role_allows(user.role, request.app.state.web.reveal_role),
    )
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)
