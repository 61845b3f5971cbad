"""How the bot receives updates: getUpdates long polling, or a webhook the fake POSTs to."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import httpx

from tests.fakes.telegram.records import JSON, Webhook, WebhookDelivery
from tests.fakes.telegram.requests import ApiError, Params, bad
from tests.fakes.telegram.rules import (
    LOOPBACK_HOSTS,
    POLL_CONFLICT,
    SECRET_TOKEN,
    WEBHOOK_CONFLICT,
    check_webhook_url,
)
from tests.fakes.telegram.state import BotState
from tests.fakes.telegram.updates import Pending


class Receiving(BotState):
    """getUpdates, setWebhook, deleteWebhook and getWebhookInfo, and the webhook deliverer."""

    # --- Polling

    async def _get_updates(self, params: Params) -> list[JSON]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = params.integer("offset")
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        self._set_allowed_updates(params)
        if offset is not None:
            self._updates.confirm(offset)
        if self._poll is not None:
            self._poll.set()  # a newer getUpdates ends the one still waiting
            self._updates.wake()
        mine = self._poll = asyncio.Event()
        try:
            ready = await self._long_poll(limit, time.monotonic() + timeout, mine)
        finally:
            if self._poll is mine:
                self._poll = None
        self._updates.answered()
        return [entry.update for entry in ready]

    async def _long_poll(self, limit: int, deadline: float, mine: asyncio.Event) -> list[Pending]:
        while not (ready := self._updates.ready(limit)) and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wakeup = self._updates.wakeup
            self._waiting_polls += 1
            try:
                await asyncio.wait_for(wakeup.wait(), remaining)
            except TimeoutError:
                pass
            finally:
                self._waiting_polls -= 1
            if mine.is_set():
                raise ApiError(409, POLL_CONFLICT)
            if self._webhook is not None:
                raise ApiError(409, WEBHOOK_CONFLICT)
        return ready

    def _set_allowed_updates(self, params: Params) -> tuple[str, ...] | None:
        allowed = params.structure("allowed_updates", unparsable="can't parse allowed updates")
        if allowed is None:
            return None
        if not isinstance(allowed, list) or not all(isinstance(kind, str) for kind in allowed):
            raise bad("allowed updates must be an Array of Strings")
        self._updates.allowed = frozenset(allowed)
        return tuple(allowed)

    # --- Webhook

    async def _set_webhook(self, params: Params) -> bool:
        url = params.text("url") or ""
        if not url:
            return await self._delete_webhook(params)
        check_webhook_url(url)
        secret = params.text("secret_token") or None
        if secret is not None and len(secret) > 256:
            raise bad("secret token is too long")
        if secret is not None and not SECRET_TOKEN.fullmatch(secret):
            raise bad("secret token contains unallowed characters")
        max_connections = params.integer("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad("max_connections must be between 1 and 100")
        allowed_updates = self._set_allowed_updates(params)
        if params.flag("drop_pending_updates"):
            self._updates.pending.clear()
        self._webhook = Webhook(url, secret, allowed_updates, max_connections)
        self._webhook_error = None
        self._updates.wake()
        return True

    async def _delete_webhook(self, params: Params) -> bool:
        if params.flag("drop_pending_updates"):
            self._updates.pending.clear()
        self._webhook = None
        return True

    async def _get_webhook_info(self, params: Params) -> JSON:
        webhook = self._webhook
        info: JSON = {"url": webhook.url if webhook else "", "has_custom_certificate": False}
        info["pending_update_count"] = len(self._updates.pending)
        if webhook is not None:
            info["max_connections"] = webhook.max_connections
            if webhook.allowed_updates is not None:
                info["allowed_updates"] = list(webhook.allowed_updates)
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    # --- Webhook delivery, in the background while the fake runs

    async def _deliver_forever(self) -> None:
        while True:
            wakeup = self._updates.wakeup
            if not await self._deliver_next():
                await wakeup.wait()

    async def _deliver_next(self) -> bool:
        """POST the first pending update to the webhook; whether there was one to try."""
        webhook = self._webhook
        ready = self._updates.ready(1) if webhook is not None else []
        if webhook is None or not ready:
            return False
        if urlsplit(webhook.url).hostname not in LOOPBACK_HOSTS:
            self._webhook_error = (int(time.time()), "the fake delivers only to loopback hosts")
            return False
        entry = ready[0]
        status, error = await self._post_update(webhook, entry.update)
        update_id = entry.update["update_id"]
        self.deliveries.append(
            WebhookDelivery(update_id, webhook.url, status, error, time.monotonic())
        )
        entry.attempts += 1
        if status is not None and 200 <= status < 300:
            self._updates.forget(entry)
            return True
        self._webhook_error = (
            int(time.time()),
            error or f"Wrong response from the webhook: {status}",
        )
        if entry.attempts >= self.webhook_attempts:
            self._updates.forget(entry)
        else:
            await asyncio.sleep(self.webhook_retry_delay)
        return True

    async def _post_update(self, webhook: Webhook, update: JSON) -> tuple[int | None, str | None]:
        """(HTTP status, None) of one POST, or (None, why) if the bot could not be reached."""
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        try:
            body = json.dumps(update)
            self._client = self._client or httpx.AsyncClient(timeout=5.0)
            response = await self._client.post(webhook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, None
