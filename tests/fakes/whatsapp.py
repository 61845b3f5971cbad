"""A fake WhatsApp Business Cloud API (Graph API) on real loopback HTTP, and webhook builders.

    async with FakeGraph(phone_number_id="1234567890", access_token="EAAG-test") as graph:
        payload = text_message("447700900123", "hello", graph=graph)  # opens the 24 h window
        ...  # the channel posts to f"{graph.base_url}/{graph.phone_number_id}/messages"
        [sent] = await graph.wait_for_sent(1)

Sources read (Meta's pages through the docs search and verbatim Markdown copies of them, fetched
2026-09-11, found in the code index), and what was checked against each:

* whatsapp/messages/text-messages: ``POST /<API_VERSION>/<PHONE_NUMBER_ID>/messages`` with
  ``Authorization: Bearer``; body ``messaging_product``, ``recipient_type: individual``, ``to``,
  ``type: text``, ``text: {preview_url, body}``; body max 4096 characters. The response is
  ``{messaging_product, contacts: [{input, wa_id}], messages: [{id: "wamid..."}]}``, where
  ``input`` echoes ``to`` (``+16505551234``) and ``wa_id`` is its digits.
* whatsapp/messages/interactive-reply-buttons-messages: ``interactive.type: button``; body text
  max 1024; up to 3 buttons of ``{type: reply, reply: {id, title}}``; id max 256; title max 20
  and unique; footer max 60; ``button_reply {id, title}`` webhook with ``context {from, id}``.
* whatsapp/messages/interactive-list-messages: ``interactive.type: list``; body max 4096;
  ``action.button`` max 20; up to 10 sections, section title required, max 24; at least one and
  at most 10 rows in all; row id max 200, title max 24, description max 72; header text only,
  max 60; ``list_reply {id, title, description}`` webhook.
* whatsapp/support/error-codes: ``{"error": {message, type, code, error_data: {messaging_product,
  details}, error_subcode, fbtrace_id}}``; ``message`` is ``"(#<code>) <title>"``, e.g.
  ``(#130429) Rate limit hit`` of type ``OAuthException``; ``error_subcode`` "will not be returned
  in v16.0+ responses", so it is left out. The ``details`` of each code are the page's; titles
  are its earlier table's, or as real responses quoted by providers and SDKs show them (132001's
  "Template name does not exist in the translation"). Errors come "synchronously as a Graph API
  response, asynchronously via Webhook, or sometimes through both": 131047 and 131026 often
  arrive only as a failed status webhook, which ``delivery_errors="webhook"`` reproduces.
* HTTP statuses: the current error-codes page has no status column and says to build handling on
  ``code``, not on HTTP status. The statuses used are the page's earlier "HTTP Status Code"
  column (read in a verbatim copy): 190 -> 401; 100, 130429, 131008, 131009, 131026, 131047,
  131051, 131056, 132000 -> 400; 132001 -> 404; 131000, 131016 -> 500. Some providers relay
  throttling as 429: ``fail_next(130429, http_status=429)``.
* Graph API error handling: 190 is an ``OAuthException`` raised by Graph itself, so its message
  has no ``(#190)`` title and there is no ``error_data`` (the wording here is illustrative).
* whatsapp/webhooks/reference/messages/{text,image,status,unsupported,reaction,location} and the
  two interactive pages: envelope ``{object: whatsapp_business_account, entry: [{id, changes:
  [{value, field: messages}]}]}``; ``value`` has ``messaging_product``, ``metadata
  {display_phone_number, phone_number_id}``, ``contacts [{profile: {name}, wa_id}]``, ``messages
  [{from, id, timestamp, type, <type>: {...}}]`` or ``statuses [{id, status, timestamp,
  recipient_id, errors: [{code, title, message, error_data: {details}, href}]}]``; timestamps are
  strings of Unix seconds; statuses are sent, delivered, read, failed (and played).
* Graph API webhooks, "Validating Payloads": ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
  the raw payload keyed with the app secret>``; verification requests carry ``hub.mode=subscribe``,
  ``hub.verify_token`` and ``hub.challenge``, which the endpoint echoes.

Rules of the fake: a free-form (non-template) send needs an inbound message from that wa_id in
the last 24 hours (``customer_wrote``; the builders call it when given ``graph=``), else 131047;
a template needs its name in ``approved_templates``, else 132001. Validation: a missing field,
a wrong JSON type or an unknown type/enum value is 100; a value outside a documented limit (too
long, too many, empty, duplicate) is 131009. Lengths are counted in code points. Interactive
types other than button and list, and media, location and contacts beyond their required keys,
are not modelled. 131051 appears in inbound ``unsupported`` webhooks, as Meta sends them.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, NamedTuple, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes import LoopbackServer

Json = dict[str, Any]

GRAPH_VERSION = "v21.0"
ACCESS_TOKEN = "EAAG-test"
PHONE_NUMBER_ID = "1234567890"
DISPLAY_PHONE_NUMBER = "447700900000"  # Ofcom's drama range: never a real number
WABA_ID = "1098765432"
WINDOW = timedelta(hours=24)
ERROR_CODES_HREF = "/documentation/business-messaging/whatsapp/support/error-codes"
MEDIA_TYPES = ("audio", "document", "image", "sticker", "video")
SEND_TYPES = (*MEDIA_TYPES, "contacts", "interactive", "location", "reaction", "template", "text")
TEMPLATE_PARTS = ("header", "body", "button")
STATUSES = ("sent", "delivered", "read", "failed", "played")


class ErrorCode(NamedTuple):
    title: str
    details: str
    http_status: int


ERRORS: dict[int, ErrorCode] = {
    100: ErrorCode(
        "Invalid parameter",
        "The request included one or more unsupported or misspelled parameters.",
        400,
    ),
    190: ErrorCode(
        "Access token has expired", "Error validating access token: Session has expired.", 401
    ),
    130429: ErrorCode("Rate limit hit", "Cloud API message throughput has been reached.", 400),
    131000: ErrorCode(
        "Something went wrong", "Message failed to send due to an unknown error.", 500
    ),
    131008: ErrorCode(
        "Required parameter is missing", "The request is missing a required parameter.", 400
    ),
    131009: ErrorCode(
        "Parameter value is not valid", "One or more parameter values are invalid.", 400
    ),
    131016: ErrorCode("Service unavailable", "A service is temporarily unavailable.", 500),
    131026: ErrorCode("Message Undeliverable", "Unable to deliver message.", 400),
    131047: ErrorCode(
        "Re-engagement message",
        "More than 24 hours have passed since the recipient last replied to the sender number.",
        400,
    ),
    131051: ErrorCode("Unsupported message type", "Unsupported message type.", 400),
    131056: ErrorCode(
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone "
        "number in a short period of time.",
        400,
    ),
    132000: ErrorCode(
        "Number of parameters does not match the expected number of params",
        "The number of variable parameter values included in the request did not match the "
        "number of variable parameters defined in the template.",
        400,
    ),
    132001: ErrorCode(
        "Template name does not exist in the translation",
        "The template does not exist in the specified language or the template has not "
        "been approved.",
        404,
    ),
}


class Rejection(Exception):
    """A Graph API error answer; raised while handling a send, or queued by ``fail_next``."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        http_status: int | None = None,
        error_type: str = "OAuthException",
    ) -> None:
        known = ERRORS.get(code)
        if known is None and http_status is None:
            raise ValueError(f"error {code} is not in ERRORS: pass http_status")
        self.code = code
        self.title = known.title if known else "Error"
        self.details = details or (known.details if known else self.title)
        self.http_status = http_status or (known.http_status if known else 400)
        self.error_type = error_type
        super().__init__(f"(#{code}) {self.title}: {self.details}")

    def body(self, fbtrace_id: str) -> Json:
        error: Json = {"message": f"(#{self.code}) {self.title}", "type": self.error_type}
        if self.code == 190 or self.error_type != "OAuthException":
            # Graph's own errors (a bad token, an unknown node): plain message, no error_data.
            error["message"] = self.details
        else:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        return {"error": {**error, "code": self.code, "fbtrace_id": fbtrace_id}}


