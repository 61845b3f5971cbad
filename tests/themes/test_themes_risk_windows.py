"""The safeguarding decision in long messages reads the window scores the classifier kept.

A worry buried in a long message is diluted in the whole-message score, and one figurative
phrase elsewhere ("this queue is killing me") would otherwise silence the classifier's second
opinion for the whole message. These tests drive the decision with real spaCy docs whose
classifier scores and phrase hits are set by hand, so each rule is checked on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from spacy.language import Language
from spacy.tokens import Doc

from themes import SpacyTagger, load_tagger
from themes.build import RISK_LABEL, BuildSettings, Thresholds, blank_pipeline
from themes.classifier import SCORES_KEY, WINDOW_ROWS_KEY, ScoreRowTextCategorizer
from themes.codebook import Codebook, load_codebook
from themes.components import RISK_KEY, RULES_KEY, VETOED_KEY, pipe_of
from themes.decide import Policy, decide, safeguarding_of
from themes.experiments import SAFEGUARDING_GRID, HeldOut, policy_for, tune_thresholds
from themes.labelled import LabelledMessage, read_labelled
from themes.phrases import RuleHit
from themes.training import build_to
from themes.types import CharRange

LONG = " ".join(["the bus was late again and the park is a mess"] * 6)  # 66 tokens
THRESHOLDS = Thresholds(theme=0.9, signal=0.9, safeguarding=0.6, weak=0.3, weak_risk=0.4)


@pytest.fixture(scope="module")
def codebook() -> Codebook:
    return load_codebook()


@pytest.fixture(scope="module")
def policy(codebook: Codebook) -> Policy:
    return policy_for(codebook, BuildSettings(thresholds=THRESHOLDS))


# keyed by id (a Codebook is not hashable); the codebook is kept so its id is not reused
_BLANK: dict[int, tuple[Codebook, Language]] = {}


def _blank(codebook: Codebook) -> Language:
    """One blank pipeline per codebook: building its phrase matchers takes a while."""
    if id(codebook) not in _BLANK:
        _BLANK[id(codebook)] = (codebook, blank_pipeline(codebook))
    return _BLANK[id(codebook)][1]


def scored_doc(
    codebook: Codebook,
    policy: Policy,
    whole: dict[str, float],
    windows: list[tuple[int, int, dict[str, float]]],
    risk: Sequence[RuleHit] = (),
    vetoed: Sequence[RuleHit] = (),
) -> Doc:
    doc = _blank(codebook).make_doc(LONG)

    def row(scores: dict[str, float]) -> list[float]:
        values = [0.0] * len(policy.columns)
        for label, value in scores.items():
            values[policy.columns[label]] = value
        return values

    doc.user_data[SCORES_KEY] = row(whole)
    doc.user_data[WINDOW_ROWS_KEY] = [(start, end, row(s)) for start, end, s in windows]
    doc.user_data[RISK_KEY] = list(risk)
    doc.user_data[VETOED_KEY] = list(vetoed)
    doc.user_data[RULES_KEY] = []
    return doc


def with_window(policy: Policy, weight: float) -> Policy:
    return replace(policy, thresholds=replace(policy.thresholds, risk_window=weight))


def test_weak_phrase_is_judged_by_the_window_it_lies_in(codebook: Codebook, policy: Policy) -> None:
    weak = RuleHit("suicide_self_harm", 30, 31, True)
    doc = scored_doc(
        codebook,
        policy,
        whole={RISK_LABEL: 0.2, "suicide_self_harm": 0.1},
        windows=[(0, 20, {RISK_LABEL: 0.05}), (20, 40, {RISK_LABEL: 0.7}), (40, 60, {})],
        risk=[weak],
    )
    assert safeguarding_of(doc, policy) is None  # diluted: 0.2 < weak_risk 0.4
    assert safeguarding_of(doc, with_window(policy, 0.7)) == "suicide_self_harm"  # 0.49
    assert safeguarding_of(doc, with_window(policy, 0.5)) is None  # 0.35 < 0.4
    result = decide(doc, with_window(policy, 0.7), no_evidence, text=LONG)
    assert result.safeguarding == "suicide_self_harm"
    assert "mental_wellbeing" in result.themes  # implied, as for any flag
    spans = [e for e in result.evidence if e.label == "suicide_self_harm"]
    assert spans and spans[0].start == doc[30].idx  # the weak phrase is the evidence


def test_a_window_the_weak_phrase_is_not_in_does_not_count(
    codebook: Codebook, policy: Policy
) -> None:
    doc = scored_doc(
        codebook,
        policy,
        whole={RISK_LABEL: 0.2},
        windows=[(0, 20, {RISK_LABEL: 0.9}), (20, 40, {RISK_LABEL: 0.1})],
        risk=[RuleHit("abuse", 25, 27, True)],
    )
    # the second opinion needs 0.6 from a window: 0.9 * 0.5 is not enough ...
    assert safeguarding_of(doc, with_window(policy, 0.5)) is None
    # ... and the weak phrase's own window (0.1) does not reach weak_risk either


def test_second_opinion_comes_from_a_window_clear_of_a_vetoed_phrase(
    codebook: Codebook, policy: Policy
) -> None:
    vetoed = [RuleHit("suicide_self_harm", 5, 7, False)]  # "killing me", cancelled
    doc = scored_doc(
        codebook,
        policy,
        whole={RISK_LABEL: 0.8, "abuse": 0.6, "suicide_self_harm": 0.7},
        windows=[
            (0, 20, {RISK_LABEL: 0.95, "suicide_self_harm": 0.9}),
            (30, 50, {RISK_LABEL: 0.8, "abuse": 0.7, "suicide_self_harm": 0.1}),
        ],
        vetoed=vetoed,
    )
    # whole-message only: an exception cancelled a phrase, the classifier may not overrule it
    assert safeguarding_of(doc, policy) is None
    # the window with the cancelled phrase still may not; the one clear of it may, with the
    # category it scores highest
    assert safeguarding_of(doc, with_window(policy, 0.8)) == "abuse"  # 0.8 * 0.8 = 0.64
    assert safeguarding_of(doc, with_window(policy, 0.7)) is None  # 0.56 < 0.6


def test_without_a_veto_the_whole_message_still_decides(codebook: Codebook, policy: Policy) -> None:
    doc = scored_doc(
        codebook,
        policy,
        whole={RISK_LABEL: 0.65, "emergency": 0.5, "abuse": 0.2},
        windows=[(0, 20, {RISK_LABEL: 0.3, "abuse": 0.9})],
    )
    assert safeguarding_of(doc, policy) == "emergency"
    assert safeguarding_of(doc, with_window(policy, 1.0)) == "emergency"  # whole 0.65 > 0.3


def test_strong_phrase_flags_whatever_the_scores(codebook: Codebook, policy: Policy) -> None:
    doc = scored_doc(
        codebook,
        policy,
        whole={RISK_LABEL: 0.0},
        windows=[(0, 20, {RISK_LABEL: 0.0})],
        risk=[RuleHit("emergency", 40, 42, False)],
    )
    assert safeguarding_of(doc, policy) == "emergency"
    assert safeguarding_of(doc, with_window(policy, 0.6)) == "emergency"


def test_textcat_keeps_window_rows_on_long_docs_only(tmp_path: Path, codebook: Codebook) -> None:
    starter = Path(__file__).resolve().parents[2] / "themes" / "data" / "labelled" / "starter.jsonl"
    built = build_to(
        tmp_path / "p",
        codebook,
        read_labelled(starter)[:40],
        tune=False,
        settings=BuildSettings(epochs=2, window=8),
        today=date(2026, 11, 26),
    )
    tagger = load_tagger(built.path)
    textcat = pipe_of(tagger.nlp, "lp_textcat", ScoreRowTextCategorizer)
    assert textcat.window_rows  # saved in the pipeline's config
    short, long = tagger.nlp("the bus is late"), tagger.nlp(LONG)
    assert WINDOW_ROWS_KEY not in short.user_data
    rows = long.user_data[WINDOW_ROWS_KEY]
    assert [(start, end) for start, end, _ in rows][:3] == [(0, 8), (4, 12), (8, 16)]
    assert rows[-1][1] == len(long)
    width = len(long.user_data[SCORES_KEY])
    assert all(len(row) == width and all(0.0 <= v <= 1.0 for v in row) for _, _, row in rows)
    off = build_to(
        tmp_path / "off",
        codebook,
        read_labelled(starter)[:40],
        tune=False,
        settings=BuildSettings(epochs=2, window=8, window_rows=False),
        today=date(2026, 11, 26),
    )
    assert WINDOW_ROWS_KEY not in load_tagger(off.path).nlp(LONG).user_data
    # predict() leaves the docs alone (spaCy's contract); set_annotations writes the rows, to
    # the long docs of the batch only, and piping a batch gives what one doc at a time gives
    batch = [tagger.nlp.make_doc(text) for text in ("the bus is late", LONG, "ok", LONG + " x")]
    for name, component in tagger.nlp.pipeline:
        if name == "lp_textcat":
            break
        batch = [component(doc) for doc in batch]
    predicted = textcat.predict(batch)
    assert all(WINDOW_ROWS_KEY not in doc.user_data for doc in batch)
    assert all(SCORES_KEY not in doc.user_data for doc in batch)
    textcat.set_annotations(batch, predicted)
    assert [WINDOW_ROWS_KEY in doc.user_data for doc in batch] == [False, True, False, True]
    piped = list(tagger.nlp.pipe(["the bus is late", LONG, "ok", LONG + " x"], batch_size=4))
    for one_batch, one_by_one in zip(batch, piped, strict=True):
        assert one_batch.user_data.get(WINDOW_ROWS_KEY) == one_by_one.user_data.get(WINDOW_ROWS_KEY)
    assert piped[1].user_data[WINDOW_ROWS_KEY] == tagger.nlp(LONG).user_data[WINDOW_ROWS_KEY]


def test_strong_theme_phrase_needs_the_strong_floor(codebook: Codebook, policy: Policy) -> None:
    """A passing mention ("the bus" in a message about something else) scores near 0."""
    doc = scored_doc(codebook, policy, whole={"transport": 0.03, "green_spaces": 0.4}, windows=[])
    doc.user_data[RULES_KEY] = [
        RuleHit("transport", 1, 2, False),
        RuleHit("green_spaces", 8, 9, False),
        RuleHit("environment", 5, 6, True),
    ]
    floor = replace(policy, thresholds=replace(policy.thresholds, strong=0.05))
    assert decide(doc, policy, no_evidence, text=LONG).themes == ("transport", "green_spaces")
    assert decide(doc, floor, no_evidence, text=LONG).themes == ("green_spaces",)
    # a weak phrase still needs the (higher) weak threshold
    doc.user_data[SCORES_KEY][policy.columns["environment"]] = 0.2
    assert "environment" not in decide(doc, floor, no_evidence, text=LONG).themes
    doc.user_data[SCORES_KEY][policy.columns["environment"]] = 0.35
    assert "environment" in decide(doc, floor, no_evidence, text=LONG).themes


def no_evidence(doc: Doc, text: str, label: str, within: CharRange | None = None) -> None:
    return None


def test_window_flag_cites_evidence_from_that_window(tagger: SpacyTagger) -> None:
    """A reviewer must be shown the part of a long message that raised the flag."""
    text = (
        "the buses are always late and the driver shouted at the kids again, the park is "
        "full of litter and nobody empties the bins, my neighbour says the council does "
        "not care about the estate, the library shut last year and the youth club went too"
    )
    doc = tagger.nlp(text)
    assert len(doc) > 40
    free = tagger.attribute.span(doc, "abuse")
    assert free is not None
    first = next(token.i for token in doc if token.idx >= free[0])
    window = (len(doc) - 20, len(doc)) if first < len(doc) - 20 else (0, 20)
    columns = tagger.policy.columns
    whole = [0.0] * len(columns)
    row = [0.0] * len(columns)
    row[columns[RISK_LABEL]], row[columns["abuse"]] = 0.95, 0.9
    doc.user_data[SCORES_KEY] = whole
    doc.user_data[WINDOW_ROWS_KEY] = [(window[0], window[1], row)]
    doc.user_data[RISK_KEY] = doc.user_data[VETOED_KEY] = []
    policy = with_window(tagger.policy, 1.0)
    result = decide(doc, policy, tagger.attribute, text=text)
    assert result.safeguarding == "abuse"
    cited = [e for e in result.evidence if e.label == "abuse"]
    last = doc[window[1] - 1]
    assert cited and doc[window[0]].idx <= cited[0].start
    assert cited[0].end <= last.idx + len(last.text)
    assert text[cited[0].start : cited[0].end] == cited[0].text
    assert (cited[0].start, cited[0].end) != free  # not where the whole message points


def with_floor(policy: Policy, floor: float, weight: float = 0.0) -> Policy:
    thresholds = replace(policy.thresholds, strong_risk=floor, risk_window=weight)
    return replace(policy, thresholds=thresholds)


def test_a_strong_phrase_the_classifier_finds_calm_is_held_by_the_floor(
    codebook: Codebook, policy: Policy
) -> None:
    # "tried to end it years back ... I'm good now": the phrase matched, the classifier,
    # trained on resolved pasts and news, scores the message near 0
    strong = RuleHit("suicide_self_harm", 30, 33, False)
    doc = scored_doc(
        codebook,
        policy,
        whole={RISK_LABEL: 0.03, "suicide_self_harm": 0.02},
        windows=[(20, 40, {RISK_LABEL: 0.08})],
        risk=[strong],
    )
    assert safeguarding_of(doc, policy) == "suicide_self_harm"  # no floor: the phrase decides
    assert safeguarding_of(doc, with_floor(policy, 0.1)) is None  # 0.03 and its window 0.08
    # the window the phrase lies in counts at full weight, risk windows on or off
    assert safeguarding_of(doc, with_floor(policy, 0.05)) == "suicide_self_harm"
    assert safeguarding_of(doc, with_floor(policy, 0.05, weight=0.5)) == "suicide_self_harm"
    # a window the phrase is not in does not count
    elsewhere = scored_doc(
        codebook,
        policy,
        whole={RISK_LABEL: 0.03},
        windows=[(0, 20, {RISK_LABEL: 0.9}), (20, 40, {RISK_LABEL: 0.04})],
        risk=[strong],
    )
    assert safeguarding_of(elsewhere, with_floor(policy, 0.05)) is None


def suicide_then_other(
    codebook: Codebook, policy: Policy, whole: dict[str, float], other: RuleHit
) -> Doc:
    """A strong suicide phrase in a calm first window (0.01) and `other` in a risky third
    window (0.9)."""
    windows = [(0, 20, {RISK_LABEL: 0.01}), (40, 60, {RISK_LABEL: 0.9})]
    first = RuleHit("suicide_self_harm", 5, 7, False)
    return scored_doc(codebook, policy, whole, windows, risk=[first, other])


def test_the_floor_passes_a_strong_phrase_of_a_lower_category_the_classifier_backs(
    codebook: Codebook, policy: Policy
) -> None:
    whole = {RISK_LABEL: 0.3, "emergency": 0.3}
    doc = suicide_then_other(codebook, policy, whole, RuleHit("emergency", 45, 47, False))
    # the whole message (0.3) clears a 0.2 floor for both: priority order gives suicide first
    assert safeguarding_of(doc, with_floor(policy, 0.2)) == "suicide_self_harm"
    # a 0.35 floor: only the emergency phrase's window (0.9) clears it
    assert safeguarding_of(doc, with_floor(policy, 0.35)) == "emergency"
    assert safeguarding_of(doc, with_floor(policy, 0.35, weight=0.6)) == "emergency"
    # no window rows kept (a short message, or a build without them): the whole message
    # decides, and 0.3 is also under weak_risk 0.4, so nothing flags
    del doc.user_data[WINDOW_ROWS_KEY]
    assert safeguarding_of(doc, with_floor(policy, 0.35)) is None


def test_a_held_strong_phrase_does_not_choose_the_category(
    codebook: Codebook, policy: Policy
) -> None:
    whole = {RISK_LABEL: 0.02, "suicide_self_harm": 0.9, "abuse": 0.1}
    doc = suicide_then_other(codebook, policy, whole, RuleHit("abuse", 45, 46, True))
    # the strong phrase is under a 0.05 floor; the weak abuse phrase's window (0.9) flags,
    # and the category is the weak phrase's, not the held one's (which the classifier prefers)
    assert safeguarding_of(doc, with_floor(policy, 0.05, weight=1.0)) == "abuse"


def test_a_floor_above_weak_risk_counts_as_weak_risk(codebook: Codebook, policy: Policy) -> None:
    doc = scored_doc(
        codebook,
        policy,
        whole={RISK_LABEL: 0.45},
        windows=[],
        risk=[RuleHit("emergency", 5, 7, False)],
    )
    # weak_risk is 0.4: a floor of 0.6 set by hand acts as 0.4, whichever path is read
    assert safeguarding_of(doc, with_floor(policy, 0.6)) == "emergency"
    assert safeguarding_of(doc, with_floor(policy, 0.6, weight=0.5)) == "emergency"


def test_without_a_classifier_the_floor_does_not_apply(codebook: Codebook, policy: Policy) -> None:
    doc = scored_doc(
        codebook, policy, whole={RISK_LABEL: 0.0}, windows=[], risk=[RuleHit("abuse", 5, 7, False)]
    )
    rules_only = replace(with_floor(policy, 0.3), use_classifier=False)
    assert safeguarding_of(doc, rules_only) == "abuse"


def held_out(codebook: Codebook, policy: Policy, near_misses: int) -> HeldOut:
    """10 risk messages with a strong phrase (any-risk 0.5), `near_misses` calm ones with the
    same phrase (0.02) and 80 calm ones without (0.01)."""
    docs, messages = [], []
    rows = [(0.5, "suicide_self_harm", True)] * 10 + [(0.02, None, True)] * near_misses
    rows += [(0.01, None, False)] * 80
    for number, (risk, gold, phrase) in enumerate(rows):
        hits = [RuleHit("suicide_self_harm", 5, 7, False)] if phrase else []
        docs.append(scored_doc(codebook, policy, {RISK_LABEL: risk}, [], risk=hits))
        messages.append(LabelledMessage(f"m{number}", LONG, safeguarding=gold))
    return HeldOut(messages, docs, _blank(codebook))


def test_the_floor_is_searched_only_when_it_buys_recall(codebook: Codebook, policy: Policy) -> None:
    held = held_out(codebook, policy, near_misses=10)
    # no floor: 10 of 90 calm messages flagged, far over any budget; the lowest floor that
    # holds the near misses and keeps every risk message wins the tie among floors
    assert tune_thresholds(held, policy).strong_risk == 0.05
    # without window rows the floor is not searched, nothing keeps to the budget, and the
    # search falls back to its most cautious settings
    fallback = tune_thresholds(held, policy, window_rows=False)
    assert fallback.strong_risk == 0.0
    assert fallback.safeguarding == SAFEGUARDING_GRID[-1]
    # with no near misses no floor is needed, and none is chosen (recall first)
    calm = held_out(codebook, policy, near_misses=0)
    assert tune_thresholds(calm, policy).strong_risk == 0.0
