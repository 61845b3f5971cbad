"""Building: deterministic, loadable, picks up codebook edits; retraining with versions."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from themes import load_tagger, train_version
from themes.build import BuildSettings
from themes.codebook import CodebookError, default_codebook_path, load_codebook
from themes.labelled import LabelledDataError, LabelledMessage, read_labelled, training_files
from themes.training import active_pipeline, build_to

DAY = date(2026, 11, 25)
TINY = BuildSettings(epochs=3)


def tiny_messages() -> list[LabelledMessage]:
    starter = Path(__file__).resolve().parents[2] / "themes" / "data" / "labelled" / "starter.jsonl"
    return read_labelled(starter)[:40]


def files_of(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def test_build_is_deterministic_and_loadable(tmp_path: Path) -> None:
    codebook = load_codebook()
    first = build_to(
        tmp_path / "a", codebook, tiny_messages(), tune=False, settings=TINY, today=DAY
    )
    second = build_to(
        tmp_path / "b", codebook, tiny_messages(), tune=False, settings=TINY, today=DAY
    )
    assert first.version == second.version
    assert first.version.startswith("2026.11.25-")
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
    tagger = load_tagger(tmp_path / "a")
    assert tagger.version == first.version
    assert "housing" in tagger.tag("black mould all over the bedroom").themes


def test_codebook_edits_are_picked_up(tmp_path: Path) -> None:
    text = default_codebook_path().read_text(encoding="utf8")
    entry = text.index('id = "environment"')
    phrases = text.index("phrases = [", entry) + len("phrases = [")
    edited = text[:phrases] + ' "grimbleflax",' + text[phrases:]
    (tmp_path / "codebook.toml").write_text(edited, encoding="utf8")
    codebook = load_codebook(tmp_path / "codebook.toml")
    outcome = build_to(
        tmp_path / "p", codebook, tiny_messages(), tune=False, settings=TINY, today=DAY
    )
    assert "environment" in load_tagger(outcome.path).tag("so much grimbleflax").themes


def test_bad_codebook_is_reported(tmp_path: Path) -> None:
    (tmp_path / "codebook.toml").write_text('[[theme]]\nname = "no id"\n', encoding="utf8")
    with pytest.raises(CodebookError, match="id"):
        load_codebook(tmp_path / "codebook.toml")


def test_evaluation_files_are_refused_for_training(tmp_path: Path) -> None:
    (tmp_path / "eval.jsonl").write_text("", encoding="utf8")
    with pytest.raises(LabelledDataError, match="never"):
        training_files(tmp_path)


def test_train_version_gates_activation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text(
        "".join(json.dumps(m.to_json()) + "\n" for m in tiny_messages()), encoding="utf8"
    )
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "".join(json.dumps(m.to_json()) + "\n" for m in tiny_messages()[:10]), encoding="utf8"
    )
    pipelines = tmp_path / "pipelines"
    extra = [
        {
            "text": "the zebra crossing is lethal",
            "themes": ["transport", "safety"],
            "signals": ["barrier"],
            "safeguarding": None,
        }
    ]
    outcome = train_version(
        pipelines, gold, extra, data_dir=data, tune=False, today=DAY, force=True
    )
    assert outcome.activated
    assert outcome.path == pipelines / outcome.version
    assert active_pipeline(pipelines) == outcome.path
    assert load_tagger(outcome.path).version == outcome.version
    assert set(outcome.before.summary()) == set(outcome.after.summary())


def test_loaded_thresholds_are_the_ones_built(tmp_path: Path) -> None:
    # srsly's JSON reader gives 0.30000000000000004 for 0.3: the tagger must decide with the
    # thresholds the build chose, not a neighbour of them.
    settings = TINY.with_thresholds(theme=0.7, safeguarding=0.3, strong_risk=0.3, weak_risk=0.35)
    outcome = build_to(
        tmp_path / "p", load_codebook(), tiny_messages(), tune=False, settings=settings, today=DAY
    )
    assert load_tagger(outcome.path).policy.thresholds == settings.thresholds
