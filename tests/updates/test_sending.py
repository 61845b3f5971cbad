"""Sending updates through the delivery worker: quiet hours, the frequency cap, re-checks.

The clock is the test's: the worker and the update gate read it, so quiet hours and the
cap are exercised at chosen moments rather than waited for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.delivery import DeliveryWorker
from bot.settings import Settings, load_settings
from bot.updates import WEB, UpdateSending, WebChatSender, quiet_until
from flows import load_flows
from models import audience
from models import updates as service
from models.db import Database
from models.repositories import ConsentRepository
from models.tables import Conversation, Delivery, Message, Resident
from tests.updates.conftest import NOW
from tests.updates.seeding import Someone, alert, seed

LONDON = ZoneInfo("Europe/London")


@dataclass
class Clock:
    now: datetime = NOW
    ticks: list[datetime] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def set(self, hour: int, minute: int = 0, days: int = 0) -> None:
        """London wall-clock time on NOW's date (+ days)."""
        day = NOW.astimezone(LONDON).date() + timedelta(days=days)
        self.now = datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(None, database={"url": database_url})


@pytest.fixture
def worker(db: Database, settings: Settings, clock: Clock) -> DeliveryWorker:
    gate = UpdateSending(db, settings, load_flows(), clock=clock)
    return DeliveryWorker(db, {WEB: WebChatSender()}, gate=gate, clock=clock)


async def queue(db: Database, *people: Someone, themes: tuple[str, ...] = ("housing",)) -> int:
    """Seed `people`, create an update due now and put it in the outbox; its id."""
    async with db.transaction() as session:
        for who in people:
            await seed(session, who, NOW)
        draft = service.UpdateDraft("Damp repairs", "Fixed in 40 flats.", themes, send_at=NOW)
        row = await service.create_update(session, draft, None, NOW)
        await audience.materialise(session, row.id, NOW)
    return row.id


async def deliveries(db: Database) -> list[Delivery]:
    async with db.sessions() as session:
        return list((await session.execute(select(Delivery).order_by(Delivery.id))).scalars())


def test_quiet_hours_end_in_the_configured_zone() -> None:
    window = (time(21), time(8))
    winter_night = datetime(2026, 11, 16, 22, 30, tzinfo=UTC)
    assert quiet_until(winter_night, window, LONDON) == datetime(2026, 11, 17, 8, tzinfo=UTC)
    summer_morning = datetime(2026, 7, 1, 5, 0, tzinfo=UTC)  # 06:00 BST
    assert quiet_until(summer_morning, window, LONDON) == datetime(2026, 7, 1, 7, tzinfo=UTC)
    assert quiet_until(datetime(2026, 7, 1, 12, tzinfo=UTC), window, LONDON) is None
    assert quiet_until(winter_night, None, LONDON) is None
    daytime = (time(12), time(14))
    assert quiet_until(datetime(2026, 11, 16, 13, tzinfo=UTC), daytime, LONDON) == datetime(
        2026, 11, 16, 14, tzinfo=UTC
    )


async def test_an_update_due_in_quiet_hours_waits_until_they_end(
    db: Database, worker: DeliveryWorker, clock: Clock
) -> None:
    await queue(db, Someone("a", channel="web"))
    clock.set(22, 30)
    await worker.send_due()
    [waiting] = await deliveries(db)
    assert (waiting.status, waiting.not_before) == ("queued", datetime(2026, 11, 17, 8, tzinfo=UTC))
    clock.set(7, 59, days=1)
    assert await worker.send_due() == 0
    clock.set(8, 0, days=1)
    assert await worker.send_due() == 1
    [sent] = await deliveries(db)
    assert (sent.status, sent.sent_at) == ("sent", clock.now)


async def test_the_frequency_cap_holds_a_second_update_for_the_period(
    db: Database, worker: DeliveryWorker, clock: Clock
) -> None:
    first = await queue(db, Someone("a", channel="web"))
    await worker.send_due()
    second = await queue(db)  # the same resident raised housing: in this audience too
    clock.now = NOW + timedelta(hours=1)
    await worker.send_due()
    by_update = {d.update_id: d for d in await deliveries(db)}
    assert by_update[first].status == "sent"
    assert (by_update[second].status, by_update[second].not_before) == (
        "queued",
        NOW + timedelta(days=7),
    )
    clock.now = NOW + timedelta(days=7)
    await worker.send_due()
    assert {d.status for d in await deliveries(db)} == {"sent"}


async def test_consent_and_status_are_checked_again_at_the_moment_of_sending(
    db: Database, worker: DeliveryWorker
) -> None:
    await queue(db, *(Someone(name, channel="web") for name in ("keeps", "stops", "alert", "no")))
    async with db.transaction() as session:
        residents = {
            r.address: r for r in (await session.execute(select(Resident))).scalars().all()
        }
        residents["stops"].stopped_at = NOW
        await alert(session, residents["alert"])
        await ConsentRepository(session).record(residents["no"], "hear_back", False, "v1", NOW)
    await worker.send_due()
    outcome = {d.resident_id: (d.status, d.error) for d in await deliveries(db)}
    assert outcome == {
        residents["keeps"].id: ("sent", None),
        residents["stops"].id: ("skipped", "stopped"),
        residents["alert"].id: ("skipped", "open safeguarding alert"),
        residents["no"].id: ("skipped", "no hear_back consent"),
    }


async def test_a_sent_update_opens_a_check_back_conversation(
    db: Database, worker: DeliveryWorker
) -> None:
    update_id = await queue(db, Someone("a", channel="web"))
    await worker.send_due()
    async with db.sessions() as session:
        conversation = (await session.execute(select(Conversation))).scalar_one()
        message = (
            await session.execute(select(Message).where(Message.direction == "out"))
        ).scalar_one()
    assert (conversation.flow, conversation.update_id) == ("checkback", update_id)
    assert conversation.state["step"] == "helped"
    assert message.conversation_id == conversation.id
    assert message.text.endswith("Does this help?")
    assert [c["label"] for c in message.choices or []] == ["Yes", "Not really", "Tell us more"]


async def test_a_process_without_the_lock_leaves_updates_alone(
    db: Database, settings: Settings, clock: Clock
) -> None:
    await queue(db, Someone("a", channel="web"))
    follower = UpdateSending(db, settings, load_flows(), clock=clock, leader=lambda: False)
    worker = DeliveryWorker(db, {WEB: WebChatSender()}, gate=follower, clock=clock)
    assert await worker.send_due() == 0
    assert [d.status for d in await deliveries(db)] == ["queued"]


async def test_a_cancelled_update_is_not_sent(db: Database, worker: DeliveryWorker) -> None:
    update_id = await queue(db, Someone("a", channel="web"))
    async with db.transaction() as session:
        await service.cancel(session, update_id)
    assert await worker.send_due() == 0
    assert [d.status for d in await deliveries(db)] == ["cancelled"]