# --- Validation of a send, as documented ---------------------------------------------------


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


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
    return _digits(to)


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


# --- The fake Graph API --------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One POST to /messages, whatever came of it."""

    body: Any  # the parsed JSON, or None if it was not JSON
    received_at: float  # time.monotonic()
    status: int
    error_code: int | None


@dataclass(frozen=True)
class Sent:
    """One accepted message."""

    body: Json
    wamid: str
    wa_id: str
    received_at: float  # time.monotonic()
    at: datetime  # the fake's clock


@dataclass(frozen=True)
class RateViolation:
    start: float  # seconds after the first attempt
    count: int


def rate_violations_in(times: Sequence[float], per_second: float) -> list[RateViolation]:
    """Windows [t, t + 1 s), one opened at each time t, that hold more than ``per_second`` times.

    Any one-second interval holding n times can slide right until it opens at one of them and
    still hold all n, so these windows find every excess. Half-open: two sends exactly 1 s apart
    are never in one window. A burst is reported once per send that opens an over-limit window.
    """
    ordered = sorted(times)
    found = []
    for i, start in enumerate(ordered):
        count = bisect.bisect_left(ordered, start + 1.0, lo=i) - i
        if count > per_second:
            found.append(RateViolation(round(start - ordered[0], 6), count))
    return found


