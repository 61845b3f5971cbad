"""Replies claimed by the inbound transaction and sent by the channel straight after commit.

The claim is a delivery row marked 'sending' in the same transaction as the message; these
tests take the two halves apart to show that a crash between them loses nothing and that the
queue never overtakes a reply that is on its way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.messages import InboundMessage, InboundResult
from flows.types import Incoming, IncomingKind
from models.tables import Delivery
from tests.channels.conftest import AppFactory, delivery_statuses, runtime_of
from tests.fakes.telegram import FakeTelegram

CHAT = 7001


def said(text: str, number: int) -> InboundMessage:
    """What the Telegram adapter hands over, claiming its replies for sending at once."""
    incoming = Incoming(IncomingKind.TEXT, datetime.now(UTC), text=text)
    return InboundMessage(
        "telegram", str(CHAT), incoming, channel_message_id=f"{CHAT}:{number}", send_at_once=True
    )


async def test_a_claimed_reply_is_marked_sending_in_the_same_transaction(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app() as app:
        result = await runtime_of(app).inbound.handle(said("hello", 1))
        claimed = [r.claimed_delivery for r in result.replies]
        assert len(claimed) == 1 and claimed[0] is not None
        async with runtime_of(app).sessions() as session:
            row = await session.get(Delivery, claimed[0])
        assert row is not None and row.status == "sending"
        # Not the worker's to send: nothing goes out until the channel sends it.
        app.state.telegram.worker.notify()
        assert await delivery_statuses(app, {"sent"}, seconds=0.6) == {"sending"}
        assert telegram.messages_to(CHAT) == []
        await app.state.telegram.worker.send_claimed(said("hello", 1), result)
        assert await delivery_statuses(app, {"sent"}) == {"sent"}
        assert len(telegram.messages_to(CHAT)) == 1


async def test_a_crash_between_commit_and_send_sends_once_after_restart(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app() as app:
        await runtime_of(app).inbound.handle(said("hello", 1))  # the process dies here
    assert telegram.messages_to(CHAT) == []
    async with telegram_app() as app:
        assert await delivery_statuses(app, {"sent"}) == {"sent"}
        sent = await telegram.wait_for_sent(1, chat_id=CHAT)
        assert len(sent) == 1 and "What matters most" in sent[0].text


async def test_the_queue_never_overtakes_a_reply_on_its_way(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app() as app:
        inbound = runtime_of(app).inbound
        first = await inbound.handle(said("hello", 1))
        # The resident writes again before the first reply went out: this one queues.
        second = await inbound.handle(said("the buses", 2))
        assert all(r.claimed_delivery is None for r in second.replies)
        app.state.telegram.worker.notify()
        assert await delivery_statuses(app, set(), seconds=0.6) == {"sending", "queued"}
        assert telegram.messages_to(CHAT) == []
        await app.state.telegram.worker.send_claimed(said("hello", 1), first)
        app.state.telegram.worker.notify()
        assert await delivery_statuses(app, {"sent"}) == {"sent"}
        texts = [m.text for m in telegram.messages_to(CHAT)]
        assert len(texts) == 2
        assert "What matters most" in texts[0] and "What matters most" not in texts[1]


async def test_when_the_channel_is_down_a_claimed_reply_goes_back_in_the_queue(
    telegram_app: AppFactory, telegram: FakeTelegram
) -> None:
    async with telegram_app() as app:
        worker = app.state.telegram.worker
        worker.down.add("telegram")
        result: InboundResult = await runtime_of(app).inbound.handle(said("hello", 1))
        await worker.send_claimed(said("hello", 1), result)
        async with runtime_of(app).sessions() as session:
            statuses = (await session.execute(select(Delivery.status))).scalars().all()
        assert statuses == ["queued"]
        assert telegram.messages_to(CHAT) == []
