"""WhatsApp through Meta's Cloud API: signed webhooks in, paced Graph API calls out.

Inbound: `GET /webhooks/whatsapp` answers Meta's verification handshake; `POST` checks
`X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the app secret, compared in constant
time) before parsing anything, then hands each message to the inbound path, which stores it
in its own transaction before we answer 200; a redelivered message (same wamid) is dropped.
Status webhooks update the delivery rows. Outbound: `WhatsAppSender`, the delivery worker's
sender, with Meta's error codes mapped to retry, unreachable, not sendable or channel down.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import update

from bot.channels.whatsapp_payloads import message_body, parse_choice_id, template_body
from bot.delivery import (
    ChannelDown,
    DeliveryWorker,
    Due,
    RetryAfter,
    Undeliverable,
    Unreachable,
)
from bot.inbound import InboundService
from bot.messages import InboundMessage
from bot.pacing import RateLimiter
from bot.settings import Settings
from flows.types import Incoming, IncomingKind, Reply
from models.db import Database
from models.tables import Delivery

log = logging.getLogger("listening_post.whatsapp")
CHANNEL = "whatsapp"
WINDOW = timedelta(hours=24)
BACK_OFF = {130429: 2.0, 131056: 6.0}  # throughput; pair rate limit (same recipient)
UNREACHABLE = {131026, 131021, 131030}  # undeliverable; recipient is sender; not on WhatsApp
WINDOW_CLOSED = 131047
STICKERS = {"sticker"}
MEDIA = {"image", "audio", "video", "document", "location", "contacts", "reaction"}
STATUSES = {"delivered", "read", "failed", "sent"}


class MetaError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"({code}) {message}")
        self.code = code


def window_open(last_inbound_at: datetime | None, now: datetime | None = None) -> bool:
    """Free-form messages only within 24 hours of the resident's last message."""
    if last_inbound_at is None:
        return False
    return (now or datetime.now(UTC)) - last_inbound_at < WINDOW


class WhatsAppSender:
    """Sends one reply; outside the 24-hour window an update goes as the approved template."""

    channel = CHANNEL

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.limiter = RateLimiter(
            settings.delivery.whatsapp_per_second,
            settings.delivery.whatsapp_per_recipient_per_second,
        )

    async def pace(self, address: str) -> None:
        await self.limiter.acquire(address)

    def hold_off(self, seconds: float) -> None:
        self.limiter.hold_off(seconds)

    async def send(self, address: str, reply: Reply, due: Due | None = None) -> str:
        automated = due is not None and due.automated
        if due is not None and not window_open(due.last_inbound_at):
            if not automated:
                raise Undeliverable("outside the 24-hour window: only templates may be sent")
            return await self._template(address, reply)
        try:
            wamid = ""
            for body in message_body(address, reply):
                wamid = await self._post(body)
            return wamid
        except MetaError as exc:
            if exc.code == WINDOW_CLOSED and automated:
                return await self._template(address, reply)
            raise self._translate(exc) from exc

    async def _template(self, address: str, reply: Reply) -> str:
        config = self.settings.whatsapp
        body = template_body(address, config.update_template, config.template_language, reply.text)
        try:
            return await self._post(body)
        except MetaError as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: MetaError) -> Exception:
        if exc.code in BACK_OFF:
            return RetryAfter(BACK_OFF[exc.code])
        if exc.code in UNREACHABLE:
            return Unreachable(str(exc))
        if exc.code == 190:
            return ChannelDown(f"WhatsApp access token rejected: {exc}")
        if exc.code == WINDOW_CLOSED:
            return Undeliverable(f"outside the 24-hour window: {exc}")
        return Undeliverable(str(exc))

    async def _post(self, body: dict[str, Any]) -> str:
        path = f"{self.settings.whatsapp.phone_number_id}/messages"
        response = await self.client.post(path, json=body)
        data = response.json() if response.content else {}
        if response.status_code >= 500:
            response.raise_for_status()
        error = data.get("error") if isinstance(data, dict) else None
        if response.status_code == 401 and not isinstance(error, dict):
            raise MetaError(190, "unauthorised")
        if isinstance(error, dict):
            raise MetaError(int(error.get("code", 0)), str(error.get("message", "")))
        return str(data["messages"][0]["id"])


