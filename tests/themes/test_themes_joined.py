"""Long messages joined from labelled ones: for training (long_examples) and measuring."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from themes.build import (
    RISK_LABEL,
    BuildSettings,
    add_classifier,
    blank_pipeline,
    classifier_labels,
    training_examples,
)
from themes.classifier import WINDOW_ROWS_KEY
from themes.codebook import load_codebook
from themes.experiments import (
    LONG_FALSE_ALARM_FACTOR,
    MAX_FALSE_ALARMS,
    RISK_WINDOW_GRID,
    SAFEGUARDING_GRID,
    STRONG_RISK_GRID,
    cross_validate,
    folds,
    long_probe,
    policy_for,
    score,
    tune_thresholds,
)
from themes.joined import joined_messages
from themes.labelled import LabelledMessage, read_labelled

STARTER = Path(__file__).resolve().parents[2] / "themes" / "data" / "labelled" / "starter.jsonl"


def starter() -> list[LabelledMessage]:
    return read_labelled(STARTER)


def test_parts_keep_their_text_and_gold_is_the_union() -> None:
    messages = starter()
    by_text = {m.text.strip(): m for m in messages}
    made = joined_messages(messages, 60, seed=3, parts=(2, 3), risk_share=0.5)
    assert len(made) == 60
    assert len({m.id for m in made}) == 60
    for message in made:
        parts = [m for text, m in by_text.items() if text in message.text]
        assert parts, message.text
        # every gold label comes from a part the message contains
        assert set(message.themes) <= {t for m in parts for t in m.themes}
        assert set(message.signals) <= {s for m in parts for s in m.signals}
        assert message.safeguarding in {None, *(m.safeguarding for m in parts)}


def test_risk_goes_into_about_the_share_asked_and_at_most_once() -> None:
    messages = starter()
    risky_texts = [m.text.strip() for m in messages if m.safeguarding]
    made = joined_messages(messages, 400, seed=1, parts=(3, 4), risk_share=0.5)
    with_risk = [m for m in made if m.safeguarding]
    assert 150 <= len(with_risk) <= 250
    for message in made:
        assert sum(message.text.count(text) for text in risky_texts) <= 1
    assert not any(m.safeguarding for m in joined_messages(messages, 50, seed=1, risk_share=0))


def test_same_seed_same_messages_other_seed_others() -> None:
    messages = starter()
    assert joined_messages(messages, 20, seed=7) == joined_messages(messages, 20, seed=7)
    assert joined_messages(messages, 20, seed=7) != joined_messages(messages, 20, seed=8)


def test_no_calm_messages_gives_nothing() -> None:
    risky = [m for m in starter() if m.safeguarding]
    assert joined_messages(risky, 10, seed=0) == []


def test_long_probe_is_a_quarter_of_the_messages_with_three_or_four_calm_parts() -> None:
    messages = starter()
    calm_texts = [m.text.strip() for m in messages if not m.safeguarding]
    probe = long_probe(messages, seed=5)
    assert len(probe) == len(messages) // 4
    for message in probe:
        found = sum(1 for text in calm_texts if text in message.text)
        assert found >= 3  # a short calm text can also sit inside a longer one


def test_long_examples_are_added_to_training_with_their_labels() -> None:
    codebook = load_codebook()
    nlp = blank_pipeline(codebook)
    plain = BuildSettings(use_examples=False)
    add_classifier(nlp, classifier_labels(codebook), plain)
    messages = starter()[:30]
    base = training_examples(nlp, messages, codebook, plain)
    more = training_examples(
        nlp, messages, codebook, BuildSettings(use_examples=False, long_examples=12)
    )
    assert len(more) == len(base) + 12
    joined = joined_messages(messages, 12, plain.seed + 1)
    for example, message in zip(more[len(base) :], joined, strict=True):
        assert example.reference.text == message.text
        cats = example.reference.cats
        assert {label for label, value in cats.items() if value} == {
            *message.themes,
            *message.signals,
            *((message.safeguarding, RISK_LABEL) if message.safeguarding else ()),
        }


@settings(max_examples=50, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=30),
    seed=st.integers(min_value=0, max_value=10_000),
    low=st.integers(min_value=1, max_value=4),
    extra=st.integers(min_value=0, max_value=3),
)
def test_any_count_seed_and_part_range(count: int, seed: int, low: int, extra: int) -> None:
    messages = starter()
    made = joined_messages(messages, count, seed, parts=(low, low + extra), risk_share=0.3)
    assert len(made) == count
    for message in made:
        assert message.text.strip() == message.text
        assert len(message.themes) == len(set(message.themes))


def test_cross_validation_scores_long_messages_and_tunes_risk_windows() -> None:
    """Each fold's held-out messages are joined and scored by that fold's model; the
    threshold search then also picks how much a window counts, within the budget."""
    codebook, messages = load_codebook(), starter()
    settings = BuildSettings(epochs=2, window=8)
    held = cross_validate(codebook, messages, settings, long=True)
    assert held.long is not None
    assert (
        len(held.long.messages)
        == len(held.long.docs)
        == sum(len(fold) // 4 for fold in folds(messages, 5, settings.seed))
    )
    assert all(len(doc) > 8 for doc in held.long.docs)  # all long enough to have windows
    assert all(WINDOW_ROWS_KEY in doc.user_data for doc in held.long.docs)
    policy = policy_for(codebook, settings)
    tuned = tune_thresholds(held, policy)
    assert tuned.risk_window in RISK_WINDOW_GRID
    # the strong risk phrases' floor is searched too, never above the weak-risk threshold
    assert tuned.strong_risk in STRONG_RISK_GRID
    assert tuned.strong_risk <= tuned.weak_risk
    plain = tune_thresholds(replace(held, long=None), policy)
    assert plain.risk_window == policy.thresholds.risk_window  # not searched without long ones
    # a build without window scores keeps the strong-phrase floor at its default (0)
    assert tune_thresholds(held, policy, window_scores=False).strong == 0.0
    for thresholds, pool in ((tuned, held), (tuned, held.long)):
        figures = score(pool, replace(policy, thresholds=thresholds), "check").safeguarding
        budget = MAX_FALSE_ALARMS * (LONG_FALSE_ALARM_FACTOR if pool is held.long else 1)
        if thresholds.safeguarding != SAFEGUARDING_GRID[-1]:  # the fallback when none fits
            assert figures.false_alarm_rate <= budget + 1e-9
