"""Window scoring of long messages: each window label takes its best window score."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy
import pytest

from themes import load_tagger
from themes.build import (
    RISK_LABEL,
    BuildSettings,
    add_classifier,
    blank_pipeline,
    window_labels,
    window_weights,
)
from themes.classifier import SCORES_KEY, ScoreRowTextCategorizer, _windows
from themes.codebook import Codebook, load_codebook
from themes.components import pipe_of
from themes.labelled import LabelledMessage, read_labelled
from themes.training import build_to

DAY = date(2026, 11, 25)
LONG = (
    "the walls are black with mould in the back bedroom and the kids keep coughing all night, "
    "the bus never turns up so I can't get to work on time and we are skint by the middle of "
    "the month, nobody round here talks to each other any more and the park is full of litter"
)
SHORT = "black mould all over the bedroom"


def tiny_messages() -> list[LabelledMessage]:
    starter = Path(__file__).resolve().parents[2] / "themes" / "data" / "labelled" / "starter.jsonl"
    return read_labelled(starter)[:40]


def test_windows_cover_long_docs_with_half_overlap() -> None:
    nlp = blank_pipeline(load_codebook())
    long_doc, short_doc = nlp(LONG), nlp(SHORT)
    windows, owners = _windows([short_doc, long_doc], 8)
    assert set(owners) == {1}  # a doc no longer than the window has none
    assert all(len(w) == 8 for w in windows[:-1]) and 4 < len(windows[-1]) <= 8
    assert len(windows) == (len(long_doc) - 4 + 3) // 4
    covered = sum(len(w) for w in windows)
    assert covered >= len(long_doc)


def test_window_labels_follow_the_kinds() -> None:
    codebook = load_codebook()
    themes_only = window_labels(codebook, BuildSettings(window=20, window_kinds=("theme",)))
    assert themes_only == list(codebook.ids("theme"))
    with_risk = window_labels(codebook, BuildSettings(window=20, window_kinds=("theme", "risk")))
    assert with_risk[-1] == RISK_LABEL


def test_risk_windows_are_weighted() -> None:
    codebook = load_codebook()
    settings = BuildSettings(window=20, window_risk_weight=0.6)
    labels, weights = window_labels(codebook, settings), window_weights(codebook, settings)
    risky = {*codebook.ids("safeguarding"), RISK_LABEL}
    assert risky <= set(labels)
    assert [w for label, w in zip(labels, weights, strict=True) if label in risky] == [0.6] * 4
    assert {w for label, w in zip(labels, weights, strict=True) if label not in risky} == {1.0}
    assert set(window_weights(codebook, BuildSettings())) == {1.0}


def test_bigram_classifier_refuses_windows() -> None:
    codebook = load_codebook()
    nlp = blank_pipeline(codebook)
    with pytest.raises(ValueError, match="unigram"):
        add_classifier(nlp, ["housing"], BuildSettings(window=20, ngram_size=2))


def build_untuned(
    out: Path, codebook: Codebook, messages: list[LabelledMessage], settings: BuildSettings
) -> Path:
    """Build an untuned pipeline into `out`; return its directory."""
    return build_to(out, codebook, messages, tune=False, settings=settings, today=DAY).path


def test_window_scores_are_the_best_of_message_and_windows(tmp_path: Path) -> None:
    """Windows change only the scores of window labels on long messages, never training."""
    codebook, messages = load_codebook(), tiny_messages()
    plain = build_untuned(tmp_path / "plain", codebook, messages, BuildSettings(epochs=3, window=0))
    windowed = build_untuned(
        tmp_path / "windowed",
        codebook,
        messages,
        BuildSettings(epochs=3, window=8, window_kinds=("theme",)),
    )
    before, after = load_tagger(plain), load_tagger(windowed)
    textcat = pipe_of(after.nlp, "lp_textcat", ScoreRowTextCategorizer)
    assert textcat.window == 8  # saved in the pipeline's config
    labels = list(textcat.labels)
    themed = [labels.index(theme) for theme in codebook.ids("theme")]
    others = [i for i in range(len(labels)) if i not in themed]
    short_before = before.nlp(SHORT).user_data[SCORES_KEY]
    assert after.nlp(SHORT).user_data[SCORES_KEY] == short_before
    row_before = numpy.asarray(before.nlp(LONG).user_data[SCORES_KEY])
    row_after = numpy.asarray(after.nlp(LONG).user_data[SCORES_KEY])
    numpy.testing.assert_allclose(row_after[others], row_before[others], rtol=1e-6)
    assert (row_after[themed] >= row_before[themed] - 1e-6).all()
    assert (row_after[themed] > row_before[themed] + 1e-6).any()
    # the same scores one at a time and in a batch, and the same tags
    batch = list(after.nlp.pipe([SHORT, LONG, ""]))
    numpy.testing.assert_allclose(batch[1].user_data[SCORES_KEY], row_after, rtol=1e-6)
    assert list(after.tag_many([LONG, SHORT])) == [after.tag(LONG), after.tag(SHORT)]
    risky = build_untuned(
        tmp_path / "risky",
        codebook,
        messages,
        BuildSettings(epochs=3, window=8, window_kinds=("theme",), window_risk_weight=0.6),
    )
    risk_column = labels.index(RISK_LABEL)
    row_risky = numpy.asarray(load_tagger(risky).nlp(LONG).user_data[SCORES_KEY])
    numpy.testing.assert_allclose(row_risky[themed], row_after[themed], rtol=1e-6)
    assert row_risky[risk_column] >= row_before[risk_column] - 1e-6