class WhatsAppChannel:
    """Holds the HTTP client and the inbound handling for the webhook route."""

    def __init__(
        self, settings: Settings, inbound: InboundService, worker: DeliveryWorker, db: Database
    ) -> None:
        config = settings.whatsapp
        assert config.access_token is not None
        self.settings = settings
        self.inbound = inbound
        self.worker = worker
        self.db = db
        token = config.access_token.get_secret_value()
        self.client = httpx.AsyncClient(
            base_url=config.graph_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(20.0),
        )
        self.sender = WhatsAppSender(settings, self.client)

    async def stop(self) -> None:
        await self.client.aclose()

    def signature_ok(self, body: bytes, header: str | None) -> bool:
        secret = self.settings.whatsapp.app_secret
        if secret is None or not header or not header.startswith("sha256="):
            return False
        expected = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, header.removeprefix("sha256="))

    def verify_token_ok(self, token: str | None) -> bool:
        secret = self.settings.whatsapp.verify_token
        if secret is None or token is None:
            return False
        return hmac.compare_digest(token.encode(), secret.get_secret_value().encode())

    async def receive(self, payload: dict[str, Any]) -> None:
        """Every message and status in a webhook payload, in order."""
        for value in changes(payload):
            for status in value.get("statuses") or []:
                await self._status(status)
            for message in value.get("messages") or []:
                inbound = incoming(message)
                if inbound is not None:
                    await self.inbound.handle(inbound)
        self.worker.notify()

    async def _status(self, status: dict[str, Any]) -> None:
        state = status.get("status")
        wamid = status.get("id")
        if state not in STATUSES or not isinstance(wamid, str) or state == "sent":
            return
        errors = status.get("errors") or []
        error = "; ".join(f"({e.get('code')}) {e.get('title', '')}" for e in errors) or None
        values: dict[str, Any] = {"status": state}
        if error:
            values["error"] = error
        await self.db.write(
            update(Delivery)
            .where(Delivery.channel == CHANNEL, Delivery.channel_message_id == wamid)
            .values(**values)
        )
        log.info("whatsapp_status", extra={"status": state, "error": error})


def changes(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The `value` objects of a webhook payload (entry[].changes[].value)."""
    out = []
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value")
            if isinstance(value, dict):
                out.append(value)
    return out


def incoming(message: dict[str, Any]) -> InboundMessage | None:
    """One webhook message in the project's terms; None when it cannot be read at all."""
    sender, wamid, kind = message.get("from"), message.get("id"), message.get("type")
    if not isinstance(sender, str) or not isinstance(wamid, str):
        return None
    at = _when(message.get("timestamp"))
    if kind == "text":
        body = str((message.get("text") or {}).get("body", ""))
        item = Incoming(IncomingKind.TEXT, at, text=body)
    elif kind == "interactive":
        item = _pressed(message.get("interactive") or {}, at)
    elif kind in STICKERS:
        item = Incoming(IncomingKind.STICKER, at)
    elif kind in MEDIA:
        item = Incoming(IncomingKind.MEDIA, at)
    else:
        item = Incoming(IncomingKind.UNSUPPORTED, at)
    return InboundMessage(CHANNEL, sender, item, channel_message_id=wamid)


def _pressed(interactive: dict[str, Any], at: datetime) -> Incoming:
    reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
    value = parse_choice_id(str(reply.get("id", "")))
    title = str(reply.get("title", ""))
    if value is None:  # a button from another version: read its title as typed text
        return Incoming(IncomingKind.TEXT, at, text=title)
    return Incoming(IncomingKind.CHOICE, at, text=title, choice=value)


def _when(raw: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(raw)), UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)


def router() -> APIRouter:
    """GET (verification) and POST (signed webhooks) /webhooks/whatsapp."""
    routes = APIRouter(tags=["channels"])

    def channel_of(request: Request) -> WhatsAppChannel | None:
        value: WhatsAppChannel | None = getattr(request.app.state, "whatsapp", None)
        return value

    @routes.get("/webhooks/whatsapp", responses={403: {}, 404: {}})
    async def verify(request: Request) -> Response:
        channel = channel_of(request)
        if channel is None:
            return JSONResponse({"detail": "WhatsApp is not enabled"}, 404)
        query = request.query_params
        if query.get("hub.mode") != "subscribe" or not channel.verify_token_ok(
            query.get("hub.verify_token")
        ):
            return JSONResponse({"detail": "wrong verify token"}, 403)
        return PlainTextResponse(query.get("hub.challenge", ""))

    @routes.post("/webhooks/whatsapp", responses={400: {}, 403: {}, 404: {}})
    async def webhook(request: Request) -> JSONResponse:
        channel = channel_of(request)
        if channel is None:
            return JSONResponse({"detail": "WhatsApp is not enabled"}, 404)
        body = await request.body()
        if not channel.signature_ok(body, request.headers.get("X-Hub-Signature-256")):
            return JSONResponse({"detail": "missing or wrong signature"}, 403)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"detail": "body is not JSON"}, 400)
        if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
            return JSONResponse({"detail": "not a WhatsApp webhook"}, 400)
        await channel.receive(payload)
        return JSONResponse({"ok": True})

    return routes
