"""`listening-post themes train`: retrain on the labelled files plus staff corrections."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings
from models.db import Database
from models.repositories import CorrectionRepository
from themes import TrainOutcome, train_version
from themes.encoder import shipped_encoder_path
from themes.labelled import LabelledMessage


async def staff_corrections(settings: Settings) -> list[dict[str, object]]:
    """Every message staff corrected, labelled as it now stands."""
    db = Database(settings.database.url)
    try:
        async with db.sessions() as session:
            return list(await CorrectionRepository(session).corrected_messages())
    finally:
        await db.dispose()


def retrain(
    settings: Settings,
    corrections: list[dict[str, object]],
    eval_path: Path,
    *,
    force: bool = False,
    data_dir: Path | None = None,
    tune: bool = True,
    calibration: Sequence[LabelledMessage] = (),
    encoder: Path | None = None,
) -> TrainOutcome:
    """A new versioned pipeline in tagging.pipelines_dir; active only if not worse (or forced).

    Like `themes build`, it calibrates the safeguarding settings on `calibration` messages
    (`themes train` reads the development splits beside the evaluation file, when there).
    The new pipeline carries the risk encoder (`encoder`, default the shipped one), whose
    threshold that calibration chooses; corrections do not retrain the encoder itself."""
    return train_version(
        Path(settings.tagging.pipelines_dir),
        eval_path,
        corrections,
        data_dir=data_dir,
        force=force,
        tune=tune,
        calibration=calibration,
        encoder=encoder or shipped_encoder_path(),
    )
