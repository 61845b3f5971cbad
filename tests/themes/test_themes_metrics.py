"""Evaluation arithmetic on small hand-checked cases."""

from __future__ import annotations

import pytest

from themes.labelled import LabelledMessage
from themes.metrics import evaluate, score_group, worst_labels
from themes.types import TagResult


def test_micro_and_macro_f1() -> None:
    gold = [("1", {"a"}), ("2", {"a", "b"}), ("3", set())]
    predicted = [{"a"}, {"a"}, {"b"}]
    scores = score_group(["a", "b", "c"], gold, predicted)
    assert scores.per_label["a"].f1 == 1.0
    assert scores.per_label["b"].tp == 0
    assert scores.per_label["b"].false_positive_ids == ["3"]
    assert scores.per_label["b"].false_negative_ids == ["2"]
    assert scores.macro_f1 == pytest.approx(0.5)
    assert scores.micro_f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert scores.unused_labels == ("c",)
    assert worst_labels(scores)[0][0] == "b"


def test_safeguarding_recall_and_false_alarms() -> None:
    gold = [
        LabelledMessage("1", "x", safeguarding="abuse"),
        LabelledMessage("2", "y", safeguarding="emergency"),
        LabelledMessage("3", "z"),
        LabelledMessage("4", "w"),
    ]
    results = [
        TagResult(safeguarding="abuse"),
        TagResult(),
        TagResult(safeguarding="abuse"),
        TagResult(),
    ]
    kinds = {"theme": [], "signal": [], "safeguarding": ["abuse", "emergency"]}
    report = evaluate("t", gold, results, kinds).safeguarding
    assert report.recall == 0.5
    assert report.false_alarm_rate == 0.5
    assert report.missed_ids == ("2",)
    assert report.false_alarm_ids == ("3",)
