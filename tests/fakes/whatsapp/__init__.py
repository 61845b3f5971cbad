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

The package: ``graph`` (FakeGraph and what it records), ``validation`` (the documented shapes and
limits of a send), ``errors`` (codes and error answers), ``webhooks`` (the builders above, and
signing), ``account`` (the test business account's ids and token).
"""

from __future__ import annotations

from tests.fakes.whatsapp.account import (
    ACCESS_TOKEN,
    DISPLAY_PHONE_NUMBER,
    GRAPH_VERSION,
    PHONE_NUMBER_ID,
    WABA_ID,
)
from tests.fakes.whatsapp.errors import (
    ERRORS,
    ErrorCode,
    Json,
    Rejection,
)
from tests.fakes.whatsapp.graph import (
    WINDOW,
    Attempt,
    FakeGraph,
    RateViolation,
    Sent,
    rate_violations_in,
)
from tests.fakes.whatsapp.validation import (
    MEDIA_TYPES,
    SEND_TYPES,
    TEMPLATE_PARTS,
    validate_message,
)
from tests.fakes.whatsapp.webhooks import (
    ERROR_CODES_HREF,
    STATUSES,
    button_reply,
    list_reply,
    media_message,
    sign,
    signed_post,
    status_update,
    text_message,
    verification_params,
)

__all__ = [
    "ACCESS_TOKEN",
    "DISPLAY_PHONE_NUMBER",
    "ERRORS",
    "ERROR_CODES_HREF",
    "GRAPH_VERSION",
    "MEDIA_TYPES",
    "PHONE_NUMBER_ID",
    "SEND_TYPES",
    "STATUSES",
    "TEMPLATE_PARTS",
    "WABA_ID",
    "WINDOW",
    "Attempt",
    "ErrorCode",
    "FakeGraph",
    "Json",
    "RateViolation",
    "Rejection",
    "Sent",
    "button_reply",
    "list_reply",
    "media_message",
    "rate_violations_in",
    "sign",
    "signed_post",
    "status_update",
    "text_message",
    "validate_message",
    "verification_params",
]
