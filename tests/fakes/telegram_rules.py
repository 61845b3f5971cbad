"""Rules of the fake Bot API: limits, request parameters, validation, and what it records."""

from __future__ import annotations

import html
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse

JSON = dict[str, Any]

TOKEN = "123456:TEST-token"
MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
PER_CHAT_PER_SECOND = 1.0
GLOBAL_PER_SECOND = 30.0
RATE_TOLERANCE = 0.05
FIRST_UPDATE_ID = 1000
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that hung up before the answer

BLOCKED = "Forbidden: bot was blocked by the user"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
# Update types a bot receives only when it names them in allowed_updates.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
COMMAND = re.compile(r"[a-z0-9_]{1,32}")
HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a"}
    | {"code", "pre", "blockquote", "tg-emoji"}
)
HTML_TAG = re.compile(r"<(/?)([^\s/>]*)[^>]*>|<")
BUTTON_ACTIONS = frozenset(
    {"url", "callback_data", "web_app", "login_url", "switch_inline_query", "pay", "copy_text"}
    | {"switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "callback_game"}
)


# --- What the fake records --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One sendMessage the fake accepted."""

    chat_id: int
    message_id: int
    text: str  # as the bot sent it, markup included
    parse_mode: str | None
    reply_markup: JSON | None
    at: float  # time.monotonic() on arrival

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """(label, callback_data) of each inline button, row by row."""
        return _buttons(self.reply_markup)


@dataclass(frozen=True, slots=True)
class Edit:
    """One accepted editMessageText or editMessageReplyMarkup."""

    method: str
    chat_id: int
    message_id: int
    text: str | None  # the new text as the bot sent it, for editMessageText
    reply_markup: JSON | None
    at: float


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """One accepted answerCallbackQuery."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    at: float


@dataclass(frozen=True, slots=True)
class Webhook:
    """The webhook as setWebhook left it."""

    url: str
    secret_token: str | None
    allowed_updates: tuple[str, ...] | None
    max_connections: int


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One POST of an update to the webhook; status is None when the bot could not be reached."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    at: float


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One request to the fake and the status it got (499 if the client had hung up)."""

    method: str
    params: JSON
    status: int
    at: float


@dataclass(frozen=True, slots=True)
class RateViolations:
    """Windows over Telegram's limits: across all chats, and per chat (only chats with any)."""

    overall: int
    per_chat: dict[int, int]

    @property
    def total(self) -> int:
        return self.overall + sum(self.per_chat.values())

    def __bool__(self) -> bool:
        return self.total > 0


@dataclass(slots=True)
class _Pending:
    seq: int
    update: JSON
    attempts: int = 0

    @property
    def key(self) -> tuple[int, int]:
        return (self.update["update_id"], self.seq)

    @property
    def kind(self) -> str:
        return next((key for key in self.update if key != "update_id"), "")


@dataclass(slots=True)
class _BotMessage:
    chat: JSON
    message_id: int
    text: str  # as shown, after entity parsing
    source: str  # as sent
    reply_markup: JSON | None  # inline keyboards only: Telegram returns no other markup
    date: int
    edit_date: int | None = None

    def as_dict(self, sender: JSON) -> JSON:
        message: JSON = {"message_id": self.message_id, "from": sender, "chat": self.chat}
        message |= {"date": self.date, "text": self.text}
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.reply_markup is not None:
            message["reply_markup"] = self.reply_markup
        return message


@dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    description: str
    retry_after: int | None


# --- Reading requests, and refusing them as Telegram does -------------------------------------


class _ApiError(Exception):
    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return JSONResponse(body, status_code=self.status)


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


def _too_many(retry_after: int) -> _ApiError:
    return _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


class _Params:
    """One request's parameters, each read as the type its method expects."""

    def __init__(self, values: JSON) -> None:
        self.values = values

    @classmethod
    async def read(cls, request: Request) -> _Params:
        values: JSON = dict(request.query_params)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                raise _bad("can't parse JSON encoded request") from None
            if not isinstance(body, dict):
                raise _bad("JSON object expected as request body")
            values.update(body)
        elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-")):
            async with request.form() as form:
                for key, value in form.multi_items():
                    values[key] = value if isinstance(value, str) else f"<file {value.filename}>"
        return cls(values)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value is None or isinstance(value, str) else json.dumps(value)

    def integer(self, name: str) -> int | None:
        number = self.number(name)
        if number is not None and not number.is_integer():
            raise _bad(f'field "{name}" must be a valid Number')
        return None if number is None else int(number)

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _bad(f'field "{name}" must be a valid Number') from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        return value is True or str(value).lower() in ("true", "1")

    def structure(self, name: str, *, unparsable: str) -> Any:
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value) if value else None
        except ValueError:
            raise _bad(unparsable) from None

    def chat_id(self) -> int:
        value = self.text("chat_id")
        if not value:
            raise _bad("chat_id is empty")
        try:
            return int(value)
        except ValueError:
            raise _bad("chat not found") from None  # an @username we do not know


