"""A fake Telegram Bot API server, speaking real HTTP on loopback, for testing the Telegram channel.

    async with FakeTelegram() as tg, Bot(tg.token, base_url=tg.base_url) as bot:
        tg.user_sends(42, "hello")
        updates = await bot.get_updates(timeout=1)

What it follows, and where it simplifies:

* Requests: ``{base_url}{token}/{method}``, GET or POST; method names are case-insensitive, as
  Telegram's are. Parameters come from the query string and an urlencoded, multipart or JSON
  body. python-telegram-bot (PTB) 22 posts a form in which strings are sent raw and every other
  value JSON-encoded (``chat_id=42``, ``drop_pending_updates=true``, ``reply_markup={...}``), so
  each method reads each parameter as the type it expects, as Telegram does.
* Answers: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description":
  ..., "parameters": {"retry_after": S}}`` with N as the HTTP status.
* Text is measured after entity parsing, trimmed, in UTF-16 code units (Telegram's unit for
  entities). HTML tags are checked; Markdown markup is only stripped; no ``entities`` come back.
* Any integer chat_id is a chat the bot may write to; ``block`` makes one answer 403.
* Updates wait until confirmed (polling) or accepted with a 2xx (webhook) and go out in
  update_id order. Confirming an ``offset`` forgets the updates below it that were already
  queued when the previous getUpdates answered: one queued later is new to the bot even if it
  reuses an old update_id, which is how ``queue_raw`` simulates a re-delivered duplicate.
* Webhook delivery is automatic: while a webhook is set, a background task POSTs each pending
  update, one at a time and in order, with ``X-Telegram-Bot-Api-Secret-Token``; it records each
  status in ``deliveries`` and drops an update after ``webhook_attempts`` failures. It connects
  only to loopback addresses, where plain http is allowed (Telegram insists on https).

Two things PTB does with these answers that tests must expect: a BadRequest's message loses
"Bad Request: " and is capitalize()d ("Bad Request: BUTTON_DATA_INVALID" reads
"Button_data_invalid"); and building RetryAfter warns (PTBDeprecationWarning, an error under
``filterwarnings = error``) unless the environment has ``PTB_TIMEDELTA=true``.

The package, by what each part knows: ``fake`` (FakeTelegram: serving, routing, the test's
controls and readings), ``residents`` (the updates residents send), ``receiving`` (getUpdates and
webhook delivery), ``sending`` (messages, edits, answers to buttons), ``commands`` (the command
menu), ``state`` and ``updates`` (what the fake remembers), ``requests`` and ``rules`` (reading a
request, and refusing it as Telegram does), ``records`` (what tests read).
"""

from __future__ import annotations

from tests.fakes.telegram.fake import FakeTelegram
from tests.fakes.telegram.records import (
    ApiCall,
    CallbackAnswer,
    Edit,
    RateViolations,
    SentMessage,
    Webhook,
    WebhookDelivery,
)
from tests.fakes.telegram.rules import TOKEN

__all__ = [
    "TOKEN",
    "ApiCall",
    "CallbackAnswer",
    "Edit",
    "FakeTelegram",
    "RateViolations",
    "SentMessage",
    "Webhook",
    "WebhookDelivery",
]
