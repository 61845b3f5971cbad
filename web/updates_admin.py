"""Managers' pages: record actions, write "you said, we did" updates, preview, send, cancel.

Thin: forms in, services of models/updates.py called, rows written. The runtime's
scheduler (whichever `serve` holds the lock) notices a scheduled update within
`scheduler.check_seconds` and the delivery worker sends it; these pages never send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from flows import load_flows
from flows.checkback import update_text, with_checkback
from flows.types import Reply
from models import audience
from models import updates as service
from models.base import utcnow
from models.tables import Action, StaffUser, Update
from web.context import WebContext
from web.pages import MAX_ID, Context, Csrf, Manager, render
from web.text import shown_text

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
WHATSAPP_BODY_LIMIT = 1024
TELEGRAM_LIMIT = 4096


@dataclass(frozen=True)
class Preview:
    """How an update reads on one channel."""

    channel: str
    how: str
    text: str
    buttons: tuple[str, ...]
    limit: int

    @property
    def too_long(self) -> bool:
        return len(self.text) > self.limit


def previews(row: Update, view: dict[str, dict[str, Any]]) -> list[Preview]:
    reply: Reply = with_checkback(load_flows(), update_text(row.title, row.body))
    buttons = tuple(c.label for c in reply.choices)
    whatsapp = view.get("whatsapp", {})
    template = f"template “{whatsapp.get('update_template', 'you_said_we_did')}” "
    template += f"({whatsapp.get('template_language', 'en_GB')}), variable {{{{1}}}}:"
    return [
        Preview("Telegram", "a message with buttons", reply.text, buttons, TELEGRAM_LIMIT),
        Preview(
            "WhatsApp",
            "within 24 hours of their last message: a message with reply buttons",
            reply.text,
            buttons,
            WHATSAPP_BODY_LIMIT,
        ),
        Preview(
            "WhatsApp",
            f"otherwise: the approved {template}",
            reply.text,
            (),
            WHATSAPP_BODY_LIMIT,
        ),
        Preview("Web chat", "in their chat, with buttons", reply.text, buttons, TELEGRAM_LIMIT),
    ]


def zone_of(ctx: WebContext) -> ZoneInfo:
    name = str(ctx.settings_view.get("delivery", {}).get("timezone", "Europe/London"))
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return ZoneInfo("UTC")


def words(raw: str) -> list[str]:
    """A comma- or line-separated list from a text box."""
    return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


def numbers(raw: str) -> list[int]:
    try:
        return [int(part) for part in words(raw)]
    except ValueError as exc:
        raise service.UpdateError("messages: message numbers, separated by commas") from exc


def parse_day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw.strip() else None
    except ValueError as exc:
        raise service.UpdateError("done on: a date (YYYY-MM-DD)") from exc


def parse_local(raw: str, zone: ZoneInfo) -> datetime:
    """A `datetime-local` value, read in the delivery time zone."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise service.UpdateError("send at: a date and time") from exc
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def router() -> APIRouter:
    """Routes under /staff/actions and /staff/updates (managers and admins)."""
    routes = APIRouter(include_in_schema=False)
    _action_routes(routes)
    _update_routes(routes)
    _update_page_routes(routes)
    return routes


def _action_routes(routes: APIRouter) -> None:
    @routes.get("/staff/actions")
    async def actions(request: Request, user: Manager, ctx: Context) -> Response:
        async with ctx.sessions() as session:
            rows = await service.list_actions(session)
        return _actions_page(request, user, ctx, rows)

    @routes.post("/staff/actions")
    async def record(
        request: Request,
        user: Manager,
        ctx: Context,
        _: Csrf,
        title: Annotated[str, Form(max_length=400)] = "",
        description: Annotated[str, Form(max_length=4000)] = "",
        done_by: Annotated[str, Form(max_length=400)] = "",
        done_on: Annotated[str, Form(max_length=20)] = "",
        themes: Annotated[list[str] | None, Form()] = None,
        areas: Annotated[str, Form(max_length=1000)] = "",
        messages: Annotated[str, Form(max_length=1000)] = "",
    ) -> Response:
        return await _record_action(
            request, user, ctx, title, description, done_by, done_on, themes, areas, messages
        )

    @routes.get("/staff/actions/{action_id}")
    async def action(request: Request, user: Manager, ctx: Context, action_id: Id) -> Response:
        async with ctx.sessions() as session:
            try:
                row = await service.get_action(session, action_id)
            except service.NotFound as exc:
                return _not_found(request, user, str(exc))
            updates = await service.updates_for_action(session, action_id)
        return render(request, "action.html", user, action=row, updates=updates, form={})


async def _record_action(
    request: Request,
    user: StaffUser,
    ctx: WebContext,
    title: str,
    description: str,
    done_by: str,
    done_on: str,
    themes: list[str] | None,
    areas: str,
    messages: str,
) -> Response:
    """Record what was done and go to its page, or show the form again with what was wrong."""
    form: dict[str, Any] = {"title": title, "description": description, "done_by": done_by}
    form |= {"done_on": done_on, "themes": themes or [], "areas": areas, "messages": messages}
    try:
        draft = service.ActionDraft(
            title,
            description,
            done_by,
            parse_day(done_on),
            themes or [],
            words(areas),
            numbers(messages),
        )
        async with ctx.write() as session:
            action = await service.record_action(session, draft, user.id, utcnow())
    except service.UpdateError as exc:
        async with ctx.sessions() as session:
            rows = await service.list_actions(session)
        return _actions_page(request, user, ctx, rows, str(exc), form, 400)
    return RedirectResponse(f"/staff/actions/{action.id}", status_code=303)


