"""Pages for understanding: overview charts, a theme's page, equity of voice, agreement, export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from markupsafe import Markup

from models.counts import CountsRepository
from models.dashboard import MessageFilter
from models.tables import StaffUser
from web import insights
from web.auth import role_allows
from web.charts import Point, bars, columns
from web.context import WebContext
from web.counts import ensure_counted, refresh
from web.filters import Filter, query_string
from web.pages import AnyStaff, Context, Csrf, render
from web.review import export_row, inbox_page, log_reveal

Weeks = Annotated[int, Query(ge=4, le=104)]
Chart = Literal["weekly", "themes", "areas", "signals", "channels"]
EXPORT_PAGE = 1000
EXPORT_MAX = 200_000
EXPORT_COLUMNS = (
    "message_id",
    "resident_id",
    "created_at",
    "channel",
    "area",
    "text",
    "themes",
    "signals",
    "safeguarding",
    "staff_corrected",
)


def points(figures: list[insights.Figure], residents: bool = False) -> list[Point]:
    return [Point(f.label, f.residents if residents else f.messages) for f in figures]


def router() -> APIRouter:
    """Routes for the overview, a theme's page, equity, agreement and export (any staff)."""
    routes = APIRouter(include_in_schema=False)
    _add_overview_routes(routes)
    _add_theme_routes(routes)
    _add_equity_routes(routes)
    _add_export_routes(routes)
    return routes


def _add_overview_routes(routes: APIRouter) -> None:
    @routes.get("/staff/overview", response_class=HTMLResponse)
    async def overview(
        request: Request,
        ctx: Context,
        user: AnyStaff,
        weeks: Weeks = 12,
        theme: Annotated[str, Query(max_length=64)] = "",
    ) -> Response:
        return await _overview_page(request, ctx, user, weeks, theme)

    @routes.get("/staff/overview/{chart}.csv")
    async def overview_csv(
        ctx: Context,
        user: AnyStaff,
        chart: Annotated[Chart, Path()],
        weeks: Weeks = 12,
        theme: Annotated[str, Query(max_length=64)] = "",
    ) -> Response:
        data = await _overview(ctx, weeks, _theme(ctx, theme))
        key = "week" if chart == "weekly" else chart.rstrip("s")
        return _csv(insights.figures_csv(data[chart], key), f"{chart}.csv")

    @routes.post("/staff/overview/refresh")
    async def refresh_now(ctx: Context, user: AnyStaff, _: Csrf) -> Response:
        await refresh(ctx, force=True)
        return RedirectResponse("/staff/overview", status_code=303)


def _add_theme_routes(routes: APIRouter) -> None:
    @routes.get("/staff/themes/{label}", response_class=HTMLResponse)
    async def theme_page(
        request: Request, ctx: Context, user: AnyStaff, label: Annotated[str, Path(max_length=64)]
    ) -> Response:
        if label not in ctx.codebook.ids("theme"):
            raise HTTPException(status_code=404, detail="No such theme in the codebook.")
        await ensure_counted(ctx)
        async with ctx.sessions() as session:
            weekly = await insights.weekly(session, "theme", label, 26)
            areas = await insights.by_area(session, "theme", label)
            phrases = await insights.phrases(session, label)
            bubbles, cursor = await inbox_page(
                session, MessageFilter(theme=label), None, 20, ctx.codebook, ctx.redact_pii
            )
        return render(
            request,
            "theme.html",
            user,
            entry=ctx.codebook.entry(label),
            weekly=weekly,
            areas=areas,
            phrases=phrases,
            bubbles=bubbles,
            cursor=cursor,
            chart=columns("chart-theme", "Messages per week", points(weekly)),
        )


def _add_equity_routes(routes: APIRouter) -> None:
    @routes.get("/staff/equity", response_class=HTMLResponse)
    async def equity(request: Request, ctx: Context, user: AnyStaff) -> Response:
        await ensure_counted(ctx)
        areas, channels = await _equity(ctx)
        return render(
            request,
            "equity.html",
            user,
            areas=areas,
            channels=channels,
            chart=_equity_chart(areas),
            channel_chart=bars("chart-channels", "Residents by channel", points(channels, True)),
        )

    @routes.get("/staff/equity.csv")
    async def equity_csv(ctx: Context, user: AnyStaff) -> Response:
        areas, _ = await _equity(ctx)
        return _csv(_equity_csv_text(areas), "equity.csv")

    @routes.get("/staff/agreement", response_class=HTMLResponse)
    async def agreement(request: Request, ctx: Context, user: AnyStaff) -> Response:
        async with ctx.sessions() as session:
            rows = await insights.agreement(session, ctx.codebook)
        return render(request, "agreement.html", user, rows=rows)