class FakeGraph:
    """The Cloud API's send endpoint, served on 127.0.0.1 while the ``async with`` lasts.

    ``attempts`` records every POST to /messages; ``sent`` only the accepted ones. With
    ``delivery_errors="webhook"`` a send to a closed window or an unreachable number is answered
    200 with a wamid, kept out of ``sent``, and its failed status webhook is appended to
    ``status_webhooks`` for the test to post to the channel.
    """

    def __init__(
        self,
        *,
        phone_number_id: str = PHONE_NUMBER_ID,
        access_token: str = ACCESS_TOKEN,
        version: str = GRAPH_VERSION,
        approved_templates: Iterable[str] = (),
        delivery_errors: Literal["response", "webhook"] = "response",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.phone_number_id = phone_number_id
        self.access_token = access_token
        self.version = version
        self.approved_templates = set(approved_templates)
        self.delivery_errors = delivery_errors
        self.clock = clock or (lambda: datetime.now(UTC))
        self.base_url = ""
        self.attempts: list[Attempt] = []
        self.sent: list[Sent] = []
        self.status_webhooks: list[Json] = []
        self._last_inbound: dict[str, datetime] = {}
        self._unreachable: set[str] = set()
        self._injected: deque[Rejection] = deque()
        self._wamids = itertools.count(1)
        self._arrived = asyncio.Event()
        self.app = Starlette(
            routes=[Route("/{version}/{phone_number_id}/messages", self._post, methods=["POST"])]
        )
        self._serving = LoopbackServer(self.app)

    async def __aenter__(self) -> Self:
        await self._serving.__aenter__()
        self.base_url = f"{self._serving.url}/{self.version}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._serving.__aexit__(exc_type, exc, traceback)

    # What the test declares.

    def customer_wrote(self, wa_id: str, at: datetime | None = None) -> None:
        """Record an inbound message, which opens (or renews) the 24-hour window."""
        wa_id, at = _digits(wa_id), at or self.clock()
        self._last_inbound[wa_id] = max(at, self._last_inbound.get(wa_id, at))

    def window_open(self, wa_id: str) -> bool:
        last = self._last_inbound.get(_digits(wa_id))
        return last is not None and self.clock() - last <= WINDOW

    def fail_next(
        self,
        code: int,
        *,
        http_status: int | None = None,
        count: int = 1,
        details: str | None = None,
    ) -> None:
        """Answer the next ``count`` sends with this error (after the token and path checks)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        for _ in range(count):
            self._injected.append(Rejection(code, details, http_status=http_status))

    def unreachable(self, wa_id: str) -> None:
        """Every send to this number fails with 131026, as for a number not on WhatsApp."""
        self._unreachable.add(_digits(wa_id))

    # What the test reads.

    def messages_to(self, wa_id: str) -> list[Json]:
        """The bodies of the accepted sends to this number, oldest first."""
        return [sent.body for sent in self.sent if sent.wa_id == _digits(wa_id)]

    async def wait_for_sent(self, count: int, timeout: float = 5.0) -> list[Sent]:  # noqa: ASYNC109
        """Wait until at least ``count`` messages were accepted; return them all."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.sent) < count:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            tried = [(a.status, a.error_code) for a in self.attempts]
            raise AssertionError(
                f"{len(self.sent)} of {count} sends accepted in {timeout} s; attempts: {tried}"
            ) from None
        return list(self.sent)

    @property
    def send_times(self) -> list[float]:
        """``time.monotonic()`` at every POST to /messages, accepted or not."""
        return [attempt.received_at for attempt in self.attempts]

    def rate_violations(self, per_second: float) -> list[RateViolation]:
        """One-second windows over the limit, counting every attempt (see rate_violations_in)."""
        return rate_violations_in(self.send_times, per_second)

    # The endpoint.

    async def _post(self, request: Request) -> JSONResponse:
        received_at = time.monotonic()
        try:
            body: Any = json.loads(await request.body())
        except ValueError:
            body = None
        try:
            self._authorise(request)
            if not isinstance(body, dict):
                raise Rejection(100, "The request body must be a JSON object.")
            answer = self._send(body, received_at)
        except Rejection as rejection:
            self.attempts.append(Attempt(body, received_at, rejection.http_status, rejection.code))
            trace = f"AFAKE{uuid.uuid4().hex[:16]}"
            return JSONResponse(rejection.body(trace), status_code=rejection.http_status)
        self.attempts.append(Attempt(body, received_at, 200, None))
        return JSONResponse(answer)

    def _authorise(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            raise Rejection(190, "Invalid OAuth access token - Cannot parse access token")
        node = request.path_params["phone_number_id"]
        if node != self.phone_number_id:
            raise Rejection(
                100,
                f"Unsupported post request. Object with ID '{node}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation.",
                error_type="GraphMethodException",
            )

    def _send(self, body: Json, received_at: float) -> Json:
        if self._injected:
            raise self._injected.popleft()
        wa_id = validate_message(body)
        name = body["template"]["name"] if body["type"] == "template" else None
        if name is not None and name not in self.approved_templates:
            language = body["template"]["language"]["code"]
            raise Rejection(132001, f"template name ({name}) does not exist in {language}")
        failure = self._delivery_failure(body["type"], wa_id)
        if failure is not None and self.delivery_errors == "response":
            raise failure
        wamid = f"wamid.FAKE{next(self._wamids)}"
        if failure is not None:
            self.status_webhooks.append(
                status_update(wamid, "failed", wa_id, [failure.code], graph=self)
            )
        else:
            self.sent.append(Sent(body, wamid, wa_id, received_at, self.clock()))
            self._arrived.set()
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": wa_id}],
            "messages": [{"id": wamid}],
        }

    def _delivery_failure(self, kind: str, wa_id: str) -> Rejection | None:
        if wa_id in self._unreachable:
            return Rejection(131026)
        if kind != "template" and not self.window_open(wa_id):
            return Rejection(131047)
        return None


# --- Webhooks, as Meta posts them ----------------------------------------------------------


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
    wa_id = _digits(wa_id)
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
        ours = [sent.wamid for sent in graph.sent if sent.wa_id == _digits(wa_id)]
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
        "recipient_id": _digits(recipient_id),
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
