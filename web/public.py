"""The public "you said, we did" board and its Atom feed: what was done because residents spoke.

No personal data: an update's title, what was done, its themes and areas and when it went
out. The number of residents it went to is shown only from 5 up, as elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import updates as service
from models.audience import SUPPRESS_UNDER, WENT_OUT
from models.base import utcnow
from models.tables import Delivery, Update
from themes.codebook import Codebook
from web.context import TEMPLATES, WebContext, web_context

Context = Annotated[WebContext, Depends(web_context)]
ATOM = "http://www.w3.org/2005/Atom"
FEED_TITLE = "You said, we did — Listening Post"


@dataclass(frozen=True)
class Item:
    """One update as the public may see it."""

    id: int
    title: str
    body: str
    themes: list[str]
    areas: list[str]
    sent_at: datetime
    reached: int | None  # None when under SUPPRESS_UNDER


def theme_name(codebook: Codebook, theme: str) -> str:
    try:
        return codebook.entry(theme).name
    except KeyError:
        return theme.replace("_", " ")


async def reached(session: AsyncSession, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    query = (
        select(Delivery.update_id, func.count())
        .where(Delivery.update_id.in_(list(ids)), Delivery.status.in_(WENT_OUT))
        .group_by(Delivery.update_id)
    )
    return {int(i): int(n) for i, n in (await session.execute(query)).all() if i is not None}


async def board_items(session: AsyncSession, codebook: Codebook, limit: int = 100) -> list[Item]:
    rows: Sequence[Update] = await service.published(session, limit)
    counts = await reached(session, [row.id for row in rows])
    return [
        Item(
            id=row.id,
            title=row.title,
            body=row.body,
            themes=[theme_name(codebook, t) for t in row.themes],
            areas=list(row.areas),
            sent_at=row.sent_at or row.created_at,
            reached=n if (n := counts.get(row.id, 0)) >= SUPPRESS_UNDER else None,
        )
        for row in rows
    ]


def atom(items: Sequence[Item], base: str) -> bytes:
    """An Atom 1.0 feed of the board (RFC 4287)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        element.text = text
        return element

    updated = max((i.sent_at for i in items), default=utcnow())
    add(feed, "id", f"{base}/updates")
    add(feed, "title", FEED_TITLE)
    add(feed, "updated", updated.isoformat())
    add(feed, "link", rel="self", href=f"{base}/updates.atom")
    add(feed, "link", rel="alternate", type="text/html", href=f"{base}/updates")
    add(add(feed, "author"), "name", "Listening Post")
    for item in items:
        entry = add(feed, "entry")
        add(entry, "id", f"{base}/updates#update-{item.id}")
        add(entry, "title", item.title)
        add(entry, "updated", item.sent_at.isoformat())
        add(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=f"{base}/updates#update-{item.id}",
        )
        about = ", ".join(item.themes) + (f" · {', '.join(item.areas)}" if item.areas else "")
        add(entry, "summary", about)
        add(entry, "content", item.body, type="text")
        for theme in item.themes:
            add(entry, "category", term=theme)
    body: bytes = ET.tostring(feed, encoding="unicode").encode("utf-8")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/updates", response_class=HTMLResponse)
    async def board(request: Request, ctx: Context) -> Response:
        async with ctx.sessions() as session:
            items = await board_items(session, ctx.codebook)
        return TEMPLATES.TemplateResponse(request, "updates.html", {"updates": items})

    @routes.get("/updates.atom")
    async def feed(request: Request, ctx: Context) -> Response:
        async with ctx.sessions() as session:
            items = await board_items(session, ctx.codebook, limit=50)
        base = str(request.base_url).rstrip("/")
        return Response(atom(items, base), media_type="application/atom+xml; charset=utf-8")

    return routes
