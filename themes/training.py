"""Building the shipped pipeline, and retraining versioned pipelines from staff corrections."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from themes.build import BuildSettings, build_pipeline, save_pipeline, stamp
from themes.codebook import Codebook, load_codebook
from themes.experiments import (
    calibrated_thresholds,
    cross_validate,
    policy_for,
    processed,
    score,
    tuned_thresholds,
)
from themes.labelled import LabelledDataError, LabelledMessage, read_labelled, read_training
from themes.metrics import Evaluation
from themes.report import evaluate_tagger
from themes.tagger import SpacyTagger, load_tagger

ACTIVE_FILE = "ACTIVE"
MIN_MESSAGES_TO_TUNE = 50
# The development splits (tests/data/labelled/README.md) on which `themes build` calibrates
# the safeguarding settings: other writers, never trained on, long messages as written. Not
# the evaluation split, not the blind `holdout_d`, not `dev_calm` (written to provoke false
# alarms, so not the mix residents send). See themes/README.md, "Issue 4, seventh round".
CALIBRATION_SPLITS = (
    "holdout_b",
    "holdout_c",
    "dev_long",
    "dev_people",
    "dev_cal_a",
    "dev_cal_b",
    "dev_cal_c",
    "dev_cal_d",
)


@dataclass(frozen=True)
class BuildOutcome:
    """Where a pipeline was written, its version and the thresholds it uses."""

    path: Path
    version: str
    settings: BuildSettings
    messages: int
    cross_validated: Evaluation | None = None  # the tuned settings, 5-fold on the training data
    calibrated: Evaluation | None = None  # the final settings on the calibration messages


def tuned_settings(
    codebook: Codebook, messages: Sequence[LabelledMessage], settings: BuildSettings
) -> tuple[BuildSettings, Evaluation | None]:
    """Thresholds chosen by 5-fold cross-validation on the training messages (and on long
    messages joined from each held-out fold, which keep to their own false-alarm budget:
    LONG_FALSE_ALARM_FACTOR times the ordinary one), and the cross-validated figures with them."""
    if len(messages) < MIN_MESSAGES_TO_TUNE:
        return settings, None
    held = cross_validate(codebook, messages, settings, long=True)
    tuned = replace(settings, thresholds=tuned_thresholds(held, codebook, settings))
    return tuned, score(held, policy_for(codebook, tuned), "cross-validated")


def build_to(
    out: Path,
    codebook: Codebook,
    messages: Sequence[LabelledMessage],
    *,
    tune: bool = True,
    settings: BuildSettings | None = None,
    today: date | None = None,
    calibration: Sequence[LabelledMessage] = (),
    encoder: Path | None = None,
) -> BuildOutcome:
    """Build (optionally tuning thresholds first) and write the pipeline to `out`.

    With `calibration` messages (development splits, never trained on), the safeguarding
    settings are chosen again on them by the built pipeline (`calibrated_thresholds`).
    With `encoder` (an exported risk encoder, themes/encoder.py) the pipeline carries it, and
    the calibration also chooses its threshold; without calibration it is not asked."""
    settings = settings or BuildSettings()
    today = today or date.today()
    figures = checked = None
    if tune:
        settings, figures = tuned_settings(codebook, messages, settings)
    nlp = build_pipeline(codebook, messages, settings, today, encoder)
    if calibration:
        held = processed(nlp, calibration)
        settings = replace(settings, thresholds=calibrated_thresholds(held, codebook, settings))
        stamp(nlp, codebook, messages, settings, today, calibration)
        checked = score(held, policy_for(codebook, settings), "calibration splits")
    if out.exists():
        shutil.rmtree(out)
    save_pipeline(nlp, out)
    version = str(nlp.meta["listening_post"]["version"])
    return BuildOutcome(out, version, settings, len(messages), figures, checked)


def calibration_messages(folder: Path | None = None) -> list[LabelledMessage]:
    """The CALIBRATION_SPLITS in `folder` (default: tests/data/labelled of the source
    checkout the package runs from). None when the folder holds none of them (an installed
    package, an evaluation file kept on its own), and a build then keeps the cross-validated
    settings; an error when it holds only some, since that would change the build."""
    folder = folder or Path(__file__).resolve().parent.parent / "tests" / "data" / "labelled"
    paths = [folder / f"{name}.jsonl" for name in CALIBRATION_SPLITS]
    missing = [path.name for path in paths if not path.is_file()]
    if len(missing) == len(paths):
        return []
    if missing:
        raise LabelledDataError(f"{folder} lacks the development splits {', '.join(missing)}")
    return [message for path in paths for message in read_labelled(path)]


def build_default(
    out: Path,
    codebook_path: Path | None = None,
    data_dir: Path | None = None,
    *,
    tune: bool = True,
    today: date | None = None,
    calibration: Sequence[LabelledMessage] = (),
    encoder: Path | None = None,
) -> BuildOutcome:
    """What `themes build` does: codebook + every training file -> pipeline directory."""
    codebook = load_codebook(codebook_path)
    messages = read_training(data_dir)
    return build_to(
        out, codebook, messages, tune=tune, today=today, calibration=calibration, encoder=encoder
    )


@dataclass(frozen=True)
class TrainOutcome:
    """A retraining: the new version, its figures before/after, and whether it is active."""

    version: str
    path: Path
    before: Evaluation
    after: Evaluation
    activated: bool


def active_pipeline(pipelines_dir: Path) -> Path | None:
    """The active versioned pipeline directory, if one was activated."""
    marker = pipelines_dir / ACTIVE_FILE
    if not marker.is_file():
        return None
    path = pipelines_dir / marker.read_text(encoding="utf8").strip()
    return path if path.is_dir() else None


def activate(pipelines_dir: Path, version: str) -> None:
    """Make `version` the active pipeline (the marker is replaced atomically)."""
    marker = pipelines_dir / ACTIVE_FILE
    temporary = marker.with_suffix(".tmp")
    temporary.write_text(version + "\n", encoding="utf8")
    temporary.replace(marker)


def not_worse(before: Evaluation, after: Evaluation) -> bool:
    """Safeguarding recall may not drop, nor the sum of theme and signal F1 figures."""
    b, a = before.summary(), after.summary()
    keys = ("theme_macro_f1", "theme_micro_f1", "signal_macro_f1")
    return a["safeguarding_recall"] >= b["safeguarding_recall"] and sum(a[k] for k in keys) >= sum(
        b[k] for k in keys
    )


def train_version(
    pipelines_dir: Path,
    eval_path: Path,
    extra: Sequence[Mapping[str, Any]] = (),
    *,
    codebook_path: Path | None = None,
    data_dir: Path | None = None,
    force: bool = False,
    tune: bool = True,
    today: date | None = None,
    calibration: Sequence[LabelledMessage] = (),
    encoder: Path | None = None,
) -> TrainOutcome:
    """Retrain on the training files plus `extra` corrections; activate if not worse.

    `extra` items are dicts in the labelled format ({"text", "themes", "signals",
    "safeguarding"}). The evaluation file is only used to report and gate, never to train.
    """
    codebook = load_codebook(codebook_path)
    messages = read_training(data_dir) + [LabelledMessage.from_json(item) for item in extra]
    pipelines_dir.mkdir(parents=True, exist_ok=True)
    current = load_tagger(active_pipeline(pipelines_dir))
    staging = pipelines_dir / ".building"
    outcome = build_to(
        staging,
        codebook,
        messages,
        tune=tune,
        today=today,
        calibration=calibration,
        encoder=encoder,
    )
    final = pipelines_dir / outcome.version
    if final.exists():
        shutil.rmtree(final)
    staging.replace(final)
    gold = read_labelled(eval_path)
    before = _evaluate(current, gold)
    after = _evaluate(load_tagger(final), gold)
    activated = force or not_worse(before, after)
    if activated:
        activate(pipelines_dir, outcome.version)
    return TrainOutcome(outcome.version, final, before, after, activated)


def _evaluate(tagger: SpacyTagger, gold: Sequence[LabelledMessage]) -> Evaluation:
    kinds = {
        "theme": tagger.policy.themes,
        "signal": tagger.policy.signals,
        "safeguarding": tagger.policy.safeguarding,
    }
    return evaluate_tagger(tagger.version, tagger, gold, kinds)
