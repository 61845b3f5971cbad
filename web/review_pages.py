"""Pages for reviewing: inbox, transcript (with reveal), tag corrections, alerts."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from models.dashboard import AlertsRepository
from web.auth import role_allows
from web.filters import Filter, query_string
from web.pages import MAX_ID, AnyStaff, Context, Csrf, render
from web.review import (
    ReviewError,
    add_tag,
    handle_alert,
    inbox_page,
    log_reveal,
    remove_tag,
    threads,
)
from web.review import transcript as load_transcript

T = TypeVar("T")
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def router() -> APIRouter:
    """Routes for the inbox, transcripts, tag corrections and alerts (any staff)."""
    routes = APIRouter(include_in_schema=False)
    _add_reading_routes(routes)
    _add_tag_routes(routes)
    _add_alert_routes(routes)
    return routes


def _add_reading_routes(routes: APIRouter) -> None:
    @routes.get("/staff/inbox", response_class=HTMLResponse)
    async def inbox(
        request: Request, ctx: Context, user: AnyStaff, found: Filter, before: Before = None
    ) -> Response:
        async with ctx.sessions() as session:
            bubbles, cursor = await inbox_page(
                session, found, before, ctx.page_size, ctx.codebook, redact_pii=ctx.redact_pii
            )
        params = query_string(found)
        return render(
            request,
            "inbox.html",
            user,
            threads=threads(bubbles),
            cursor=cursor,
            found=found,
            params=params,
            first_page=before is None,
        )

    @routes.get("/staff/residents/{resident_id}", response_class=HTMLResponse)
    async def transcript(
        request: Request, ctx: Context, user: AnyStaff, resident_id: Id
    ) -> Response:
        return await _transcript(request, ctx, user, resident_id, reveal=False)

    @routes.post("/staff/residents/{resident_id}/reveal", response_class=HTMLResponse)
    async def reveal(
        request: Request, ctx: Context, user: AnyStaff, _: Csrf, resident_id: Id
    ) -> Response:
        if not role_allows(user.role, ctx.reveal_role):
            raise HTTPException(status_code=403, detail="Your role cannot reveal personal details.")
        return await _transcript(request, ctx, user, resident_id, reveal=True)


def _add_tag_routes(routes: APIRouter) -> None:
    @routes.post("/staff/messages/{message_id}/tags")
    async def add(
        ctx: Context,
        user: AnyStaff,
        _: Csrf,
        message_id: Id,
        kind: Annotated[str, Form(max_length=16)] = "",
        label: Annotated[str, Form(max_length=64)] = "",
        tag: Annotated[str, Form(max_length=82, description="kind:label")] = "",
        back: Annotated[str, Form(max_length=300)] = "",
    ) -> Response:
        if tag:
            kind, _colon, label = tag.partition(":")
        async with ctx.write() as session:
            await _or_http(add_tag(session, ctx.codebook, user.id, message_id, kind, label))
        return RedirectResponse(_back(back, message_id), status_code=303)

    @routes.post("/staff/messages/{message_id}/tags/{tag_id}/remove")
    async def remove(
        ctx: Context,
        user: AnyStaff,
        _: Csrf,
        message_id: Id,
        tag_id: Id,
        back: Annotated[str, Form(max_length=300)] = "",
    ) -> Response:
        async with ctx.write() as session:
            await _or_http(remove_tag(session, user.id, message_id, tag_id))
        return RedirectResponse(_back(back, message_id), status_code=303)


def _add_alert_routes(routes: APIRouter) -> None:
    @routes.get("/staff/alerts", response_class=HTMLResponse)
    async def alerts(
        request: Request,
        ctx: Context,
        user: AnyStaff,
        status: Annotated[str, Query(pattern="^(open|handled|all)$")] = "open",
    ) -> Response:
        async with ctx.sessions() as session:
            found = await AlertsRepository(session).listed(None if status == "all" else status)
        return render(request, "alerts.html", user, alerts=found, showing=status)

    @routes.post("/staff/alerts/{alert_id}/handle")
    async def handle(
        ctx: Context,
        user: AnyStaff,
        _: Csrf,
        alert_id: Id,
        note: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        async with ctx.write() as session:
            resident_id = await _or_http(handle_alert(session, user.id, alert_id, note))
        return RedirectResponse(f"/staff/residents/{resident_id}", status_code=303)


async def _transcript(
    request: Request, ctx: Context, user: AnyStaff, resident_id: int, reveal: bool
) -> Response:
    redact_pii = ctx.redact_pii and not reveal
    async with ctx.write() if reveal else ctx.sessions() as session:
        found = await _or_http(load_transcript(session, resident_id, ctx.codebook, redact_pii))
        if reveal:
            log_reveal(session, user.id, resident_id, "transcript")
    return render(request, "transcript.html", user, t=found)


async def _or_http(work: Awaitable[T]) -> T:
    """Await `work`, turning a ReviewError into its HTTP status with the same words."""
    try:
        return await work
    except ReviewError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from exc


def _back(back: str, message_id: int) -> str:
    """Only ever back to a page of ours (no open redirect)."""
    if back.startswith("/staff/") and "//" not in back and "\\" not in back:
        return back.split("#", 1)[0] + f"#m{message_id}"
    return f"/staff/inbox#m{message_id}"
