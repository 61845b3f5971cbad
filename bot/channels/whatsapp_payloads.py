"""WhatsApp Cloud API message bodies built from replies, always within Meta's limits.

Limits (Meta's interactive reply-button and list message pages): at most 3 reply buttons with
titles of at most 20 characters and a body of at most 1024; a list of at most 10 rows with
titles of at most 24 characters, descriptions of at most 72, and a button label of at most 20.
"""

from __future__ import annotations

from typing import Any

from flows.types import Choice, Reply

CALLBACK_VERSION = "v1"
MAX_TEXT = 4096
MAX_BUTTON_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
LIST_BUTTON = "Choose an answer"

Json = dict[str, Any]


def shorten(label: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis so the meaning survives, within `limit`."""
    if len(label) <= limit:
        return label
    cut = label[: limit - 1].rsplit(" ", 1)[0] or label[: limit - 1]
    return cut.rstrip(" ,.;:-") + "…"


def choice_id(choice: Choice) -> str:
    return f"{CALLBACK_VERSION}:{choice.value}"


def parse_choice_id(raw: str) -> str | None:
    """The choice value from a button or row id; None for another version's id."""
    version, _, value = raw.partition(":")
    return value if version == CALLBACK_VERSION and value else None


def _with_full_labels(text: str, choices: tuple[Choice, ...], limit: int) -> str:
    """When a title had to be shortened, the body lists every option in full."""
    if all(len(c.label) <= limit for c in choices):
        return text
    options = "\n".join(f"{n}. {c.label}" for n, c in enumerate(choices, start=1))
    return f"{text}\n\n{options}"


def _envelope(to: str, kind: str, content: Json) -> Json:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: content,
    }


def text_body(to: str, text: str) -> Json:
    return _envelope(to, "text", {"preview_url": False, "body": text[:MAX_TEXT]})


def message_body(to: str, reply: Reply) -> list[Json]:
    """One or two request bodies for a reply: plain text, reply buttons, or a list."""
    if not reply.choices:
        return [text_body(to, reply.text)]
    if len(reply.choices) <= MAX_BUTTONS:
        return _buttons(to, reply)
    return _list(to, reply)


def _buttons(to: str, reply: Reply) -> list[Json]:
    body = _with_full_labels(reply.text, reply.choices, MAX_BUTTON_TITLE)
    lead: list[Json] = []
    if len(body) > MAX_BUTTON_BODY:  # the long part goes first as text; the question stays
        head, _, question = body.rpartition("\n\n")
        lead = [text_body(to, head)] if head else []
        body = question if head else body
    buttons = [
        {
            "type": "reply",
            "reply": {"id": choice_id(c), "title": shorten(c.label, MAX_BUTTON_TITLE)},
        }
        for c in reply.choices
    ]
    interactive = {
        "type": "button",
        "body": {"text": body[:MAX_BUTTON_BODY]},
        "action": {"buttons": buttons},
    }
    return [*lead, _envelope(to, "interactive", interactive)]


def _list(to: str, reply: Reply) -> list[Json]:
    choices = reply.choices[:MAX_ROWS]
    rows = []
    for c in choices:
        row: Json = {"id": choice_id(c), "title": shorten(c.label, MAX_ROW_TITLE)}
        if len(c.label) > MAX_ROW_TITLE:
            row["description"] = shorten(c.label, MAX_ROW_DESCRIPTION)
        rows.append(row)
    body = _with_full_labels(reply.text, choices, MAX_ROW_TITLE)
    interactive = {
        "type": "list",
        "body": {"text": body[:MAX_TEXT]},
        "action": {"button": LIST_BUTTON, "sections": [{"title": "Answers", "rows": rows}]},
    }
    return [_envelope(to, "interactive", interactive)]


def template_body(to: str, name: str, language: str, text: str) -> Json:
    """An approved template with the update's text as its one body variable."""
    parameters = [{"type": "text", "text": text[:1024]}]
    template = {
        "name": name,
        "language": {"code": language},
        "components": [{"type": "body", "parameters": parameters}],
    }
    return _envelope(to, "template", template)
