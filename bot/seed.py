"""`listening-post dev seed`: fill a database with realistic made-up conversations, fast.

Resident messages are drawn from the labelled examples (so the theme and signal mix is the
one residents really show), tagged with their labels and the evidence a phrase finds;
about 1 in 500 is a safeguarding message with its alert. Rows go in with bulk INSERTs in
batches, ids chosen up front, in time order (so "newest first" is "highest id first").
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from models.base import utcnow
from models.db import Database
from models.tables import (
    Consent,
    Conversation,
    Message,
    MessageTag,
    Resident,
    SafeguardingAlert,
)
from themes.codebook import Codebook, load_codebook
from themes.labelled import LabelledMessage, read_training
from web.context import WebContext
from web.counts import refresh

AREAS = ("LS9", "LS8", "LS6", "LS11", "LS12", "LS14", "LS15", "LS7", "LS10", "LS13", "LS4")
AREA_WEIGHTS = (14, 12, 10, 9, 9, 8, 8, 7, 6, 5, 4)
CHANNELS = ("webchat", "telegram", "whatsapp")
CHANNEL_WEIGHTS = (5, 3, 2)
QUESTIONS = (
    "What matters most to you about living round here?",
    "What gets in the way of you and your family being well?",
    "What is good round here, that we should keep?",
    "Is there something you'd do with others to make things better?",
    "Who do you think should decide about things like this?",
)
BATCH = 10_000
SAFEGUARDING_RATE = 0.002
PIPELINE = "seed"


@dataclass
class Pools:
    """Examples to draw from, with the evidence phrase finder for each label."""

    ordinary: list[LabelledMessage]
    risky: list[LabelledMessage]
    phrases: dict[str, re.Pattern[str]] = field(default_factory=dict)


@dataclass
class SeedReport:
    residents: int = 0
    messages: int = 0
    tags: int = 0
    alerts: int = 0


def pools(codebook: Codebook) -> Pools:
    examples = read_training()
    found = Pools(
        [m for m in examples if m.safeguarding is None and (m.themes or m.signals)],
        [m for m in examples if m.safeguarding is not None],
    )
    for entry in codebook.entries:
        words = [p for p in entry.phrases if re.fullmatch(r"[a-z' ]+", p)]
        if words:
            pattern = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            found.phrases[entry.id] = re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)
    return found


def tag_rows(
    message_id: int, example: LabelledMessage, at: datetime, finder: dict[str, re.Pattern[str]]
) -> list[dict[str, Any]]:
    labels = [("theme", t) for t in example.themes] + [("signal", s) for s in example.signals]
    if example.safeguarding:
        labels.append(("safeguarding", example.safeguarding))
    rows = []
    for kind, label in labels:
        hit = finder[label].search(example.text) if label in finder else None
        rows.append(
            {
                "message_id": message_id,
                "kind": kind,
                "label": label,
                "source": "model",
                "evidence_start": hit.start() if hit else None,
                "evidence_end": hit.end() if hit else None,
                "evidence_text": hit.group(0) if hit else None,
                "pipeline_version": PIPELINE,
                "created_at": at,
            }
        )
    return rows


class Seeder:
    """Makes the rows; `run` writes them in batches."""

    def __init__(self, db: Database, residents: int, messages: int, weeks: int, seed: int) -> None:
        self.db = db
        self.rng = random.Random(seed)
        self.wanted_residents = residents
        self.wanted_messages = messages
        self.end = utcnow()
        self.start = self.end - timedelta(weeks=weeks)
        self.pools = pools(load_codebook())
        self.report = SeedReport()
        self.channel_of: dict[int, str] = {}

    async def run(self) -> SeedReport:
        first_resident, first_conversation, first_message = await self._next_ids()
        resident_ids = list(range(first_resident, first_resident + self.wanted_residents))
        await self._insert_residents(resident_ids)
        sessions = self._sessions(resident_ids)
        buffers = _Buffers(first_conversation, first_message)
        for resident_id, at, count in sessions:
            self._conversation(buffers, resident_id, at, count)
            if buffers.full():
                await self._flush(buffers)
        await self._flush(buffers)
        return self.report

    async def _next_ids(self) -> tuple[int, int, int]:
        async with self.db.sessions() as session:
            values = []
            for column in (Resident.id, Conversation.id, Message.id):
                values.append(int((await session.execute(select(func.max(column)))).scalar() or 0))
        return values[0] + 1, values[1] + 1, values[2] + 1

    async def _insert_residents(self, ids: list[int]) -> None:
        residents, consents = [], []
        for rid in ids:
            created = self._moment()
            area = self.rng.choices(AREAS, AREA_WEIGHTS)[0] if self.rng.random() > 0.12 else None
            channel = self.rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
            self.channel_of[rid] = channel
            residents.append(
                {
                    "id": rid,
                    "channel": channel,
                    "address": f"seed-{rid}",
                    "area": area,
                    "language": "en",
                    "source": self.rng.choice((None, None, "poster-LS9", "gp-surgery")),
                    "created_at": created,
                    "last_inbound_at": created,
                }
            )
            if self.rng.random() < 0.55:
                consents.append(
                    {
                        "resident_id": rid,
                        "purpose": "hear_back",
                        "granted": True,
                        "wording_version": "hear_back-v1",
                        "channel": channel,
                        "created_at": created,
                    }
                )
        async with self.db.transaction() as session:
            connection = await session.connection()
            for table, rows in ((Resident, residents), (Consent, consents)):
                for start in range(0, len(rows), BATCH):
                    await connection.execute(insert(table), rows[start : start + BATCH])
        self.report.residents = len(residents)

    def _moment(self) -> datetime:
        return self.start + (self.end - self.start) * self.rng.random()

    def _sessions(self, resident_ids: list[int]) -> list[tuple[int, datetime, int]]:
        """(resident, start, messages) per conversation, in time order."""
        owners = resident_ids + [r for r in resident_ids if self.rng.random() < 0.3]
        mean = max(self.wanted_messages / max(len(owners), 1), 2)
        counts = [max(2, round(mean * self.rng.uniform(0.5, 1.5))) for _ in owners]
        scale = self.wanted_messages / max(sum(counts), 1)
        counts = [max(2, round(c * scale)) for c in counts]
        sessions = [(rid, self._moment(), n) for rid, n in zip(owners, counts, strict=True)]
        return sorted(sessions, key=lambda s: s[1])

    def _conversation(self, buffers: _Buffers, resident_id: int, at: datetime, count: int) -> None:
        cid = buffers.conversation(resident_id, at)
        channel = self.channel_of[resident_id]
        for i in range(count):
            at += timedelta(seconds=self.rng.randint(20, 180))
            if i % 2 == 0:
                text = QUESTIONS[(i // 2) % len(QUESTIONS)]
                buffers.message(resident_id, cid, channel, "out", text, at)
                continue
            risky = self.rng.random() < SAFEGUARDING_RATE and self.pools.risky
            example = self.rng.choice(self.pools.risky if risky else self.pools.ordinary)
            mid = buffers.message(resident_id, cid, channel, "in", example.text, at)
            buffers.tags.extend(tag_rows(mid, example, at, self.pools.phrases))
            if example.safeguarding:
                buffers.alert(resident_id, mid, example.safeguarding, at, self.rng.random() < 0.9)

    async def _flush(self, buffers: _Buffers) -> None:
        async with self.db.transaction() as session:
            connection = await session.connection()
            for table, rows in buffers.tables():
                for start in range(0, len(rows), BATCH):
                    await connection.execute(insert(table), rows[start : start + BATCH])
        self.report.messages += len(buffers.messages)
        self.report.tags += len(buffers.tags)
        self.report.alerts += len(buffers.alerts)
        buffers.clear()


class _Buffers:
    """Rows waiting to be written, with the next id of each table."""

    def __init__(self, conversation: int, message: int) -> None:
        self.next_conversation, self.next_message = conversation, message
        self.conversations: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.tags: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []

    def conversation(self, resident_id: int, at: datetime) -> int:
        cid = self.next_conversation
        self.next_conversation += 1
        self.conversations.append(
            {
                "id": cid,
                "resident_id": resident_id,
                "flow": "listening",
                "state": {},
                "started_at": at,
                "ended_at": None,
            }
        )
        return cid

    def message(
        self, resident_id: int, cid: int, channel: str, direction: str, text: str, at: datetime
    ) -> int:
        mid = self.next_message
        self.next_message += 1
        self.messages.append(
            {
                "id": mid,
                "resident_id": resident_id,
                "conversation_id": cid,
                "direction": direction,
                "kind": "text",
                "channel": channel,
                "text": text,
                "pipeline_version": PIPELINE if direction == "in" else None,
                "created_at": at,
            }
        )
        return mid

    def alert(self, resident_id: int, mid: int, category: str, at: datetime, handled: bool) -> None:
        self.alerts.append(
            {
                "resident_id": resident_id,
                "message_id": mid,
                "category": category,
                "status": "handled" if handled else "open",
                "created_at": at,
                "handled_at": at + timedelta(hours=3) if handled else None,
            }
        )

    def full(self) -> bool:
        return len(self.messages) >= 5 * BATCH

    def tables(self) -> Iterator[tuple[type[Any], list[dict[str, Any]]]]:
        yield Conversation, self.conversations
        yield Message, self.messages
        yield MessageTag, self.tags
        yield SafeguardingAlert, self.alerts

    def clear(self) -> None:
        for rows in (self.conversations, self.messages, self.tags, self.alerts):
            rows.clear()


async def seed(
    url: str, residents: int, messages: int, weeks: int = 52, rng_seed: int = 7
) -> SeedReport:
    """Add `residents` residents and about `messages` messages to the database at `url`."""
    db = Database(url)
    try:
        return await Seeder(db, residents, messages, weeks, rng_seed).run()
    finally:
        await db.dispose()


async def recount(url: str) -> None:
    """Rebuild the dashboard's pre-aggregated counts (after seeding)."""
    db = Database(url)
    try:
        await refresh(WebContext(db.sessions, transaction=db.transaction), force=True)
    finally:
        await db.dispose()