def _add_export_routes(routes: APIRouter) -> None:
    @routes.get("/staff/export", response_class=HTMLResponse)
    async def export_form(
        request: Request, ctx: Context, user: AnyStaff, found: Filter
    ) -> Response:
        return render(request, "export.html", user, found=found, params=query_string(found))

    @routes.get("/staff/export/messages.{fmt}")
    async def export(
        ctx: Context,
        user: AnyStaff,
        found: Filter,
        fmt: Annotated[Literal["csv", "json"], Path()],
        unredacted: bool = False,
    ) -> Response:
        if unredacted:
            if not role_allows(user.role, ctx.reveal_role):
                raise HTTPException(status_code=403, detail="Your role cannot export unredacted.")
            async with ctx.write() as session:
                log_reveal(session, user.id, None, "export")
        return _export_response(ctx, found, fmt, ctx.redact_pii and not unredacted)


async def _overview_page(
    request: Request, ctx: WebContext, user: StaffUser, weeks: int, theme: str
) -> Response:
    await ensure_counted(ctx)
    label = _theme(ctx, theme)
    data = await _overview(ctx, weeks, label)
    charts = {
        "weekly": columns("chart-weekly", "Messages per week", points(data["weekly"])),
        "themes": bars("chart-themes", "Messages by theme", points(data["themes"])),
        "areas": bars("chart-areas", "Messages by area", points(data["areas"])),
        "signals": bars("chart-signals", "Messages by signal", points(data["signals"])),
    }
    return render(
        request,
        "overview.html",
        user,
        data=data,
        charts=charts,
        weeks=weeks,
        theme=label,
        names=insights.names(ctx.codebook),
        refreshed=await _refreshed(ctx),
    )


def _theme(ctx: WebContext, theme: str) -> str:
    if theme and theme not in ctx.codebook.ids("theme"):
        raise HTTPException(status_code=422, detail="No such theme in the codebook.")
    return theme


async def _overview(ctx: WebContext, weeks: int, theme: str) -> dict[str, list[insights.Figure]]:
    async with ctx.sessions() as session:
        return await insights.overview(session, ctx.codebook, weeks, theme)


async def _refreshed(ctx: WebContext) -> datetime | None:
    async with ctx.sessions() as session:
        last = await CountsRepository(session).last_refresh()
    return last.refreshed_at if last else None


async def _equity(ctx: WebContext) -> tuple[list[insights.Equity], list[insights.Figure]]:
    async with ctx.sessions() as session:
        areas = await insights.by_area(session)
        channels = await insights.by_channel(session)
    return insights.equity_by_area(areas, ctx.populations), channels


def _equity_chart(areas: list[insights.Equity]) -> Markup:
    return bars(
        "chart-equity",
        "Residents heard per 1,000 people living there",
        [
            Point(e.label, None if e.per_thousand is None else round(e.per_thousand))
            for e in areas
            if e.population
        ],
    )


def _equity_csv_text(areas: list[insights.Equity]) -> str:
    header = [
        "area",
        "residents",
        "population",
        "per_thousand",
        "share_heard_pct",
        "share_population_pct",
    ]
    rows = (
        [
            e.key,
            e.residents,
            e.population or "",
            e.per_thousand or "",
            e.share_heard or "",
            e.share_population or "",
        ]
        for e in areas
    )
    return insights.csv_text(header, rows)


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _export_rows(
    ctx: WebContext, found: MessageFilter, redact_pii: bool
) -> AsyncIterator[dict[str, Any]]:
    before, sent = None, 0
    while sent < EXPORT_MAX:
        async with ctx.sessions() as session:
            bubbles, before = await inbox_page(
                session, found, before, EXPORT_PAGE, ctx.codebook, redact_pii=False
            )
        for item in bubbles:
            yield export_row(item, redact_pii)
        sent += len(bubbles)
        if before is None:
            return


async def _export_csv(
    ctx: WebContext, found: MessageFilter, redact_pii: bool
) -> AsyncIterator[str]:
    yield _csv_line(list(EXPORT_COLUMNS))
    async for row in _export_rows(ctx, found, redact_pii):
        yield _csv_line([";".join(v) if isinstance(v, list) else v for v in row.values()])


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(["" if v is None else v for v in values])
    return out.getvalue()


async def _export_json(
    ctx: WebContext, found: MessageFilter, redact_pii: bool
) -> AsyncIterator[str]:
    yield "["
    first = True
    async for row in _export_rows(ctx, found, redact_pii):
        yield ("" if first else ",\n") + json.dumps(row, ensure_ascii=False)
        first = False
    yield "]\n"


def _export_response(
    ctx: WebContext, found: MessageFilter, fmt: Literal["csv", "json"], redact_pii: bool
) -> Response:
    body = (
        _export_csv(ctx, found, redact_pii)
        if fmt == "csv"
        else _export_json(ctx, found, redact_pii)
    )
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    disposition = f'attachment; filename="messages.{fmt}"'
    return StreamingResponse(body, media_type=media, headers={"Content-Disposition": disposition})
