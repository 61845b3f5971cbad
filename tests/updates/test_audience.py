"""Who an update reaches: exactly the residents issue 8 names, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from models import audience
from models import updates as service
from models.db import Database
from models.repositories import ConsentRepository
from models.tables import Delivery, MessageTag, Resident, Update
from tests.updates.conftest import NOW
from tests.updates.seeding import Someone, alert, seed


def housing(**terms: object) -> service.UpdateDraft:
    values: dict[str, object] = {
        "title": "Damp repairs",
        "body": "The council has fixed damp in 40 flats on the estate.",
        "themes": ["housing"],
        "send_at": NOW,
    }
    values.update(terms)
    return service.UpdateDraft(**values)  # type: ignore[arg-type]


async def members(db: Database, draft: service.UpdateDraft) -> set[str]:
    async with db.transaction() as session:
        row = await service.create_update(session, draft, None, NOW)
        query = audience.audience_of(row, NOW).with_only_columns(Resident.address)
        return set((await session.execute(query)).scalars().all())


async def test_theme_consent_and_status_decide_the_audience(db: Database) -> None:
    async with db.transaction() as session:
        await seed(session, Someone("a"), NOW)
        await seed(session, Someone("b", hear_back=False), NOW)
        await seed(session, Someone("c", themes=("green_spaces",), text="the park"), NOW)
        await seed(session, Someone("never-asked", hear_back=None), NOW)
        await seed(session, Someone("staff-tagged", tag_source="staff"), NOW)
        await seed(session, Someone("web", channel="web"), NOW)
        await seed(session, Someone("console", channel="console"), NOW)
        await seed(session, Someone("long-ago", days_ago=200), NOW)
        stopped = await seed(session, Someone("stopped"), NOW)
        stopped.stopped_at = NOW
        gone = await seed(session, Someone("unreachable"), NOW)
        gone.unreachable_at = NOW
        paused = await seed(session, Someone("paused"), NOW)
        paused.paused_at = NOW
        await alert(session, await seed(session, Someone("alert-open"), NOW))
        await alert(session, await seed(session, Someone("alert-closed"), NOW), status="closed")
    assert await members(db, housing()) == {"a", "staff-tagged", "web", "alert-closed"}


async def test_a_removed_tag_does_not_count(db: Database) -> None:
    async with db.transaction() as session:
        await seed(session, Someone("corrected"), NOW)
        await session.execute(update(MessageTag).values(removed_at=NOW))
    assert await members(db, housing()) == set()


async def test_the_latest_hear_back_decision_counts(db: Database) -> None:
    async with db.transaction() as session:
        changed_mind = await seed(session, Someone("yes-then-no"), NOW)
        await ConsentRepository(session).record(
            changed_mind, "hear_back", False, "hear_back-v1", NOW
        )
        came_round = await seed(session, Someone("no-then-yes", hear_back=False), NOW)
        await ConsentRepository(session).record(came_round, "hear_back", True, "hear_back-v1", NOW)
        withdrawn = await seed(session, Someone("withdrawn"), NOW)
        await ConsentRepository(session).withdraw(withdrawn.id, NOW)
    assert await members(db, housing()) == {"no-then-yes"}


async def test_areas_and_period_narrow_it(db: Database) -> None:
    async with db.transaction() as session:
        await seed(session, Someone("ls9", area="LS9"), NOW)
        await seed(session, Someone("harehills", area="Harehills"), NOW)
        await seed(session, Someone("nowhere"), NOW)
        await seed(session, Someone("ls9-old", area="LS9", days_ago=40), NOW)
    assert await members(db, housing(areas=["ls9", "Harehills"])) == {"ls9", "harehills", "ls9-old"}
    assert await members(db, housing(areas=["LS9"], period_days=30)) == {"ls9"}


async def test_materialising_twice_queues_each_resident_once(db: Database) -> None:
    async with db.transaction() as session:
        for n in range(7):
            await seed(session, Someone(f"r{n}"), NOW)
        row = await service.create_update(session, housing(), None, NOW)
    async with db.transaction() as session:
        assert await audience.materialise(session, row.id, NOW) == 7
    async with db.transaction() as session:
        assert await audience.materialise(session, row.id, NOW) is None  # no longer scheduled
        await session.execute(update(Update).where(Update.id == row.id).values(status="scheduled"))
        await seed(session, Someone("late"), NOW)
        assert await audience.materialise(session, row.id, NOW) == 1  # only the new one
    async with db.sessions() as session:
        per_resident = await session.execute(
            select(Delivery.resident_id, func.count()).group_by(Delivery.resident_id)
        )
        assert sorted(n for _, n in per_resident.all()) == [1] * 8
        counts = await audience.delivery_counts(session, row.id)
    assert counts["queued"] == 8
    assert counts["audience"] == 8


async def test_a_failed_materialisation_leaves_nothing(db: Database) -> None:
    async with db.transaction() as session:
        await seed(session, Someone("a"), NOW)
        row = await service.create_update(session, housing(), None, NOW)
    try:
        async with db.transaction() as session:
            assert await audience.materialise(session, row.id, NOW) == 1
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    async with db.sessions() as session:
        assert (await service.get_update(session, row.id)).status == "scheduled"
        assert await audience.delivery_counts(session, row.id) == {
            **dict.fromkeys(("audience", "queued", "sent", "delivered", "read", "failed"), 0),
            **dict.fromkeys(("skipped", "cancelled", "replied"), 0),
        }


async def test_cancel_before_and_during_sending(db: Database) -> None:
    async with db.transaction() as session:
        for n in range(3):
            await seed(session, Someone(f"r{n}"), NOW)
        later = await service.create_update(
            session, housing(send_at=NOW + timedelta(days=1)), None, NOW
        )
        held = await service.create_update(session, housing(), None, NOW)
    async with db.transaction() as session:
        assert (await service.cancel(session, later.id)).status == "cancelled"
        assert await service.due(session, NOW + timedelta(days=2)) == [held.id]
        await audience.materialise(session, held.id, NOW)
        await service.cancel(session, held.id)
    async with db.sessions() as session:
        counts = await audience.delivery_counts(session, held.id)
        assert (await service.get_update(session, held.id)).status == "cancelled"
    assert (counts["cancelled"], counts["queued"]) == (3, 0)


async def test_small_counts_are_suppressed() -> None:
    assert [audience.suppressed(n) for n in (0, 1, 4, 5, 12)] == [
        "0",
        "fewer than 5",
        "fewer than 5",
        "5",
        "12",
    ]


async def test_mistakes_change_nothing(db: Database) -> None:
    bad = [
        housing(title=""),
        housing(body="x" * (service.MAX_BODY + 1)),
        housing(themes=[]),
        housing(themes=["nope"], known_themes=["housing"]),
        housing(period_days=0),
    ]
    for draft in bad:
        async with db.transaction() as session:
            try:
                await service.create_update(session, draft, None, NOW)
            except service.UpdateError:
                continue
            raise AssertionError(f"accepted {draft}")
    async with db.sessions() as session:
        assert await service.list_updates(session) == []
