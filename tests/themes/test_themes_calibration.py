"""Calibration: `themes build` chooses the safeguarding settings again on the development splits."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from themes import load_tagger
from themes.build import META_KEY, BuildSettings, build_pipeline
from themes.cli import app
from themes.codebook import load_codebook
from themes.experiments import (
    SAFEGUARDING_GRID,
    WEAK_RISK_GRID,
    calibrated_thresholds,
    policy_for,
    processed,
    score,
)
from themes.labelled import LabelledDataError, LabelledMessage, read_labelled
from themes.training import CALIBRATION_SPLITS, BuildOutcome, build_to, calibration_messages

DAY = date(2026, 11, 26)
TINY = BuildSettings(epochs=3)
STARTER = Path(__file__).resolve().parents[2] / "themes" / "data" / "labelled" / "starter.jsonl"


def starter() -> list[LabelledMessage]:
    return read_labelled(STARTER)


def rates(
    nlp: spacy.language.Language, settings: BuildSettings, messages: list[LabelledMessage]
) -> tuple[float, float]:
    policy = policy_for(load_codebook(), settings)
    summary = score(processed(nlp, messages), policy, "check").summary()
    return summary["safeguarding_recall"], summary["safeguarding_false_alarm_rate"]


def test_the_budget_bounds_false_alarms_and_recall_comes_first() -> None:
    codebook, messages = load_codebook(), starter()
    train, calibration = messages[:40], messages[40:]
    assert any(m.safeguarding for m in calibration) and any(not m.safeguarding for m in calibration)
    nlp = build_pipeline(codebook, train, TINY, DAY)
    held = processed(nlp, calibration)
    strict = calibrated_thresholds(held, codebook, TINY, max_false_alarms=0.0)
    loose = calibrated_thresholds(held, codebook, TINY, max_false_alarms=1.0)
    strict_recall, strict_alarms = rates(nlp, replace(TINY, thresholds=strict), calibration)
    loose_recall, _ = rates(nlp, replace(TINY, thresholds=loose), calibration)
    fallback = (
        strict.safeguarding == SAFEGUARDING_GRID[-1] and strict.weak_risk == WEAK_RISK_GRID[-1]
    )
    assert strict_alarms == 0.0 or fallback
    assert loose_recall >= strict_recall
    # With no budget at all, the lowest thresholds searched flag the most: nothing beats them.
    lowest = TINY.with_thresholds(safeguarding=SAFEGUARDING_GRID[0], weak_risk=WEAK_RISK_GRID[0])
    assert loose_recall == rates(nlp, lowest, calibration)[0]
    # Only the safeguarding settings move.
    for name in ("theme", "signal", "weak", "strong"):
        assert getattr(strict, name) == getattr(TINY.thresholds, name)
        assert getattr(loose, name) == getattr(TINY.thresholds, name)


def test_a_calibrated_build_records_its_settings_and_a_new_version(tmp_path: Path) -> None:
    codebook, messages = load_codebook(), starter()
    train, calibration = messages[:40], messages[40:]

    def built(name: str, calibration: list[LabelledMessage]) -> BuildOutcome:
        out = tmp_path / name
        return build_to(
            out, codebook, train, tune=False, settings=TINY, today=DAY, calibration=calibration
        )

    plain, calibrated, again = (
        built("plain", []),
        built("cal", calibration),
        built("again", calibration),
    )
    assert plain.calibrated is None and calibrated.calibrated is not None
    assert calibrated.version != plain.version and calibrated.version == again.version
    tagger = load_tagger(calibrated.path)
    assert tagger.version == calibrated.version
    assert tagger.policy.thresholds == calibrated.settings.thresholds
    meta = json.loads((calibrated.path / "meta.json").read_text(encoding="utf8"))
    assert meta[META_KEY]["calibration_messages"] == len(calibration)
    # The figures reported are the pipeline's own on the calibration messages.
    recall = calibrated.calibrated.summary()["safeguarding_recall"]
    risky = [m for m in calibration if m.safeguarding]
    found = sum(tagger.tag(m.text).safeguarding is not None for m in risky)
    assert recall == found / len(risky)


def write_splits(folder: Path, names: tuple[str, ...], messages: list[LabelledMessage]) -> None:
    folder.mkdir(exist_ok=True)
    for index, name in enumerate(names):
        lines = [json.dumps(m.to_json()) + "\n" for m in messages[index * 5 : index * 5 + 5]]
        (folder / f"{name}.jsonl").write_text("".join(lines), encoding="utf8")


def test_the_splits_are_read_all_or_none(tmp_path: Path) -> None:
    messages = starter()
    assert calibration_messages(tmp_path / "nowhere") == []
    assert calibration_messages(tmp_path) == []  # a folder without the splits
    write_splits(tmp_path, CALIBRATION_SPLITS, messages)
    read = calibration_messages(tmp_path)
    assert [m.text for m in read] == [m.text for m in messages[: 5 * len(CALIBRATION_SPLITS)]]
    (tmp_path / f"{CALIBRATION_SPLITS[-1]}.jsonl").unlink()
    with pytest.raises(LabelledDataError, match=CALIBRATION_SPLITS[-1]):
        calibration_messages(tmp_path)


def test_the_default_splits_are_the_checkout_development_splits() -> None:
    folder = Path(__file__).resolve().parents[1] / "data" / "labelled"
    read = calibration_messages()
    assert len(read) == sum(len(read_labelled(folder / f"{n}.jsonl")) for n in CALIBRATION_SPLITS)
    assert not {"eval", "holdout_d", "dev_calm"} & set(CALIBRATION_SPLITS)


def test_themes_build_calibrates_on_the_splits_folder(tmp_path: Path) -> None:
    messages = starter()
    data, splits = tmp_path / "data", tmp_path / "splits"
    data.mkdir()
    lines = [json.dumps(m.to_json()) + "\n" for m in messages[:40]]
    (data / "train.jsonl").write_text("".join(lines), encoding="utf8")
    write_splits(splits, CALIBRATION_SPLITS, messages[40:])
    common = ["build", "--data", str(data), "--no-tune", "--date", "2026-11-26"]
    calibrated = CliRunner().invoke(
        app, [*common, "--out", str(tmp_path / "a"), "--splits", str(splits)]
    )
    plain = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "b"), "--no-calibrate"])
    assert calibrated.exit_code == 0 and plain.exit_code == 0, calibrated.output + plain.output
    count = 5 * len(CALIBRATION_SPLITS)
    assert f"calibration splits ({count} messages): " in calibrated.output
    assert "calibration splits" not in plain.output
    meta = json.loads((tmp_path / "a" / "meta.json").read_text(encoding="utf8"))
    assert meta[META_KEY]["calibration_messages"] == count
    broken = splits / f"{CALIBRATION_SPLITS[0]}.jsonl"
    broken.unlink()
    refused = CliRunner().invoke(
        app, [*common, "--out", str(tmp_path / "c"), "--splits", str(splits)]
    )
    assert refused.exit_code != 0 and CALIBRATION_SPLITS[0] in refused.output
