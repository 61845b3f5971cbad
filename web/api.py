"""The JSON API under /api: the dashboard's data for other tools. Nothing answers without auth.

Authenticate with a personal API token (`Authorization: Bearer lp_…`, made on the dashboard's
API tokens page) or the staff session cookie; with the cookie, changes also need the
`X-CSRF-Token` header. Personal details are redacted as on the pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from models.dashboard import AlertsRepository
from models.tables import SafeguardingAlert, StaffUser
from web import insights
from web.auth import signed_in_staff
from web.context import WebContext, web_context
from web.counts import ensure_counted
from web.csrf import csrf_ok
from web.filters import Filter
from web.pages import MAX_ID
from web.review import Bubble, Chip, ReviewError, add_tag, inbox_page, remove_tag, transcript
from web.text import shown_text
from web.tokens import staff_for_token

Context = Annotated[WebContext, Depends(web_context)]
bearer = HTTPBearer(auto_error=False, description="A personal API token from /staff/tokens")
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
UNAUTHORISED: dict[int | str, dict[str, Any]] = {401: {"description": "No valid token or session"}}


async def api_user(
    request: Request,
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    x_csrf_token: Annotated[str | None, Header(max_length=128)] = None,
) -> StaffUser:
    """The caller: by token, else by session cookie (changes then need X-CSRF-Token)."""
    if credentials is not None:
        async with ctx.write() as session:
            user = await staff_for_token(session, credentials.credentials)
    else:
        user = await signed_in_staff(request, ctx)
        unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
        if user is not None and unsafe and not csrf_ok(request, x_csrf_token or ""):
            raise HTTPException(status_code=403, detail="X-CSRF-Token header missing or wrong.")
    if user is None:
        raise HTTPException(
            status_code=401,
            detail="Sign in, or send a personal API token as a Bearer token.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


User = Annotated[StaffUser, Depends(api_user)]


class TagOut(BaseModel):
    id: int
    kind: str
    label: str
    name: str
    source: Literal["model", "staff"]
    evidence: str | None = Field(description="The words that led to the tag (redacted)")


class MessageOut(BaseModel):
    id: int
    resident_id: int
    created_at: datetime
    direction: Literal["in", "out"]
    channel: str
    area: str | None
    text: str
    tags: list[TagOut]


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page")


class AlertOut(BaseModel):
    id: int
    resident_id: int
    message_id: int | None
    category: str
    status: str
    created_at: datetime
    handled_at: datetime | None


class ResidentOut(BaseModel):
    id: int
    channel: str
    area: str | None
    hears_back: bool


class TranscriptOut(BaseModel):
    resident: ResidentOut
    alerts: list[AlertOut]
    messages: list[MessageOut]


class TagIn(BaseModel):
    kind: Literal["theme", "signal"]
    label: str = Field(min_length=1, max_length=64)


class FigureOut(BaseModel):
    key: str
    label: str
    messages: int | None = Field(description="None when from fewer than 5 residents")
    residents: int | None = Field(description="None when fewer than 5")


class OverviewOut(BaseModel):
    weekly: list[FigureOut]
    themes: list[FigureOut]
    areas: list[FigureOut]
    signals: list[FigureOut]
    channels: list[FigureOut]


class EquityOut(BaseModel):
    key: str
    label: str
    residents: int | None
    population: int | None
    per_thousand: float | None
    share_heard: float | None
    share_population: float | None


class EquityPage(BaseModel):
    areas: list[EquityOut]
    channels: list[FigureOut]


class AgreementOut(BaseModel):
    kind: str
    label: str
    name: str
    kept: int
    removed: int
    added: int
    reviewed: int
    agreement: float


def _tag(chip: Chip, redact_pii: bool) -> TagOut:
    evidence = shown_text(chip.evidence, redact_pii) if chip.evidence else None
    source: Literal["model", "staff"] = "staff" if chip.staff_made else "model"
    return TagOut(
        id=chip.id,
        kind=chip.kind,
        label=chip.label,
        name=chip.name,
        source=source,
        evidence=evidence,
    )


def _message(bubble: Bubble, redact_pii: bool, channel: str, area: str | None) -> MessageOut:
    m = bubble.message
    return MessageOut(
        id=m.id,
        resident_id=m.resident_id,
        created_at=m.created_at,
        direction="in" if m.direction == "in" else "out",
        channel=channel,
        area=area,
        text=shown_text(m.text, redact_pii),
        tags=[_tag(chip, redact_pii) for chip in bubble.chips],
    )


def _alert(alert: SafeguardingAlert) -> AlertOut:
    return AlertOut.model_validate(alert, from_attributes=True)


def _figures(figures: list[insights.Figure]) -> list[FigureOut]:
    return [FigureOut(**f.to_json()) for f in figures]


def router() -> APIRouter:
    """The /api routes: messages, transcripts, tags, alerts and the insight figures."""
    routes = APIRouter(prefix="/api", tags=["dashboard"], responses=UNAUTHORISED)
    _add_message_routes(routes)
    _add_tag_routes(routes)
    _add_alert_routes(routes)
    _add_insight_routes(routes)
    return routes


def _add_message_routes(routes: APIRouter) -> None:
    @routes.get("/messages", response_model=MessagePage)
    async def messages(
        ctx: Context,
        user: User,
        found: Filter,
        before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> MessagePage:
        """Resident messages, newest first, filtered like the inbox; keyset-paginated."""
        async with ctx.sessions() as session:
            bubbles, cursor = await inbox_page(
                session, found, before, limit, ctx.codebook, redact_pii=False
            )
        items = [_message(b, ctx.redact_pii, b.channel, b.area) for b in bubbles]
        return MessagePage(items=items, next_before=cursor)

    @routes.get("/residents/{resident_id}/transcript", response_model=TranscriptOut)
    async def resident_transcript(ctx: Context, user: User, resident_id: Id) -> TranscriptOut:
        """One resident's messages (oldest first) with tags, and their safeguarding alerts."""
        async with ctx.sessions() as session:
            try:
                t = await transcript(session, resident_id, ctx.codebook, redact_pii=False)
            except ReviewError as exc:
                raise HTTPException(status_code=exc.status, detail=str(exc)) from exc
        r = t.resident
        return TranscriptOut(
            resident=ResidentOut(id=r.id, channel=r.channel, area=r.area, hears_back=t.hears_back),
            alerts=[_alert(a) for a in t.alerts],
            messages=[_message(b, ctx.redact_pii, r.channel, r.area) for b in t.bubbles],
        )


