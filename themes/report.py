"""`themes eval`: the tagger and the keyword baseline scored side by side on a labelled file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from themes.baseline import KeywordBaseline
from themes.codebook import Codebook
from themes.labelled import LabelledMessage, read_labelled
from themes.metrics import Evaluation, GroupScores, evaluate, worst_labels
from themes.tagger import SpacyTagger
from themes.types import Tagger

WORST = 5


def evaluate_tagger(
    name: str, tagger: Tagger, gold: Sequence[LabelledMessage], kinds: Mapping[str, Sequence[str]]
) -> Evaluation:
    """Tag the gold messages' texts and score the results."""
    return evaluate(name, gold, tagger.tag_many(m.text for m in gold), kinds)


def compare_on_file(
    path: Path, tagger: SpacyTagger, codebook: Codebook
) -> tuple[Evaluation, Evaluation]:
    """The tagger's and the keyword baseline's evaluations on one labelled file."""
    gold = read_labelled(path)
    kinds = {
        "theme": tagger.policy.themes,
        "signal": tagger.policy.signals,
        "safeguarding": tagger.policy.safeguarding,
    }
    ours = evaluate_tagger(f"tagger {tagger.version}", tagger, gold, kinds)
    baseline = evaluate_tagger("keyword baseline", KeywordBaseline(codebook), gold, kinds)
    return ours, baseline


def comparison_json(ours: Evaluation, baseline: Evaluation) -> dict[str, Any]:
    """The JSON document `themes eval --json` prints."""
    return {
        "tagger": {**ours.to_json(), "worst": _worst_json(ours)},
        "baseline": {**baseline.to_json(), "worst": _worst_json(baseline)},
    }


def _worst_json(evaluation: Evaluation) -> dict[str, Any]:
    return {
        group: [
            {
                "label": label,
                "false_positives": c.fp,
                "false_negatives": c.fn,
                "false_positive_ids": c.false_positive_ids[:10],
                "false_negative_ids": c.false_negative_ids[:10],
            }
            for label, c in worst_labels(scores, WORST)
        ]
        for group, scores in (("themes", evaluation.themes), ("signals", evaluation.signals))
    }


def print_comparison(console: Console, ours: Evaluation, baseline: Evaluation) -> None:
    """Rich tables: summary, per-label figures side by side, worst labels, safeguarding."""
    console.print(_summary_table(ours, baseline))
    for group in ("themes", "signals"):
        console.print(_label_table(group, getattr(ours, group), getattr(baseline, group)))
    console.print(_worst_table(ours))
    console.print(_safeguarding_table(ours, baseline))


def _summary_table(ours: Evaluation, baseline: Evaluation) -> Table:
    table = Table(title=f"Summary on {ours.messages} messages")
    for column in ("figure", ours.name, baseline.name):
        table.add_column(column, justify="right" if column != "figure" else "left")
    theirs = baseline.summary()
    for key, value in ours.summary().items():
        table.add_row(key.replace("_", " "), f"{value:.3f}", f"{theirs[key]:.3f}")
    return table


def _label_table(group: str, ours: GroupScores, baseline: GroupScores) -> Table:
    table = Table(title=f"{group.capitalize()}: tagger (P / R / F1) vs keyword baseline")
    for column in ("label", "support", "P", "R", "F1", "base P", "base R", "base F1"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for label, c in ours.per_label.items():
        b = baseline.per_label.get(label)
        base = [f"{b.precision:.2f}", f"{b.recall:.2f}", f"{b.f1:.2f}"] if b else ["-"] * 3
        table.add_row(
            label, str(c.support), f"{c.precision:.2f}", f"{c.recall:.2f}", f"{c.f1:.2f}", *base
        )
    table.add_row(
        "micro F1", "", "", "", f"{ours.micro_f1:.3f}", "", "", f"{baseline.micro_f1:.3f}"
    )
    table.add_row(
        "macro F1", "", "", "", f"{ours.macro_f1:.3f}", "", "", f"{baseline.macro_f1:.3f}"
    )
    return table


def _worst_table(ours: Evaluation) -> Table:
    table = Table(title="Worst labels (tagger): most false positives + false negatives")
    for column in ("label", "false +", "false -", "some false + ids", "some false - ids"):
        table.add_column(column)
    for scores in (ours.themes, ours.signals):
        for label, c in worst_labels(scores, WORST):
            table.add_row(
                label,
                str(c.fp),
                str(c.fn),
                " ".join(c.false_positive_ids[:4]),
                " ".join(c.false_negative_ids[:4]),
            )
    return table


def _safeguarding_table(ours: Evaluation, baseline: Evaluation) -> Table:
    table = Table(title="Safeguarding (recall first; false alarms must stay <= 5%)")
    for column in ("figure", ours.name, baseline.name):
        table.add_column(column)
    a, b = ours.safeguarding, baseline.safeguarding
    table.add_row("recall (any risk flagged)", f"{a.recall:.3f}", f"{b.recall:.3f}")
    table.add_row("false-alarm rate", f"{a.false_alarm_rate:.3f}", f"{b.false_alarm_rate:.3f}")
    table.add_row(
        "right category when flagged", f"{a.category_accuracy:.3f}", f"{b.category_accuracy:.3f}"
    )
    table.add_row("missed ids", " ".join(a.missed_ids[:10]), " ".join(b.missed_ids[:10]))
    table.add_row(
        "false alarm ids", " ".join(a.false_alarm_ids[:10]), " ".join(b.false_alarm_ids[:10])
    )
    return table
