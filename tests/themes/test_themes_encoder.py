"""The risk encoder: a fine-tuned transformer read with onnxruntime, asked about the messages
the phrases and the classifier leave unflagged. These sentences are not in any labelled file."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from themes import SpacyTagger, load_tagger
from themes.build import META_KEY, BuildSettings, Thresholds
from themes.codebook import load_codebook
from themes.decide import decide_spans
from themes.encoder import (
    ENCODER,
    ENCODER_KEY,
    ENCODER_LABELS_KEY,
    RiskEncoder,
    digest_of,
    shipped_encoder_path,
)
from themes.experiments import HeldOut, blend_search, processed, score
from themes.labelled import LabelledMessage, read_labelled
from themes.training import BuildOutcome, build_to

RunTag = Callable[..., subprocess.CompletedProcess[str]]  # the run_tag fixture

# Quiet, indirect wording: no risk phrase in the codebook, and the bag-of-words classifier
# scores it under its threshold; the encoder reads the context.
ENCODER_ONLY = [
    "every night I stand on the balcony a bit longer than the night before",
    "Sold my bike and paid back everyone I owe. Feels like closing the book",
]
CALM = [
    "this queue is killing me lol",
    "I could murder a cup of tea after that meeting",
    "our youth club needs more volunteers on a Tuesday",
    "the bus was late again and the driver was rude",
]
STARTER = Path(__file__).resolve().parents[2] / "themes" / "data" / "labelled" / "starter.jsonl"
SPLITS = Path(__file__).resolve().parents[2] / "tests" / "data" / "labelled"


@pytest.fixture(scope="module")
def fast_tagger() -> SpacyTagger:
    """The shipped pipeline without its encoder."""
    return load_tagger(encoder=False)


@pytest.fixture(scope="module")
def encoder() -> RiskEncoder:
    return RiskEncoder(shipped_encoder_path())


def test_the_shipped_pipeline_carries_the_encoder_it_was_built_with(
    tagger: SpacyTagger, fast_tagger: SpacyTagger
) -> None:
    assert tagger.uses_encoder and not fast_tagger.uses_encoder
    assert ENCODER in tagger.nlp.pipe_names and ENCODER not in fast_tagger.nlp.pipe_names
    assert 0 < tagger.policy.thresholds.encoder < 1
    meta = tagger.nlp.meta[META_KEY]
    assert meta["encoder"]["digest"] == digest_of(shipped_encoder_path())
    assert tagger.version == fast_tagger.version  # one pipeline, read with or without it


def test_risk_scores_high_and_calm_scores_low(encoder: RiskEncoder) -> None:
    scores = encoder.scores(ENCODER_ONLY + CALM)
    assert all(0.0 <= p <= 1.0 for p in scores)
    assert min(scores[: len(ENCODER_ONLY)]) > 0.9
    assert max(scores[len(ENCODER_ONLY) :]) < 0.1


def test_a_message_scores_the_same_alone_and_in_any_batch(encoder: RiskEncoder) -> None:
    texts = [*ENCODER_ONLY, *CALM, "ok", "x " * 300]  # the last is cut at 128 word pieces
    together = encoder.scores(texts)
    backwards = encoder.scores(texts[::-1])[::-1]
    alone = [encoder.scores([text])[0] for text in texts]
    assert together == backwards == alone
    assert encoder.scores([]) == []


@pytest.mark.parametrize("text", ENCODER_ONLY)
def test_the_encoder_flags_what_phrases_and_classifier_miss(
    tagger: SpacyTagger, fast_tagger: SpacyTagger, text: str
) -> None:
    assert fast_tagger.tag(text).safeguarding is None
    result = tagger.tag(text)
    assert result.safeguarding == "suicide_self_harm"
    assert "mental_wellbeing" in result.themes  # implied, as for a phrase
    evidence = [e for e in result.evidence if e.label == result.safeguarding]
    assert evidence and all(text[e.start : e.end] == e.text for e in evidence)


@pytest.mark.parametrize("text", CALM)
def test_the_encoder_leaves_calm_and_figurative_messages_alone(
    tagger: SpacyTagger, text: str
) -> None:
    assert tagger.tag(text).safeguarding is None


def test_the_decision_asks_the_encoder_only_at_or_over_its_threshold(
    fast_tagger: SpacyTagger,
) -> None:
    text = "the bus was late again and the driver was rude"
    doc = fast_tagger.nlp(text)

    def category(p: float | None, threshold: float) -> str | None:
        doc.user_data.pop(ENCODER_KEY, None)
        if p is not None:
            doc.user_data[ENCODER_KEY] = p
        thresholds = replace(fast_tagger.policy.thresholds, encoder=threshold)
        policy = replace(fast_tagger.policy, thresholds=thresholds)
        return decide_spans(doc, policy, fast_tagger._find, len(text)).safeguarding

    assert category(0.95, 0.9) is not None
    assert category(0.9, 0.9) is not None
    assert category(0.89, 0.9) is None
    assert category(0.99, 0.0) is None  # 0: the build chose not to ask it
    assert category(None, 0.9) is None  # a pipeline read without the encoder


def test_theme_and_signal_scores_blend_the_encoder_in_by_its_weight(
    fast_tagger: SpacyTagger,
) -> None:
    text = "the bus was late again and the driver was rude"
    doc = fast_tagger.nlp(text)
    row = fast_tagger.policy.scores(doc)
    assert row["food"] < 0.2 and row["transport"] > 0.9  # the classifier's own view

    def labels(encoded: dict[str, float] | None, weight: float) -> tuple[str, ...]:
        doc.user_data.pop(ENCODER_LABELS_KEY, None)
        if encoded is not None:
            doc.user_data[ENCODER_LABELS_KEY] = encoded
        thresholds = replace(fast_tagger.policy.thresholds, encoder_weight=weight, theme=0.5)
        policy = replace(fast_tagger.policy, thresholds=thresholds)
        decided = decide_spans(doc, policy, fast_tagger._find, len(text))
        assert all(label in {e[0] for e in decided.evidence} for label in decided.themes)
        return decided.themes

    sure = {"food": 1.0, "transport": 0.0}
    assert "food" not in labels(sure, 0.0)  # weight 0: the classifier alone
    assert "food" not in labels(None, 0.9)  # no encoder opinions: the classifier alone
    # (1 - w) * classifier + w * encoder reaches 0.5 for food only from about w = 0.45
    assert "food" not in labels(sure, 0.3) and "food" in labels(sure, 0.6)
    # transport: a strong phrase ("bus") keeps it while the blend stays over the 0.1 floor
    assert "transport" in labels(sure, 0.6)
    assert "transport" not in labels({"transport": 0.0}, 1.0)  # all encoder, under the floor


def test_themes_tag_with_and_without_the_encoder(run_tag: RunTag) -> None:
    lines = "".join(
        json.dumps({"id": i, "text": text}) + "\n" for i, text in enumerate(ENCODER_ONLY * 40)
    )

    def tagged(*options: str) -> list[str | None]:
        done = run_tag(lines, *options)
        assert done.returncode == 0, done.stderr
        return [json.loads(line)["safeguarding"] for line in done.stdout.splitlines()]

    # two forked workers, each with its own onnxruntime session, as one process does
    assert tagged("--workers", "2") == tagged("--workers", "1") == ["suicide_self_harm"] * 80
    assert tagged("--no-encoder") == [None] * 80


def test_a_build_with_the_encoder_saves_it_and_calibrates_its_threshold(tmp_path: Path) -> None:
    codebook, messages = load_codebook(), read_labelled(STARTER)
    train, calibration = messages[:40], messages[40:]

    def build(name: str, calibrate: bool, encoder: Path | None) -> BuildOutcome:
        return build_to(
            tmp_path / name,
            codebook,
            train,
            tune=False,
            settings=BuildSettings(epochs=3),
            today=date(2026, 11, 26),
            calibration=calibration if calibrate else [],
            encoder=encoder,
        )

    plain = build("plain", True, None)
    built = build("encoder", True, shipped_encoder_path())
    assert built.version != plain.version  # the encoder's files are part of the version
    assert plain.settings.thresholds.encoder == 0
    assert (built.path / ENCODER / "model.onnx").is_file()
    loaded = load_tagger(built.path)
    assert ENCODER in loaded.nlp.pipe_names
    assert loaded.policy.thresholds == built.settings.thresholds
    assert built.calibrated is not None and plain.calibrated is not None
    # the search may leave the encoder out (0) but never loses recall by asking it
    found = built.calibrated.summary()["safeguarding_recall"]
    assert found >= plain.calibrated.summary()["safeguarding_recall"]
    # without calibration nothing chooses its threshold, so it is not asked
    assert build("uncalibrated", False, shipped_encoder_path()).settings.thresholds.encoder == 0


def test_a_build_refuses_a_folder_without_an_exported_encoder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no exported risk encoder"):
        build_to(
            tmp_path / "out",
            load_codebook(),
            read_labelled(STARTER)[:20],
            tune=False,
            settings=BuildSettings(epochs=1),
            encoder=tmp_path,
        )


@pytest.fixture(scope="module")
def development(fast_tagger: SpacyTagger) -> HeldOut:
    """150 development messages (never trained on) read by the shipped pipeline."""
    messages = read_labelled(SPLITS / "holdout_b.jsonl")[:150]
    return processed(fast_tagger.nlp, messages)


def _with_labels(held: HeldOut, opinion: Callable[[LabelledMessage], dict[str, float]]) -> None:
    for message, doc in zip(held.messages, held.docs, strict=True):
        doc.user_data[ENCODER_LABELS_KEY] = opinion(message)


def test_the_calibration_weighs_an_encoder_by_what_it_gets_right(
    fast_tagger: SpacyTagger, development: HeldOut
) -> None:
    policy = fast_tagger.policy
    labels = (*policy.themes, *policy.signals)
    start = score(development, policy, "shipped")

    # an encoder that always knows: the calibration leans on it and the figures rise
    _with_labels(development, lambda m: {x: float(x in _gold(m)) for x in labels})
    knowing = blend_search(development, policy, policy.thresholds)
    assert knowing.encoder_weight > 0
    blended = score(development, replace(policy, thresholds=knowing), "knowing")
    assert blended.themes.micro_f1 > start.themes.micro_f1 + 0.05
    assert blended.signals.micro_f1 > start.signals.micro_f1 + 0.05
    # the safeguarding settings are not the blend's to change
    assert replace(knowing, **_blend_fields(policy.thresholds)) == policy.thresholds

    # an encoder that is always wrong: the classifier alone (weight 0) is kept
    _with_labels(development, lambda m: {x: float(x not in _gold(m)) for x in labels})
    assert blend_search(development, policy, policy.thresholds).encoder_weight == 0.0


def _gold(message: LabelledMessage) -> set[str]:
    return {*message.themes, *message.signals}


def _blend_fields(thresholds: Thresholds) -> dict[str, float]:
    """The thresholds blend_search may choose, as they were."""
    names = ("encoder_weight", "weak", "strong", "theme", "signal")
    return {name: getattr(thresholds, name) for name in names}
