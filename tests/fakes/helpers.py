"""Small helpers for the tests of the fakes: a chat, a resident, and WhatsApp send bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from tests.fakes.whatsapp import PHONE_NUMBER_ID

# Telegram

CHAT = 4242

# WhatsApp

RESIDENT = "447700900123"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def message(kind: str, content: dict[str, Any], to: str = RESIDENT) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: content,
    }


def text(body: str = "Thanks for telling us.", to: str = RESIDENT) -> dict[str, Any]:
    return message("text", {"body": body, "preview_url": False}, to)


def buttons(*titles: str, body: str = "How was your visit?") -> dict[str, Any]:
    replies = [
        {"type": "reply", "reply": {"id": f"b{i}", "title": t}} for i, t in enumerate(titles)
    ]
    action = {"buttons": replies}
    return message("interactive", {"type": "button", "body": {"text": body}, "action": action})


def template(name: str = "checkin_reminder") -> dict[str, Any]:
    body = [{"type": "body", "parameters": [{"type": "text", "text": "Sam"}]}]
    content = {"name": name, "language": {"code": "en_GB"}, "components": body}
    return message("template", content)


async def post(
    http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await http.post(f"/{PHONE_NUMBER_ID}/messages", json=body, headers=headers)


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["fbtrace_id"], str)
    return error
