"""Pre-aggregated counts for the dashboard: rebuilt from the messages, adjusted by corrections.

Reading a million messages per page view is too slow, so the overview and equity pages read
small tables of (week, kind, label, area, channel) -> messages, residents. Because a resident
has one area and one channel, distinct residents add up exactly across areas and channels
within a week (and across everything in the all-time totals).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, String, cast, delete, func, insert, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from models.base import utcnow
from models.repositories import Repository
from models.tables import (
    CountsRefresh,
    Erasure,
    EvidencePhrase,
    LabelTotal,
    Message,
    MessageTag,
    Resident,
    WeekCount,
)

ALL = "all"  # the kind of the rows counting every inbound message
PHRASES_PER_LABEL = 30
PHRASE_MIN_RESIDENTS = 5
COUNTS_LOCK = 7_207_001  # advisory lock id for writes to the dashboard counts
INSERT_BATCH = 5_000


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week `moment` falls in."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def week_column(dialect: str) -> ColumnElement[Any]:
    """SQL for the Monday of a message's week, on SQLite and PostgreSQL."""
    if dialect == "sqlite":
        return func.date(Message.created_at, "weekday 0", "-6 days")
    return cast(func.date_trunc("week", func.timezone("UTC", Message.created_at)), Date)


@dataclass(frozen=True)
class Cell:
    """Where one message counts."""

    kind: str
    label: str
    area: str
    channel: str


