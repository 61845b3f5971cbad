"""The tagger: labels with evidence whose offsets slice the text exactly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from themes import SpacyTagger, TagResult, load_codebook
from themes.classifier import doc_scores
from themes.components import RULES_KEY, rule_spans

SAMPLES = [
    "the damp in our flat is making my little girls asthma worse",
    "cant get a gp appointment for love nor money",
    "THE BUSES ARE NEVER ON TIME 😡😡",
    "I'd love to meet other mums round here, its lonely",
    "ok",
    "",
    "   ",
    "👍",
    "nobody ever asks us what we want, they just decide in the town hall",
    "the walls are black again in the back bedroom",
]


def assert_evidence_is_exact(text: str, result: TagResult) -> None:
    labels = {*result.themes, *result.signals}
    if result.safeguarding:
        labels.add(result.safeguarding)
    assert {e.label for e in result.evidence} == labels
    for evidence in result.evidence:
        assert 0 <= evidence.start <= evidence.end <= len(text)
        assert text[evidence.start : evidence.end] == evidence.text


def test_every_label_has_exact_evidence(tagger: SpacyTagger) -> None:
    for text in SAMPLES:
        assert_evidence_is_exact(text, tagger.tag(text))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=120))
def test_evidence_is_exact_for_any_text(tagger: SpacyTagger, text: str) -> None:
    assert_evidence_is_exact(text, tagger.tag(text))


def test_labels_are_codebook_ids(tagger: SpacyTagger) -> None:
    codebook = load_codebook()
    result = tagger.tag("the park is lovely but the bus fares are a joke, I'd help run a group")
    assert set(result.themes) <= set(codebook.ids("theme"))
    assert set(result.signals) <= set(codebook.ids("signal"))
    order = codebook.ids("theme")
    assert list(result.themes) == sorted(result.themes, key=order.index)


def test_tag_many_matches_tag_and_carries_the_version(tagger: SpacyTagger) -> None:
    one_by_one = [tagger.tag(text) for text in SAMPLES]
    batched = list(tagger.tag_many(SAMPLES, batch_size=3))
    assert batched == one_by_one
    assert all(result.version == tagger.version for result in batched)
    assert tagger.version.count("-") == 1


def test_paraphrase_without_keywords(tagger: SpacyTagger) -> None:
    result = tagger.tag("the walls are black again in the back bedroom")
    assert "housing" in result.themes


def test_json_shape(tagger: SpacyTagger) -> None:
    data = tagger.tag("bins").to_json()
    assert set(data) == {"themes", "signals", "safeguarding", "evidence"}
    assert all(set(e) == {"label", "start", "end", "text"} for e in data["evidence"])


def test_rule_spans_and_scores_can_be_read_back(tagger: SpacyTagger) -> None:
    doc = tagger.nlp("the bins are overflowing and the bus never comes")
    spans = rule_spans(doc, RULES_KEY)
    assert {"environment", "transport"} <= {span.label_ for span in spans}
    scores = doc_scores(doc, list(tagger.policy.columns))
    assert set(scores) >= {"environment", "transport", "any_risk"}
    assert all(0.0 <= value <= 1.0 for value in scores.values())
