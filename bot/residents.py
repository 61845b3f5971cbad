"""Operator actions on one resident's data, for the command line."""

from __future__ import annotations

from typing import Any

from bot.privacy import export_resident
from bot.settings import Settings
from models.db import Database
from models.repositories import ResidentRepository


async def export(settings: Settings, channel: str, address: str) -> dict[str, Any] | None:
    """Everything held about one resident, or None when there is no such resident."""
    db = Database(settings.database.url)
    try:
        async with db.sessions() as session:
            resident = await ResidentRepository(session).find(channel, address)
            return None if resident is None else await export_resident(session, resident)
    finally:
        await db.dispose()


async def erase(settings: Settings, channel: str, address: str) -> bool:
    """Erase one resident; False when there is no such resident."""
    db = Database(settings.database.url)
    try:
        async with db.transaction() as session:
            repo = ResidentRepository(session)
            resident = await repo.find(channel, address)
            if resident is None:
                return False
            await repo.erase(resident, via="cli")
            return True
    finally:
        await db.dispose()
