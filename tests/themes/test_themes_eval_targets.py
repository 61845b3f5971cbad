"""The shipped pipeline on the fixed evaluation split (never used for training or tuning).

The targets the pipeline meets are hard assertions. The two it does not meet yet (theme
micro-F1 >= 0.85 and safeguarding recall >= 0.98, see themes/README.md) are expected
failures that turn into passes (XPASS) once a build reaches them; the floors below them
stop a build from getting worse unnoticed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from themes import SpacyTagger, load_codebook
from themes.metrics import Evaluation
from themes.report import compare_on_file

EVAL = Path(__file__).resolve().parents[1] / "data" / "labelled" / "eval.jsonl"
pytestmark = pytest.mark.skipif(not EVAL.is_file(), reason="no evaluation split in this checkout")


@pytest.fixture(scope="module")
def figures(tagger: SpacyTagger) -> tuple[dict[str, float], dict[str, float]]:
    ours, baseline = compare_on_file(EVAL, tagger, load_codebook())
    return _summary(ours), _summary(baseline)


def _summary(evaluation: Evaluation) -> dict[str, float]:
    return evaluation.summary()


def test_met_targets(figures: tuple[dict[str, float], dict[str, float]]) -> None:
    ours, _ = figures
    assert ours["theme_macro_f1"] >= 0.75
    assert ours["signal_macro_f1"] >= 0.65
    assert ours["safeguarding_false_alarm_rate"] <= 0.05


def test_beats_the_keyword_baseline(figures: tuple[dict[str, float], dict[str, float]]) -> None:
    ours, baseline = figures
    for key in ("theme_macro_f1", "theme_micro_f1", "signal_macro_f1"):
        assert ours[key] > baseline[key], key
    # Safeguarding: the baseline reads the same risk phrases literally, so it can match our
    # recall; the tagger must catch at least as much with far fewer false alarms.
    assert ours["safeguarding_recall"] >= baseline["safeguarding_recall"]
    assert ours["safeguarding_false_alarm_rate"] < baseline["safeguarding_false_alarm_rate"] / 2


def test_floors_under_the_unmet_targets(figures: tuple[dict[str, float], dict[str, float]]) -> None:
    ours, _ = figures
    assert ours["theme_micro_f1"] >= 0.81
    assert ours["safeguarding_recall"] >= 0.95  # 0.953 with the risk encoder (ninth round)


@pytest.mark.xfail(
    reason="theme micro-F1 is 0.83, below 0.85, on the evaluation split", strict=True
)
def test_theme_micro_f1_target(figures: tuple[dict[str, float], dict[str, float]]) -> None:
    assert figures[0]["theme_micro_f1"] >= 0.85


@pytest.mark.xfail(
    reason="safeguarding recall is 0.95, below 0.98, on the evaluation split", strict=True
)
def test_safeguarding_recall_target(figures: tuple[dict[str, float], dict[str, float]]) -> None:
    assert figures[0]["safeguarding_recall"] >= 0.98
