"""Telegram's limits and wording, and the checks by which it refuses a message or a webhook."""

from __future__ import annotations

import html
import itertools
import re
from urllib.parse import urlsplit

from tests.fakes.telegram.records import JSON
from tests.fakes.telegram.requests import ApiError, Params, bad

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


def message_text(params: Params) -> tuple[str, str, str | None]:
    """(as sent, as shown, parse_mode) of the text parameter, or Telegram's refusal."""
    source = params.text("text") or ""
    parse_mode = params.text("parse_mode") or None
    mode = (parse_mode or "").lower()
    if mode not in ("", "html", "markdown", "markdownv2"):
        raise bad("unsupported parse_mode")
    if mode == "html":
        shown = _parse_html(source).strip()
    else:
        shown = (_parse_markdown(source) if mode else source).strip()
    if not shown:
        raise bad("message text is empty")
    if len(shown.encode("utf-16-le")) // 2 > MAX_TEXT_LENGTH:
        raise bad("message is too long")
    return source, shown, parse_mode


def _unparsable(detail: str) -> ApiError:
    return bad(f"can't parse entities: {detail}")


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


def reply_markup(params: Params, *, inline_only: bool) -> JSON | None:
    """The reply_markup parameter, checked; with `inline_only`, only an inline keyboard will do."""
    unparsable = "can't parse reply keyboard markup JSON object"
    markup = params.structure("reply_markup", unparsable=unparsable)
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad("object expected as reply markup")
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif inline_only:
        raise bad("inline keyboard expected")
    elif not markup.keys() & {"keyboard", "remove_keyboard", "force_reply"}:
        raise bad(unparsable)
    return markup


def _check_inline_keyboard(rows: object) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in itertools.chain.from_iterable(rows):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad("can't parse inline keyboard button: Text must be a String")
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise bad("BUTTON_DATA_INVALID")
        elif not button.keys() & BUTTON_ACTIONS:
            raise bad(
                "can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard"
            )


def check_webhook_url(url: str) -> None:
    """Refuse a webhook URL Telegram would refuse; loopback may be plain http, for tests."""
    parts = urlsplit(url)
    if parts.hostname in LOOPBACK_HOSTS and parts.scheme in ("http", "https"):
        return
    if parts.scheme != "https" or not parts.hostname:
        raise bad("bad webhook: An HTTPS URL must be provided for webhook")
    if (parts.port or 443) not in WEBHOOK_PORTS:
        raise bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
