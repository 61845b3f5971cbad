"""Webhooks as Meta posts them: residents' messages, delivery statuses, signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tests.fakes.whatsapp.account import DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID, WABA_ID, digits
from tests.fakes.whatsapp.errors import ERRORS, Json
from tests.fakes.whatsapp.validation import MEDIA_TYPES

if TYPE_CHECKING:
    from tests.fakes.whatsapp.graph import FakeGraph  # only for annotations: graph imports us

ERROR_CODES_HREF = "/documentation/business-messaging/whatsapp/support/error-codes"
STATUSES = ("sent", "delivered", "read", "failed", "played")


def _unix(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def _envelope(value: Json) -> Json:
    change = {"value": {"messaging_product": "whatsapp", **value}, "field": "messages"}
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [change]}]}


def _metadata(graph: FakeGraph | None) -> Json:
    phone_number_id = graph.phone_number_id if graph else PHONE_NUMBER_ID
    return {"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": phone_number_id}


def _inbound(
    wa_id: str,
    fields: Json,
    *,
    wamid: str | None,
    name: str,
    timestamp: datetime | None,
    graph: FakeGraph | None,
) -> Json:
    wa_id = digits(wa_id)
    when = timestamp or (graph.clock() if graph else datetime.now(UTC))
    if graph is not None:
        graph.customer_wrote(wa_id, at=when)
    message = {"from": wa_id, "id": wamid or f"wamid.FAKEIN{uuid.uuid4().hex}"}
    return _envelope(
        {
            "metadata": _metadata(graph),
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{**message, "timestamp": _unix(when), **fields}],
        }
    )


def _context(wa_id: str, graph: FakeGraph | None, context: str | None) -> Json:
    """What a tapped reply points at: by default the last message the graph sent this number."""
    if context is None and graph is not None:
        ours = [sent.wamid for sent in graph.sent if sent.wa_id == digits(wa_id)]
        context = ours[-1] if ours else None
    return {"from": DISPLAY_PHONE_NUMBER, "id": context or f"wamid.FAKE{uuid.uuid4().hex}"}


def text_message(
    wa_id: str,
    body: str,
    *,
    wamid: str | None = None,
    name: str = "Resident",
    timestamp: datetime | None = None,
    graph: FakeGraph | None = None,
) -> Json:
    """A messages webhook for a text a resident typed."""
    fields = {"type": "text", "text": {"body": body}}
    return _inbound(wa_id, fields, wamid=wamid, name=name, timestamp=timestamp, graph=graph)


def button_reply(
    wa_id: str,
    id: str,
    title: str,
    *,
    context: str | None = None,
    wamid: str | None = None,
    name: str = "Resident",
    timestamp: datetime | None = None,
    graph: FakeGraph | None = None,
) -> Json:
    """A messages webhook for a tapped reply button."""
    fields = {
        "context": _context(wa_id, graph, context),
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": id, "title": title}},
    }
    return _inbound(wa_id, fields, wamid=wamid, name=name, timestamp=timestamp, graph=graph)


def list_reply(
    wa_id: str,
    id: str,
    title: str,
    description: str | None = None,
    *,
    context: str | None = None,
    wamid: str | None = None,
    name: str = "Resident",
    timestamp: datetime | None = None,
    graph: FakeGraph | None = None,
) -> Json:
    """A messages webhook for a row chosen from a list message."""
    reply = {"id": id, "title": title}
    if description is not None:
        reply["description"] = description
    fields = {
        "context": _context(wa_id, graph, context),
        "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": reply},
    }
    return _inbound(wa_id, fields, wamid=wamid, name=name, timestamp=timestamp, graph=graph)


def _media_content(kind: str, wa_id: str, graph: FakeGraph | None) -> Json:
    sha = "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI="
    contents: dict[str, Json] = {
        "image": {"caption": "Our street", "mime_type": "image/jpeg", "sha256": sha},
        "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": sha, "voice": True},
        "video": {"mime_type": "video/mp4", "sha256": sha},
        "document": {"filename": "letter.pdf", "mime_type": "application/pdf", "sha256": sha},
        "sticker": {"mime_type": "image/webp", "sha256": sha, "animated": False},
        "location": {
            "latitude": 53.4794,
            "longitude": -2.2453,
            "name": "Community centre",
            "address": "1 Market Street, Manchester",
        },
        "reaction": {"message_id": _context(wa_id, graph, None)["id"], "emoji": "\U0001f44d"},
        "unsupported": {"type": "poll_creation"},
    }
    return contents[kind]


def media_message(
    wa_id: str,
    type: str,
    *,
    content: Json | None = None,
    wamid: str | None = None,
    name: str = "Resident",
    timestamp: datetime | None = None,
    graph: FakeGraph | None = None,
) -> Json:
    """A messages webhook for image, audio, video, document, sticker, location, reaction or
    unsupported; ``content`` replaces the default ``<type>`` object."""
    if type not in (*MEDIA_TYPES, "location", "reaction", "unsupported"):
        raise ValueError(f"media_message does not build {type!r} messages")
    body = content if content is not None else _media_content(type, wa_id, graph)
    if type in MEDIA_TYPES and "id" not in body:
        body = {**body, "id": str(uuid.uuid4().int)[:16]}
    fields: Json = {"type": type, type: body}
    if type == "unsupported":
        details = "Message type is currently not supported."
        fields["errors"] = [_webhook_error(131051, "Message type unknown", details)]
    return _inbound(wa_id, fields, wamid=wamid, name=name, timestamp=timestamp, graph=graph)


def _webhook_error(code: int, title: str | None = None, details: str | None = None) -> Json:
    known = ERRORS.get(code)
    title = title or (known.title if known else "Error")
    details = details or (known.details if known else title)
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details},
        "href": ERROR_CODES_HREF,
    }


def status_update(
    wamid: str,
    status: str,
    recipient_id: str,
    errors: Sequence[int | Json] | None = None,
    *,
    timestamp: datetime | None = None,
    graph: FakeGraph | None = None,
) -> Json:
    """A status webhook for a message we sent; ``errors`` may be codes (131047) or full objects."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}")
    if status == "failed" and not errors:
        raise ValueError("a failed status carries errors")
    when = timestamp or (graph.clock() if graph else datetime.now(UTC))
    entry: Json = {
        "id": wamid,
        "status": status,
        "timestamp": _unix(when),
        "recipient_id": digits(recipient_id),
    }
    if status == "sent":
        entry["pricing"] = {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
    if errors:
        entry["errors"] = [e if isinstance(e, dict) else _webhook_error(e) for e in errors]
    return _envelope({"metadata": _metadata(graph), "statuses": [entry]})


def sign(body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 header Meta sends with ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signed_post(payload: Json, app_secret: str) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers of a signed webhook POST.

    Non-ASCII is sent as ``\\u`` escapes, so a channel that re-serialises the parsed JSON instead
    of hashing the bytes it received fails its signature check, as it would against Meta.
    """
    body = json.dumps(payload, separators=(",", ":")).encode()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, app_secret)}


def verification_params(verify_token: str, challenge: str = "1158201444") -> dict[str, str]:
    """The query of Meta's GET when the callback URL is set (the endpoint echoes hub.challenge)."""
    return {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