def _actions_page(
    request: Request,
    user: StaffUser,
    ctx: WebContext,
    rows: Sequence[Action],
    error: str = "",
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    themes = [(e.id, e.name) for e in ctx.codebook.of_kind("theme")]
    prefill = {"messages": request.query_params.get("message", "")}
    return render(
        request,
        "actions.html",
        user,
        status,
        actions=rows,
        themes=themes,
        error=error,
        form=form or prefill,
    )


def _not_found(request: Request, user: StaffUser, message: str) -> Response:
    return render(request, "update_missing.html", user, 404, message=message)


def _update_routes(routes: APIRouter) -> None:
    @routes.get("/staff/updates")
    async def updates(request: Request, user: Manager, ctx: Context) -> Response:
        async with ctx.sessions() as session:
            rows = await service.list_updates(session)
        return render(request, "update_list.html", user, updates=rows)

    @routes.post("/staff/actions/{action_id}/updates")
    async def write(
        request: Request,
        user: Manager,
        ctx: Context,
        _: Csrf,
        action_id: Id,
        title: Annotated[str, Form(max_length=400)] = "",
        body: Annotated[str, Form(max_length=4000)] = "",
        themes: Annotated[list[str] | None, Form()] = None,
        areas: Annotated[str, Form(max_length=1000)] = "",
        period_days: Annotated[int, Form(ge=1, le=3650)] = 90,
    ) -> Response:
        known = ctx.codebook.ids("theme")
        draft = service.UpdateDraft(
            title, body, themes or [], words(areas), period_days, None, action_id, known
        )
        try:
            async with ctx.write() as session:
                row = await service.create_update(session, draft, user.id, utcnow())
        except service.NotFound as exc:
            return _not_found(request, user, str(exc))
        except service.UpdateError as exc:
            form: dict[str, Any] = {"title": title, "body": body, "themes": themes or []}
            form |= {"areas": areas, "period_days": period_days}
            return await _action_again(request, user, ctx, action_id, str(exc), form)
        return RedirectResponse(f"/staff/updates/{row.id}", status_code=303)


def _update_page_routes(routes: APIRouter) -> None:
    @routes.get("/staff/updates/{update_id}")
    async def show(request: Request, user: Manager, ctx: Context, update_id: Id) -> Response:
        return await _update_page(request, user, ctx, update_id)

    @routes.post("/staff/updates/{update_id}/schedule")
    async def schedule(
        request: Request,
        user: Manager,
        ctx: Context,
        _: Csrf,
        update_id: Id,
        when: Annotated[str, Form(max_length=10)] = "now",
        send_at: Annotated[str, Form(max_length=40)] = "",
    ) -> Response:
        try:
            at = utcnow() if when == "now" else parse_local(send_at, zone_of(ctx))
            async with ctx.write() as session:
                await service.schedule(session, update_id, at)
        except service.UpdateError as exc:
            return await _update_page(request, user, ctx, update_id, str(exc), exc.status_code)
        return RedirectResponse(f"/staff/updates/{update_id}", status_code=303)

    @routes.post("/staff/updates/{update_id}/cancel")
    async def cancel(
        request: Request, user: Manager, ctx: Context, _: Csrf, update_id: Id
    ) -> Response:
        try:
            async with ctx.write() as session:
                await service.cancel(session, update_id)
        except service.UpdateError as exc:
            return await _update_page(request, user, ctx, update_id, str(exc), exc.status_code)
        return RedirectResponse(f"/staff/updates/{update_id}", status_code=303)


async def _action_again(
    request: Request,
    user: StaffUser,
    ctx: WebContext,
    action_id: int,
    error: str,
    form: dict[str, Any],
) -> Response:
    """The action's page again (400), with the update form as filled in and what was wrong."""
    async with ctx.sessions() as session:
        action = await service.get_action(session, action_id)
        rows = await service.updates_for_action(session, action_id)
    return render(
        request, "action.html", user, 400, action=action, updates=rows, form=form, error=error
    )


async def _update_page(
    request: Request,
    user: StaffUser,
    ctx: WebContext,
    update_id: int,
    error: str = "",
    status: int = 200,
) -> Response:
    now = utcnow()
    async with ctx.sessions() as session:
        try:
            row = await service.get_update(session, update_id)
        except service.NotFound as exc:
            return _not_found(request, user, str(exc))
        size = await audience.audience_size(session, row, now)
        sample = await audience.audience_sample(session, row, now) if size >= 5 else []
        counts = await audience.delivery_counts(session, update_id)
        answers = await audience.replies(session, update_id)
        tags = await audience.reply_tags(session, [m.id for m in answers])
    return render(
        request,
        "update.html",
        user,
        status,
        update=row,
        audience=audience.suppressed(size),
        sample=[shown_text(text, ctx.redact_pii) for text in sample],
        counts=counts,
        previews=previews(row, ctx.settings_view),
        replies=[(m, shown_text(m.text, ctx.redact_pii), tags.get(m.id, [])) for m in answers],
        zone=zone_of(ctx),
        error=error,
    )
