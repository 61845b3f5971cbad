"""Checking a send body against Meta's documented shapes and limits, as the Cloud API does."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.fakes.whatsapp.account import digits
from tests.fakes.whatsapp.errors import Json, Rejection

MEDIA_TYPES = ("audio", "document", "image", "sticker", "video")
SEND_TYPES = (*MEDIA_TYPES, "contacts", "interactive", "location", "reaction", "template", "text")
TEMPLATE_PARTS = ("header", "body", "button")


def _field(obj: Json, key: str, where: str, kind: type[Any], *, required: bool = True) -> Any:
    value = obj.get(key)
    if value is None and required:
        raise Rejection(100, f"The parameter {where}{key} is required.")
    if value is not None and not isinstance(value, kind):
        raise Rejection(100, f"Param {where}{key} must be a JSON {kind.__name__}.")
    return value


def _text(
    obj: Json, key: str, where: str, limit: int | None = None, *, required: bool = True
) -> str | None:
    value: str | None = _field(obj, key, where, str, required=required)
    if value is not None and required and not value.strip():
        raise Rejection(131009, f"{where}{key} must not be empty.")
    if value is not None and limit is not None and len(value) > limit:
        raise Rejection(131009, f"{where}{key} is {len(value)} characters; at most {limit}.")
    return value


def _count(items: list[Any], where: str, low: int, high: int) -> None:
    if not low <= len(items) <= high:
        raise Rejection(131009, f"{where} has {len(items)} entries; between {low} and {high}.")


def _unique(values: list[Any], where: str) -> None:
    if len(set(values)) != len(values):
        raise Rejection(131009, f"{where} must be unique within the message.")


def validate_message(body: Json) -> str:
    """Check a send body against Meta's documented shape and limits; return the recipient wa_id."""
    if body.get("messaging_product") != "whatsapp":
        raise Rejection(100, "Param messaging_product must be 'whatsapp'.")
    if body.get("recipient_type", "individual") != "individual":
        raise Rejection(100, "Param recipient_type must be 'individual'.")
    to = _field(body, "to", "", str)
    if not re.fullmatch(r"\+?\d{6,15}", to):
        raise Rejection(131009, f"Param to ({to!r}) is not a phone number.")
    kind = _field(body, "type", "", str)
    if kind not in SEND_TYPES:
        raise Rejection(100, f"Param type must be one of {{{', '.join(SEND_TYPES)}}}.")
    content = _field(body, kind, "", dict if kind != "contacts" else list)
    _CHECKS.get(kind, _check_media)(content)
    return digits(to)


def _check_text(text: Json) -> None:
    _text(text, "body", "text.", 4096)
    _field(text, "preview_url", "text.", bool, required=False)


def _check_interactive(interactive: Json) -> None:
    kind = _field(interactive, "type", "interactive.", str)
    if kind not in ("button", "list"):
        raise Rejection(100, f"interactive.type {kind!r}: this fake models button and list.")
    body = _field(interactive, "body", "interactive.", dict)
    _text(body, "text", "interactive.body.", 1024 if kind == "button" else 4096)
    header = _field(interactive, "header", "interactive.", dict, required=False)
    if header is not None and header.get("type") == "text":
        _text(header, "text", "interactive.header.", 60)
    footer = _field(interactive, "footer", "interactive.", dict, required=False)
    if footer is not None:
        _text(footer, "text", "interactive.footer.", 60)
    action = _field(interactive, "action", "interactive.", dict)
    (_check_buttons if kind == "button" else _check_list)(action)


def _check_buttons(action: Json) -> None:
    buttons: list[Any] = _field(action, "buttons", "interactive.action.", list)
    _count(buttons, "interactive.action.buttons", 1, 3)
    replies = []
    for index, button in enumerate(buttons):
        where = f"interactive.action.buttons[{index}]."
        if not isinstance(button, dict) or button.get("type") != "reply":
            raise Rejection(100, f"Param {where}type must be 'reply'.")
        reply: Json = _field(button, "reply", where, dict)
        replies.append(reply)
        _text(reply, "id", f"{where}reply.", 256)
        _text(reply, "title", f"{where}reply.", 20)
    _unique([reply["id"] for reply in replies], "interactive.action.buttons[].reply.id")
    _unique([reply["title"] for reply in replies], "interactive.action.buttons[].reply.title")


def _check_list(action: Json) -> None:
    _text(action, "button", "interactive.action.", 20)
    sections: list[Any] = _field(action, "sections", "interactive.action.", list)
    _count(sections, "interactive.action.sections", 1, 10)
    rows: list[Json] = []
    for s, section in enumerate(sections):
        where = f"interactive.action.sections[{s}]."
        if not isinstance(section, dict):
            raise Rejection(100, f"Param {where[:-1]} must be a JSON object.")
        _text(section, "title", where, 24)
        section_rows: list[Any] = _field(section, "rows", where, list)
        _count(section_rows, f"{where}rows", 1, 10)
        for r, row in enumerate(section_rows):
            if not isinstance(row, dict):
                raise Rejection(100, f"Param {where}rows[{r}] must be a JSON object.")
            _text(row, "id", f"{where}rows[{r}].", 200)
            _text(row, "title", f"{where}rows[{r}].", 24)
            _text(row, "description", f"{where}rows[{r}].", 72, required=False)
            rows.append(row)
    _count(rows, "interactive.action.sections[].rows (all sections together)", 1, 10)
    _unique([row["id"] for row in rows], "interactive.action.sections[].rows[].id")


def _check_template(template: Json) -> None:
    _text(template, "name", "template.")
    _text(_field(template, "language", "template.", dict), "code", "template.language.")
    for c, component in enumerate(_field(template, "components", "template.", list) or []):
        where = f"template.components[{c}]."
        if not isinstance(component, dict) or component.get("type") not in TEMPLATE_PARTS:
            raise Rejection(100, f"Param {where}type must be one of {{header, body, button}}.")
        for p, parameter in enumerate(_field(component, "parameters", where, list) or []):
            if not isinstance(parameter, dict) or not isinstance(parameter.get("type"), str):
                raise Rejection(100, f"Param {where}parameters[{p}].type is required.")
            if parameter["type"] == "text":
                _text(parameter, "text", f"{where}parameters[{p}].")


def _check_reaction(reaction: Json) -> None:
    _text(reaction, "message_id", "reaction.")
    _field(reaction, "emoji", "reaction.", str)  # "" takes a reaction back


def _check_media(media: Json) -> None:
    if not isinstance(media.get("id"), str) and not isinstance(media.get("link"), str):
        raise Rejection(100, "A media object needs an id (uploaded) or a link.")


def _check_location(location: Json) -> None:
    for key in ("latitude", "longitude"):  # documented as strings; numbers work too
        if not isinstance(location.get(key), int | float | str):
            raise Rejection(100, f"The parameter location.{key} is required.")


def _check_contacts(contacts: list[Any]) -> None:
    if not contacts:
        raise Rejection(100, "The parameter contacts is required.")


_CHECKS: dict[str, Callable[[Any], None]] = {
    "text": _check_text,
    "interactive": _check_interactive,
    "template": _check_template,
    "reaction": _check_reaction,
    "location": _check_location,
    "contacts": _check_contacts,
}
