"""Starting and stopping the push channels, the delivery worker and housekeeping together."""

from __future__ import annotations

import asyncio
import logging

from bot.channels.telegram import CHANNEL as TELEGRAM
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import CHANNEL as WHATSAPP
from bot.channels.whatsapp import WhatsAppChannel
from bot.delivery import DeliveryWorker, Sender
from bot.runtime import Runtime
from bot.scheduler import UpdateScheduler
from bot.updates import WEB, UpdateSending, WebChatSender

log = logging.getLogger("listening_post.channels")
STOP_GRACE_SECONDS = 10.0


class Channels:
    """The enabled channels and the background tasks that serve them."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        senders: dict[str, Sender] = {WEB: WebChatSender()}
        self.worker = DeliveryWorker(runtime.db, senders)
        # Updates ("you said, we did"): scheduled by whichever process holds the lock, sent
        # through the same worker, which asks `updates` before and after each one.
        self.scheduler = UpdateScheduler(runtime.db, runtime.settings, self.worker.notify)
        self.updates = UpdateSending(
            runtime.db, runtime.settings, runtime.flows, leader=self.scheduler.is_leader
        )
        self.worker.gate = self.updates
        self.telegram: TelegramChannel | None = None
        if runtime.settings.telegram.enabled:
            self.telegram = TelegramChannel(runtime.settings, runtime.inbound, self.worker)
            self.worker.senders[TELEGRAM] = self.telegram.sender
            runtime.inbound.push_channels.add(TELEGRAM)
        self.whatsapp: WhatsAppChannel | None = None
        if runtime.settings.whatsapp.enabled:
            self.whatsapp = WhatsAppChannel(
                runtime.settings, runtime.inbound, self.worker, runtime.db
            )
            self.worker.senders[WHATSAPP] = self.whatsapp.sender
            runtime.inbound.push_channels.add(WHATSAPP)
        self._stopping = asyncio.Event()
        self._housekeeping: asyncio.Task[None] | None = None
        self._delivery: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._housekeeping = asyncio.create_task(
            self.runtime.keep_tidy(self._stopping), name="housekeeping"
        )
        if self.worker.senders:
            self._delivery = asyncio.create_task(self.worker.run(), name="delivery")
        if self.telegram is not None:
            await self.telegram.start()
        await self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
        # Delivery stops before the channels close their clients: a send under way finishes
        # and is recorded, the rest stay queued, so a clean stop never sends anything twice.
        self.worker.stop()
        if self._delivery is not None:
            try:
                await asyncio.wait_for(self._delivery, STOP_GRACE_SECONDS)
            except TimeoutError:
                log.warning("delivery_stopped_mid_batch")
            self._delivery = None
        if self.telegram is not None:
            await self.telegram.stop()
        if self.whatsapp is not None:
            await self.whatsapp.stop()
        await self.worker.finished.drain()  # sends that ended are recorded before the pool closes
        self._stopping.set()
        if self._housekeeping is not None:
            await self._housekeeping
            self._housekeeping = None