def _unparsable(detail: str) -> _ApiError:
    return _bad(f"can't parse entities: {detail}")


def _parse_html(text: str) -> str:
    """The text an HTML message shows; refuses unknown or unbalanced tags, as Telegram does."""
    shown: list[str] = []
    open_tags: list[str] = []
    position = 0
    for match in HTML_TAG.finditer(text):
        shown.append(text[position : match.start()])
        position = match.end()
        offset = len(text[: match.start()].encode())
        name = (match.group(2) or "").lower()
        if name not in HTML_TAGS:
            raise _unparsable(f'Unsupported start tag "{name}" at byte offset {offset}')
        if match.group(1) != "/":
            open_tags.append(name)
        elif open_tags and open_tags[-1] == name:
            open_tags.pop()
        else:
            raise _unparsable(f'Unmatched end tag at byte offset {offset}, found "</{name}>"')
    if open_tags:
        raise _unparsable(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    shown.append(text[position:])
    return html.unescape("".join(shown))


def _parse_markdown(text: str) -> str:
    """Roughly what a Markdown or MarkdownV2 message shows: links' text, no markup, no escapes."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"\\(.)|[*_~`|]", r"\1", text)


def _message_text(params: _Params) -> tuple[str, str, str | None]:
    """(as sent, as shown, parse_mode) of the text parameter, or Telegram's refusal."""
    source = params.text("text") or ""
    parse_mode = params.text("parse_mode") or None
    mode = (parse_mode or "").lower()
    if mode not in ("", "html", "markdown", "markdownv2"):
        raise _bad("unsupported parse_mode")
    if mode == "html":
        shown = _parse_html(source).strip()
    else:
        shown = (_parse_markdown(source) if mode else source).strip()
    if not shown:
        raise _bad("message text is empty")
    if len(shown.encode("utf-16-le")) // 2 > MAX_TEXT_LENGTH:
        raise _bad("message is too long")
    return source, shown, parse_mode


def _reply_markup(params: _Params, *, inline_only: bool) -> JSON | None:
    unparsable = "can't parse reply keyboard markup JSON object"
    markup = params.structure("reply_markup", unparsable=unparsable)
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("object expected as reply markup")
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif inline_only:
        raise _bad("inline keyboard expected")
    elif not markup.keys() & {"keyboard", "remove_keyboard", "force_reply"}:
        raise _bad(unparsable)
    return markup


def _check_inline_keyboard(rows: object) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in itertools.chain.from_iterable(rows):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _bad("can't parse inline keyboard button: Text must be a String")
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad("BUTTON_DATA_INVALID")
        elif not button.keys() & BUTTON_ACTIONS:
            raise _bad(
                "can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard"
            )


def _buttons(markup: JSON | None) -> list[tuple[str, str | None]]:
    rows = (markup or {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data")) for b in itertools.chain.from_iterable(rows)]


def _check_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.hostname in LOOPBACK_HOSTS and parts.scheme in ("http", "https"):
        return
    if parts.scheme != "https" or not parts.hostname:
        raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
    if (parts.port or 443) not in WEBHOOK_PORTS:
        raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


def _windows_over(times: list[float], limit: float, window: float) -> int:
    """How many sends open a window [t, t + window) that holds more than `limit` sends."""
    count, end = 0, 0
    for start_index, start in enumerate(times):
        while end < len(times) and times[end] < start + window:
            end += 1
        if end - start_index > limit:
            count += 1
    return count


def _text_content(text: str) -> JSON:
    """A resident's text, with the bot_command entity PTB's CommandHandler looks for."""
    content: JSON = {"text": text}
    if text.startswith("/"):
        length = len(text.split(maxsplit=1)[0].encode("utf-16-le")) // 2
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return content


def _chat_type(chat_id: int) -> str:
    return "private" if chat_id > 0 else "group"


def _commands_key(scope: object, language_code: str) -> tuple[str, str]:
    return (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
