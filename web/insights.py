"""What people say by theme, place and time, and who we hear from: figures for the pages.

Every figure carries the number of residents behind it; any under 5 is suppressed (None)
here, once, so the pages, the CSV downloads and the API all show the same thing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.counts import ALL, CountsRepository, week_of
from models.dashboard import TagRepository
from themes.codebook import Codebook
from themes.redact import redact
from web.counts import SUPPRESS_BELOW

NOT_GIVEN = "not given"
WEEK_CHOICES = (12, 26, 52)


@dataclass(frozen=True)
class Figure:
    """One row of a chart's table: messages and residents, None where suppressed."""

    key: str
    label: str
    messages: int | None
    residents: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "messages": self.messages,
            "residents": self.residents,
        }


def figure(key: str, label: str, messages: int, residents: int) -> Figure:
    """A figure with small numbers suppressed: 1 to 4 residents show as None."""
    if 0 < residents < SUPPRESS_BELOW:
        return Figure(key, label, None, None)
    return Figure(key, label, messages, residents)


def names(codebook: Codebook) -> dict[str, str]:
    return {entry.id: entry.name for entry in codebook.entries}


async def weekly(
    session: AsyncSession, kind: str, label: str, weeks: int, area: str | None = None
) -> list[Figure]:
    """The last `weeks` weeks up to this one, empty weeks included."""
    this_week = week_of(utcnow())
    first = this_week - timedelta(weeks=weeks - 1)
    found = {
        w: (m, r) for w, m, r in await CountsRepository(session).weekly(kind, label, first, area)
    }
    days = [first + timedelta(weeks=i) for i in range(weeks)]
    return [_week_figure(day, *found.get(day, (0, 0))) for day in days]


def _week_figure(day: date, messages: int, residents: int) -> Figure:
    return figure(day.isoformat(), day.strftime("%d %b %Y"), messages, residents)


async def by_label(session: AsyncSession, kind: str, codebook: Codebook) -> list[Figure]:
    """Every label of `kind` in the codebook, most messages first (none yet: 0)."""
    found = {label: (m, r) for label, m, r in await CountsRepository(session).by_label(kind)}
    label_names = names(codebook)
    figures = [
        figure(e.id, label_names[e.id], *found.get(e.id, (0, 0)))
        for e in codebook.of_kind(kind)  # type: ignore[arg-type]
    ]
    return sorted(figures, key=lambda f: -(f.messages or 0))


async def by_area(session: AsyncSession, kind: str = ALL, label: str = "") -> list[Figure]:
    rows = await CountsRepository(session).by_area(kind, label)
    return [figure(area, area or NOT_GIVEN, m, r) for area, m, r in rows]


async def by_channel(session: AsyncSession) -> list[Figure]:
    rows = await CountsRepository(session).by_channel()
    return [figure(channel, channel, m, r) for channel, m, r in rows]


async def overview(
    session: AsyncSession, codebook: Codebook, weeks: int, theme: str = ""
) -> dict[str, list[Figure]]:
    """The overview's figures: per week (all messages, or one theme's), by theme, area,
    signal and channel; for the page, its CSV downloads and the API alike."""
    kind, label = ("theme", theme) if theme else (ALL, "")
    return {
        "weekly": await weekly(session, kind, label, weeks),
        "themes": await by_label(session, "theme", codebook),
        "areas": await by_area(session),
        "signals": await by_label(session, "signal", codebook),
        "channels": await by_channel(session),
    }


async def phrases(session: AsyncSession, label: str, limit: int = 8) -> list[Figure]:
    """Top evidence phrases for a theme (redacted; suppressed when from under 5 people)."""
    rows = await CountsRepository(session).phrases(label, limit * 2)
    out = [figure(p.phrase, redact(p.phrase), p.messages, p.residents) for p in rows]
    return [f for f in out if f.messages is not None][:limit]


@dataclass(frozen=True)
class Equity:
    """Residents heard per area against its population, and per channel."""

    key: str
    label: str
    residents: int | None
    population: int | None
    per_thousand: float | None
    share_heard: float | None
    share_population: float | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def equity_by_area(areas: list[Figure], populations: dict[str, int]) -> list[Equity]:
    """Areas we hear from and configured areas, with rates where the population is known."""
    heard = {f.key: f.residents for f in areas}
    total_heard = sum(r for r in heard.values() if r) or 0
    total_population = sum(populations.values())
    keys = sorted(set(heard) | set(populations), key=_natural)
    return [
        _equity(k, heard.get(k, 0), populations.get(k), total_heard, total_population) for k in keys
    ]


def _natural(area: str) -> tuple[bool, list[str | int]]:
    """LS4 before LS10; "not given" last."""
    parts = re.split(r"(\d+)", area)
    return area == "", [int(p) if p.isdigit() else p.lower() for p in parts]


def _equity(
    key: str, residents: int | None, population: int | None, heard: int, people: int
) -> Equity:
    rate = share = pop_share = None
    if residents is not None and population:
        rate = round(1000 * residents / population, 2)
    if residents is not None and heard:
        share = round(100 * residents / heard, 1)
    if population and people:
        pop_share = round(100 * population / people, 1)
    return Equity(key, key or NOT_GIVEN, residents, population, rate, share, pop_share)


@dataclass(frozen=True)
class Agreement:
    kind: str
    label: str
    name: str
    kept: int
    removed: int
    added: int

    @property
    def reviewed(self) -> int:
        return self.kept + self.removed + self.added

    @property
    def agreement(self) -> float:
        return round(self.kept / self.reviewed, 2) if self.reviewed else 1.0

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "reviewed": self.reviewed, "agreement": self.agreement}


async def agreement(session: AsyncSession, codebook: Codebook) -> list[Agreement]:
    """Labels where staff and the model differ most first."""
    label_names = names(codebook)
    rows = [
        Agreement(kind, label, label_names.get(label, label), kept, removed, added)
        for kind, label, kept, removed, added in await TagRepository(session).agreement()
    ]
    return sorted(rows, key=lambda a: (a.agreement, -a.reviewed, a.label))


def csv_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    """CSV with suppressed figures written as "<5"."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([f"<{SUPPRESS_BELOW}" if value is None else value for value in row])
    return out.getvalue()


def figures_csv(figures: list[Figure], key_name: str) -> str:
    return csv_text(
        [key_name, "label", "messages", "residents"],
        ([f.key, f.label, f.messages, f.residents] for f in figures),
    )