class CountsRepository(Repository):
    async def fingerprint(self) -> str:
        """Changes whenever messages, tags (added or removed), residents' areas or erasures do.

        Every part is an index lookup or a count of residents, so it is cheap to read.
        """
        query = select(
            select(func.max(MessageTag.id)).scalar_subquery(),
            select(func.max(MessageTag.removed_at)).scalar_subquery(),
            select(func.max(Message.id)).scalar_subquery(),
            select(func.count(Resident.id)).scalar_subquery(),
            select(func.count(Resident.area)).scalar_subquery(),
            select(func.max(Erasure.id)).scalar_subquery(),
        )
        row = (await self.session.execute(query)).one()
        return ":".join(str(value or 0) for value in row)

    async def last_refresh(self) -> CountsRefresh | None:
        return await self.session.get(CountsRefresh, 1)

    async def compute(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Weekly and all-time rows, read from the messages (no write lock taken)."""
        dialect = self.session.get_bind().dialect.name
        week = week_column(dialect).label("week")
        weekly = await self._grouped(week)
        totals = await self._grouped(None)
        return weekly, totals

    async def _grouped(self, week: ColumnElement[Any] | None) -> list[dict[str, Any]]:
        both = _tagged_and_every(week)
        area = func.coalesce(Resident.area, "").label("area")
        columns = [both.c.kind, both.c.label, area, Resident.channel]
        if week is not None:
            columns.insert(0, both.c.week)
        query = (
            select(
                *columns,
                func.count(func.distinct(both.c.message_id)),
                func.count(func.distinct(both.c.resident_id)),
            )
            .join(Resident, Resident.id == both.c.resident_id)
            .group_by(*columns)
        )
        names = [*(str(getattr(c, "key", "")) for c in columns), "messages", "residents"]
        rows = (await self.session.execute(query)).all()
        return [_row(names, values) for values in rows]

    async def compute_phrases(self) -> list[dict[str, Any]]:
        """Evidence phrases per theme (lower-cased), most frequent first, a few per theme."""
        phrase = func.lower(func.substr(MessageTag.evidence_text, 1, 200)).label("phrase")
        query = (
            select(
                MessageTag.label,
                phrase,
                func.count(func.distinct(MessageTag.message_id)),
                func.count(func.distinct(Message.resident_id)),
            )
            .join(Message, Message.id == MessageTag.message_id)
            .where(
                MessageTag.kind == "theme",
                MessageTag.removed_at.is_(None),
                MessageTag.evidence_text.is_not(None),
            )
            .group_by(MessageTag.label, phrase)
        )
        best: dict[str, list[dict[str, Any]]] = {}
        for label, text, messages, residents in (await self.session.execute(query)).all():
            if residents < PHRASE_MIN_RESIDENTS:
                continue  # never kept: a rare phrase could point at one person
            best.setdefault(label, []).append(
                {"label": label, "phrase": text, "messages": messages, "residents": residents}
            )
        return [
            row
            for rows in best.values()
            for row in sorted(rows, key=lambda r: -r["messages"])[:PHRASES_PER_LABEL]
        ]

    async def replace(
        self,
        weekly: list[dict[str, Any]],
        totals: list[dict[str, Any]],
        phrases: list[dict[str, Any]],
        fingerprint: str,
    ) -> None:
        """Swap in freshly computed counts (one short write)."""
        await self._serialise()
        for table, rows in ((WeekCount, weekly), (LabelTotal, totals), (EvidencePhrase, phrases)):
            await self.session.execute(delete(table))
            for start in range(0, len(rows), INSERT_BATCH):
                await self.session.execute(insert(table), rows[start : start + INSERT_BATCH])
        await self.session.execute(delete(CountsRefresh))
        self.session.add(CountsRefresh(id=1, fingerprint=fingerprint, refreshed_at=utcnow()))
        await self.session.flush()

    async def adjust(
        self, week: date, cell: Cell, messages: int, week_residents: int, residents: int
    ) -> None:
        """Add (or with negatives take away) one correction's effect, in place."""
        await self._serialise()
        keys = {"kind": cell.kind, "label": cell.label, "area": cell.area, "channel": cell.channel}
        await self._bump(WeekCount, {"week": week, **keys}, messages, week_residents)
        await self._bump(LabelTotal, keys, messages, residents)

    async def _bump(
        self, table: type[WeekCount] | type[LabelTotal], keys: dict[str, Any], m: int, r: int
    ) -> None:
        row: WeekCount | LabelTotal | None = await self.session.get(table, keys)
        if row is None:
            if m > 0:
                self.session.add(table(**keys, messages=m, residents=max(r, 0)))
        else:
            row.messages = max(row.messages + m, 0)
            row.residents = max(row.residents + r, 0)
        await self.session.flush()

    async def _serialise(self) -> None:
        """On PostgreSQL, writers of the counts take turns (until their transaction ends).

        SQLite has one writer at a time anyway.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(select(func.pg_advisory_xact_lock(COUNTS_LOCK)))

    async def weekly(
        self, kind: str, label: str, since: date, area: str | None = None
    ) -> list[tuple[date, int, int]]:
        """(week, messages, residents) for one label, every area and channel together."""
        query = (
            select(WeekCount.week, func.sum(WeekCount.messages), func.sum(WeekCount.residents))
            .where(WeekCount.kind == kind, WeekCount.label == label, WeekCount.week >= since)
            .group_by(WeekCount.week)
            .order_by(WeekCount.week)
        )
        if area is not None:
            query = query.where(WeekCount.area == area)
        rows = (await self.session.execute(query)).all()
        return [(week, int(m), int(r)) for week, m, r in rows]

    async def by_label(self, kind: str) -> list[tuple[str, int, int]]:
        """(label, messages, residents) over all time."""
        return await self._totals(LabelTotal.label, LabelTotal.kind == kind)

    async def by_area(self, kind: str = ALL, label: str = "") -> list[tuple[str, int, int]]:
        where = (LabelTotal.kind == kind) & (LabelTotal.label == label)
        return await self._totals(LabelTotal.area, where)

    async def by_channel(self) -> list[tuple[str, int, int]]:
        return await self._totals(LabelTotal.channel, LabelTotal.kind == ALL)

    async def _totals(self, key: Any, where: ColumnElement[bool]) -> list[tuple[str, int, int]]:
        query = (
            select(key, func.sum(LabelTotal.messages), func.sum(LabelTotal.residents))
            .where(where)
            .group_by(key)
            .order_by(func.sum(LabelTotal.messages).desc(), key)
        )
        rows = (await self.session.execute(query)).all()
        return [(name, int(m), int(r)) for name, m, r in rows]

    async def phrases(self, label: str, limit: int = 10) -> Sequence[EvidencePhrase]:
        query = (
            select(EvidencePhrase)
            .where(EvidencePhrase.label == label)
            .order_by(EvidencePhrase.messages.desc(), EvidencePhrase.phrase)
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()


def _tagged_and_every(week: ColumnElement[Any] | None) -> Subquery:
    """Each standing tag on an inbound message, plus one "all" row per inbound message."""
    extra = [week.label("week")] if week is not None else []
    tagged = (
        select(
            MessageTag.kind.label("kind"),
            MessageTag.label.label("label"),
            Message.id.label("message_id"),
            Message.resident_id.label("resident_id"),
            *extra,
        )
        .join(Message, Message.id == MessageTag.message_id)
        .where(Message.direction == "in", MessageTag.removed_at.is_(None))
    )
    every = select(
        literal(ALL, String).label("kind"),
        literal("", String).label("label"),
        Message.id.label("message_id"),
        Message.resident_id.label("resident_id"),
        *extra,
    ).where(Message.direction == "in")
    return union_all(tagged, every).subquery()


def _row(names: list[str], values: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(names, values, strict=True))
    if isinstance(row.get("week"), str):
        row["week"] = date.fromisoformat(row["week"])
    return row