def _add_tag_routes(routes: APIRouter) -> None:
    @routes.post("/messages/{message_id}/tags", response_model=TagOut, status_code=201)
    async def tag_message(ctx: Context, user: User, message_id: Id, tag: TagIn) -> TagOut:
        """Add a theme or signal as staff (kept with who and when)."""
        try:
            async with ctx.write() as session:
                made = await add_tag(
                    session, ctx.codebook, user.id, message_id, tag.kind, tag.label
                )
        except ReviewError as exc:
            raise HTTPException(status_code=exc.status, detail=str(exc)) from exc
        name = insights.names(ctx.codebook).get(made.label, made.label)
        chip = Chip(
            made.id, made.kind, made.label, name, made.source == "staff", made.evidence_text
        )
        return _tag(chip, ctx.redact_pii)

    @routes.delete("/messages/{message_id}/tags/{tag_id}", status_code=204)
    async def untag_message(ctx: Context, user: User, message_id: Id, tag_id: Id) -> Response:
        """Remove a theme or signal (the tag is kept as removed, with who and when)."""
        try:
            async with ctx.write() as session:
                await remove_tag(session, user.id, message_id, tag_id)
        except ReviewError as exc:
            raise HTTPException(status_code=exc.status, detail=str(exc)) from exc
        return Response(status_code=204)


def _add_alert_routes(routes: APIRouter) -> None:
    @routes.get("/alerts", response_model=list[AlertOut])
    async def alerts(
        ctx: Context,
        user: User,
        status: Annotated[Literal["open", "handled", "all"], Query()] = "open",
    ) -> list[AlertOut]:
        """Safeguarding alerts, newest first."""
        async with ctx.sessions() as session:
            found = await AlertsRepository(session).listed(None if status == "all" else status)
        return [_alert(a) for a in found]


def _add_insight_routes(routes: APIRouter) -> None:
    @routes.get("/overview", response_model=OverviewOut)
    async def overview(
        ctx: Context,
        user: User,
        weeks: Annotated[int, Query(ge=4, le=104)] = 12,
        theme: Annotated[str | None, Query(max_length=64)] = None,
    ) -> OverviewOut:
        """Messages and residents by week, theme, area, signal and channel (under 5 suppressed)."""
        if theme and theme not in ctx.codebook.ids("theme"):
            raise HTTPException(status_code=422, detail="No such theme in the codebook.")
        await ensure_counted(ctx)
        return await _overview(ctx, weeks, theme)

    @routes.get("/equity", response_model=EquityPage)
    async def equity(ctx: Context, user: User) -> EquityPage:
        """Residents heard by area against configured populations, and by channel."""
        await ensure_counted(ctx)
        async with ctx.sessions() as session:
            areas = await insights.by_area(session)
            channels = await insights.by_channel(session)
        rows = insights.equity_by_area(areas, ctx.populations)
        return EquityPage(
            areas=[EquityOut(**e.to_json()) for e in rows], channels=_figures(channels)
        )

    @routes.get("/agreement", response_model=list[AgreementOut])
    async def agreement(ctx: Context, user: User) -> list[AgreementOut]:
        """Per label, how often staff kept, removed or added it; least agreement first."""
        async with ctx.sessions() as session:
            rows = await insights.agreement(session, ctx.codebook)
        return [AgreementOut(**a.to_json()) for a in rows]


async def _overview(ctx: WebContext, weeks: int, theme: str | None) -> OverviewOut:
    async with ctx.sessions() as session:
        data = await insights.overview(session, ctx.codebook, weeks, theme or "")
    return OverviewOut(**{chart: _figures(figures) for chart, figures in data.items()})
