"""The built-in web chat: a page, and a JSON endpoint that speaks the same inbound path."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, ConfigDict, Field

from bot.messages import InboundMessage, InboundResult, as_reply
from bot.runtime import Runtime
from flows.types import Incoming, IncomingKind, Reply
from models.repositories import MessageRepository, ResidentRepository
from models.tables import Message

CHANNEL = "web"
COOKIE = "lp_chat"
COOKIE_AGE = 60 * 60 * 24 * 365
HISTORY = 200
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


class ChatPost(BaseModel):
    """A message from the web chat page: typed text, or the value of a pressed button."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(default="", max_length=20_000)
    choice: str | None = Field(default=None, max_length=64)
    client_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class ChoiceOut(BaseModel):
    value: str
    label: str


class ReplyOut(BaseModel):
    text: str
    choices: list[ChoiceOut] = []


class ChatHistoryItem(ReplyOut):
    direction: str


class ChatAnswer(BaseModel):
    replies: list[ReplyOut]
    duplicate: bool = False


class ChatHistory(BaseModel):
    messages: list[ChatHistoryItem]


def runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


def signer(request: Request) -> URLSafeSerializer:
    value: URLSafeSerializer = request.app.state.chat_signer
    return value


def visitor(request: Request, sign: Annotated[URLSafeSerializer, Depends(signer)]) -> str | None:
    """The web resident's address from the signed cookie; None when absent or forged."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        value = sign.loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def _set_cookie(
    request: Request, response: Response, sign: URLSafeSerializer, address: str
) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(
        COOKIE,
        sign.dumps(address),
        max_age=COOKIE_AGE,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def out(reply: Reply) -> ReplyOut:
    return ReplyOut(
        text=reply.text, choices=[ChoiceOut(value=c.value, label=c.label) for c in reply.choices]
    )


def router() -> APIRouter:
    """Routes for /chat."""
    routes = APIRouter(tags=["web chat"])
    _add_page_routes(routes)
    _add_message_routes(routes)
    return routes


def _add_page_routes(routes: APIRouter) -> None:
    @routes.get("/chat", response_class=HTMLResponse, include_in_schema=False)
    async def page(
        request: Request,
        sign: Annotated[URLSafeSerializer, Depends(signer)],
        address: Annotated[str | None, Depends(visitor)],
    ) -> Response:
        response = TEMPLATES.TemplateResponse(request, "chat.html", {})
        if address is None:
            _set_cookie(request, response, sign, secrets.token_urlsafe(18))
        return response


def _add_message_routes(routes: APIRouter) -> None:
    @routes.get("/chat/api/messages")
    async def history(
        rt: Annotated[Runtime, Depends(runtime)],
        address: Annotated[str | None, Depends(visitor)],
    ) -> ChatHistory:
        """The conversation so far, oldest first (empty for a new visitor)."""
        if address is None:
            return ChatHistory(messages=[])
        rows = await _history_rows(rt, address)
        items = [_history_item(row.direction, row) for row in rows]
        return ChatHistory(messages=items)

    @routes.post("/chat/api/messages")
    async def post(
        body: ChatPost,
        request: Request,
        response: Response,
        rt: Annotated[Runtime, Depends(runtime)],
        sign: Annotated[URLSafeSerializer, Depends(signer)],
        address: Annotated[str | None, Depends(visitor)],
    ) -> ChatAnswer:
        """Send one message; answers with the replies (the same ones again on a retry)."""
        if "application/json" not in request.headers.get("content-type", ""):
            raise HTTPException(415, "send JSON")
        if address is None:
            address = secrets.token_urlsafe(18)
            _set_cookie(request, response, sign, address)
        result = await rt.inbound.handle(incoming(body, address))
        return answer(result)


async def _history_rows(rt: Runtime, address: str) -> Sequence[Message]:
    """The web resident's last HISTORY messages, oldest first; none if they never wrote."""
    async with rt.sessions() as session:
        resident = await ResidentRepository(session).find(CHANNEL, address)
        return (
            []
            if resident is None
            else await MessageRepository(session).for_resident(resident.id, HISTORY)
        )


def _history_item(direction: str, row: Any) -> ChatHistoryItem:
    reply = as_reply(row) if direction == "out" else Reply(row.text)
    return ChatHistoryItem(direction=direction, **out(reply).model_dump())


def incoming(body: ChatPost, address: str) -> InboundMessage:
    """The web chat post in the project's terms; client_id de-duplicates retries."""
    now = datetime.now(UTC)
    if body.choice is not None:
        label = body.text or body.choice
        item = Incoming(IncomingKind.CHOICE, now, text=label, choice=body.choice)
    else:
        item = Incoming(IncomingKind.TEXT, now, text=body.text)
    return InboundMessage(CHANNEL, address, item, channel_message_id=f"{address}:{body.client_id}")


def answer(result: InboundResult) -> ChatAnswer:
    return ChatAnswer(replies=[out(r.reply) for r in result.replies], duplicate=result.duplicate)
