"""The public "you said, we did" board: what was done because residents spoke. No personal data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from models.tables import Update
from web.context import TEMPLATES, WebContext, web_context

Context = Annotated[WebContext, Depends(web_context)]


def router() -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.get("/updates", response_class=HTMLResponse)
    async def board(request: Request, ctx: Context) -> Response:
        async with ctx.sessions() as session:
            query = (
                select(Update)
                .where(Update.status == "sent")
                .order_by(Update.sent_at.desc())
                .limit(100)
            )
            updates = (await session.execute(query)).scalars().all()
        return TEMPLATES.TemplateResponse(request, "updates.html", {"updates": updates})

    return routes
