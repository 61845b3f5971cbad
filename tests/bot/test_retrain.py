"""Staff corrections feed `themes train`; the activated pipeline is the one the runtime uses."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from bot.retrain import retrain, staff_corrections
from bot.runtime import Runtime
from bot.settings import Settings
from models.base import utcnow
from models.tables import MessageTag
from tests.bot.helpers import Resident as Talker
from themes.types import Tagger

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "themes" / "data" / "labelled" / "train_a.jsonl"


async def correct(runtime: Runtime) -> int:
    """A resident message, then staff add `loneliness` and remove one model label."""
    talker = Talker(runtime)
    await talker.say("hello")
    await talker.say("the damp flat is getting to me, nobody visits since my wife died")
    async with runtime.db.transaction() as session:
        tags = (await session.execute(select(MessageTag))).scalars().all()
        message_id = tags[0].message_id
        removed = next(t for t in tags if t.kind == "theme")
        removed.removed_at = utcnow()
        session.add(
            MessageTag(message_id=message_id, kind="theme", label="loneliness", source="staff")
        )
    return message_id


async def test_corrections_and_a_retrained_pipeline(
    settings: Settings, tagger: Tagger, tmp_path: Path
) -> None:
    settings.tagging.pipelines_dir = str(tmp_path / "pipelines")
    runtime = await Runtime.start(settings, tagger)
    try:
        message_id = await correct(runtime)
        async with runtime.sessions() as session:
            removed = (
                await session.execute(
                    select(MessageTag.label).where(MessageTag.removed_at.is_not(None))
                )
            ).scalar_one()
    finally:
        await runtime.close()
    corrections = await staff_corrections(settings)
    assert len(corrections) == 1
    item = corrections[0]
    assert item["id"] == f"staff-{message_id}"
    themes = item["themes"]
    assert isinstance(themes, list)
    assert "loneliness" in themes
    assert removed not in themes

    data = tmp_path / "data"
    data.mkdir()
    lines = TRAIN.read_text().splitlines()
    (data / "train.jsonl").write_text("\n".join(lines[:120]) + "\n")
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text("\n".join(lines[120:160]) + "\n")
    outcome = await asyncio.to_thread(
        retrain, settings, corrections, eval_file, force=True, data_dir=data, tune=False
    )
    assert outcome.activated
    assert (tmp_path / "pipelines" / outcome.version).is_dir()
    rebuilt = await Runtime.start(settings)  # no tagger given: it loads the active one
    try:
        assert rebuilt.tagging.version == outcome.version
    finally:
        await rebuilt.close()
