"""Evaluation figures: per-label precision/recall/F1, micro and macro F1, safeguarding rates.

Macro F1 averages over the labels that occur in the gold data or in the predictions (a label
nobody used and nothing predicted has no F1 and is left out); the labels left out are listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from themes.labelled import LabelledMessage
from themes.types import TagResult


@dataclass
class Counts:
    """True positives, false positives and false negatives for one label."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positive_ids: list[str] = field(default_factory=list)
    false_negative_ids: list[str] = field(default_factory=list)

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return _f1(self.tp, self.fp, self.fn)


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@dataclass(frozen=True)
class GroupScores:
    """Scores for one group of labels (themes or signals)."""

    per_label: dict[str, Counts]
    micro_f1: float
    macro_f1: float
    unused_labels: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "micro_f1": round(self.micro_f1, 4),
            "macro_f1": round(self.macro_f1, 4),
            "labels": {label: _label_json(c) for label, c in self.per_label.items()},
            "unused_labels": list(self.unused_labels),
        }


def _label_json(counts: Counts) -> dict[str, Any]:
    return {
        "precision": round(counts.precision, 4),
        "recall": round(counts.recall, 4),
        "f1": round(counts.f1, 4),
        "support": counts.support,
        "false_positives": counts.fp,
        "false_negatives": counts.fn,
    }


@dataclass(frozen=True)
class SafeguardingScores:
    """Recall-first figures: any-risk recall, false-alarm rate, per-category counts."""

    recall: float
    false_alarm_rate: float
    category_accuracy: float  # of flagged risk messages, the share with the right category
    risk_messages: int
    non_risk_messages: int
    missed_ids: tuple[str, ...]
    false_alarm_ids: tuple[str, ...]
    per_category: dict[str, Counts]

    def to_json(self) -> dict[str, Any]:
        return {
            "recall": round(self.recall, 4),
            "false_alarm_rate": round(self.false_alarm_rate, 4),
            "category_accuracy": round(self.category_accuracy, 4),
            "risk_messages": self.risk_messages,
            "non_risk_messages": self.non_risk_messages,
            "missed_ids": list(self.missed_ids),
            "false_alarm_ids": list(self.false_alarm_ids),
            "categories": {label: _label_json(c) for label, c in self.per_category.items()},
        }


@dataclass(frozen=True)
class Evaluation:
    """All figures for one tagger on one labelled file."""

    name: str
    messages: int
    themes: GroupScores
    signals: GroupScores
    safeguarding: SafeguardingScores

    def summary(self) -> dict[str, float]:
        """The headline figures."""
        return {
            "theme_macro_f1": self.themes.macro_f1,
            "theme_micro_f1": self.themes.micro_f1,
            "signal_macro_f1": self.signals.macro_f1,
            "signal_micro_f1": self.signals.micro_f1,
            "safeguarding_recall": self.safeguarding.recall,
            "safeguarding_false_alarm_rate": self.safeguarding.false_alarm_rate,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "messages": self.messages,
            "summary": {key: round(value, 4) for key, value in self.summary().items()},
            "themes": self.themes.to_json(),
            "signals": self.signals.to_json(),
            "safeguarding": self.safeguarding.to_json(),
        }


def score_group(
    labels: Sequence[str], gold: Sequence[tuple[str, set[str]]], predicted: Sequence[set[str]]
) -> GroupScores:
    """Per-label and averaged scores; `gold` pairs each message id with its gold labels."""
    per_label = {label: Counts() for label in labels}
    for (message_id, truth), guess in zip(gold, predicted, strict=True):
        for label in truth | guess:
            counts = per_label.setdefault(label, Counts())
            if label in truth and label in guess:
                counts.tp += 1
            elif label in guess:
                counts.fp += 1
                counts.false_positive_ids.append(message_id)
            else:
                counts.fn += 1
                counts.false_negative_ids.append(message_id)
    used = {k: c for k, c in per_label.items() if c.tp + c.fp + c.fn}
    tp, fp, fn = (sum(getattr(c, name) for c in used.values()) for name in ("tp", "fp", "fn"))
    macro = sum(c.f1 for c in used.values()) / len(used) if used else 0.0
    unused = tuple(k for k in per_label if k not in used)
    return GroupScores(per_label, _f1(tp, fp, fn), macro, unused)


def score_safeguarding(
    categories: Sequence[str], gold: Sequence[LabelledMessage], predicted: Sequence[str | None]
) -> SafeguardingScores:
    """Binary risk recall and false alarms, plus per-category counts."""
    risk = [(m, p) for m, p in zip(gold, predicted, strict=True) if m.safeguarding]
    calm = [(m, p) for m, p in zip(gold, predicted, strict=True) if not m.safeguarding]
    missed = tuple(m.id for m, p in risk if not p)
    alarms = tuple(m.id for m, p in calm if p)
    flagged = [(m, p) for m, p in risk if p]
    right = sum(1 for m, p in flagged if p == m.safeguarding)
    per_category = score_group(
        categories,
        [(m.id, {m.safeguarding} if m.safeguarding else set()) for m in gold],
        [{p} if p else set() for p in predicted],
    ).per_label
    return SafeguardingScores(
        recall=(len(risk) - len(missed)) / len(risk) if risk else 1.0,
        false_alarm_rate=len(alarms) / len(calm) if calm else 0.0,
        category_accuracy=right / len(flagged) if flagged else 1.0,
        risk_messages=len(risk),
        non_risk_messages=len(calm),
        missed_ids=missed,
        false_alarm_ids=alarms,
        per_category=per_category,
    )


def evaluate(
    name: str,
    gold: Sequence[LabelledMessage],
    results: Iterable[TagResult],
    kinds: Mapping[str, Sequence[str]],
) -> Evaluation:
    """Score tag results against gold messages; `kinds` lists theme/signal/safeguarding ids."""
    predicted = list(results)
    ids = [m.id for m in gold]
    themes = score_group(
        kinds["theme"],
        [(i, set(m.themes)) for i, m in zip(ids, gold, strict=True)],
        [set(r.themes) for r in predicted],
    )
    signals = score_group(
        kinds["signal"],
        [(i, set(m.signals)) for i, m in zip(ids, gold, strict=True)],
        [set(r.signals) for r in predicted],
    )
    safeguarding = score_safeguarding(
        kinds["safeguarding"], gold, [r.safeguarding for r in predicted]
    )
    return Evaluation(name, len(gold), themes, signals, safeguarding)


def worst_labels(group: GroupScores, count: int = 5) -> list[tuple[str, Counts]]:
    """Labels with the most errors (false positives + false negatives), worst first."""
    ranked = sorted(group.per_label.items(), key=lambda item: (-(item[1].fp + item[1].fn), item[0]))
    return [(label, counts) for label, counts in ranked[:count] if counts.fp + counts.fn]
