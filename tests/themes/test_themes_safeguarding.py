"""Safeguarding is recall-first: direct and indirect risk is flagged, figurative speech and
negations are not. These sentences are not in the training files."""

from __future__ import annotations

import pytest

from themes import SpacyTagger

DIRECT = [
    ("I want to kill myself", "suicide_self_harm"),
    ("been self harming again since xmas", "suicide_self_harm"),
    ("i'm going to take all my tablets tonight", "suicide_self_harm"),
    ("my boyfriend hits me when he's angry", "abuse"),
    ("my husband won't let me out of the house and took my bank card", "abuse"),
    ("there's a fire in the flat below and people are still inside", "emergency"),
    ("my grandad has collapsed and he's not breathing", "emergency"),
]
INDIRECT = [
    ("everyone would be better off without me tbh", "suicide_self_harm"),
    ("i just want to go to sleep and never wake up", "suicide_self_harm"),
    ("dnt wnt 2 b here anymre", "suicide_self_harm"),
    ("I'm scared to go home, he said he'll kill me if I leave", "abuse"),
    ("the kid upstairs always has bruises and I hear him screaming at night", "abuse"),
    ("strong smell of gas on the landing and nobody's come", "emergency"),
    ("not eaten for 4 days, nothing in the cupboards", "emergency"),
]
FIGURATIVE = [
    "this queue is killing me",
    "I could murder a coffee",
    "the buses drive me mad",
    "that traffic will be the death of me",
    "I'm dying to see the new playground",
    "my feet are killing me after that walk",
]
NEGATED = [
    "I'm not suicidal, just fed up with the damp",
    "no I'm fine, not thinking of hurting myself, just the bins again",
]


@pytest.mark.parametrize(("text", "category"), DIRECT + INDIRECT)
def test_risk_is_flagged_with_its_category(tagger: SpacyTagger, text: str, category: str) -> None:
    result = tagger.tag(text)
    assert result.safeguarding == category
    assert any(e.label == category for e in result.evidence)


@pytest.mark.parametrize("text", FIGURATIVE + NEGATED)
def test_figurative_and_negated_speech_is_not_flagged(tagger: SpacyTagger, text: str) -> None:
    assert tagger.tag(text).safeguarding is None


def test_risk_buried_in_a_long_message_is_flagged(tagger: SpacyTagger) -> None:
    text = (
        "the bins have not been emptied for three weeks and the bus shelter is smashed again, "
        "also honestly I've been thinking about ending it all, anyway the park is nice"
    )
    assert tagger.tag(text).safeguarding == "suicide_self_harm"


def test_categories_tag_their_implied_themes(tagger: SpacyTagger) -> None:
    assert "mental_wellbeing" in tagger.tag("I want to end my life").themes
    assert "safety" in tagger.tag("my partner hits me").themes


# An exception cancels only the risk phrases it covers: "kill me if" (as in "mum will kill me
# if I'm late") must not cancel "he will kill me", nor "I'm dead" cancel "if I was dead".
COVERED_ONLY = [
    ("HE SAID HE WILL KILL ME IF I TELL ANYONE", "abuse"),
    ("i feel like if i was dead the kids would get a proper house", "suicide_self_harm"),
    ("i'm frightened of my husband, he gets a look and then it starts", "abuse"),
]


@pytest.mark.parametrize(("text", "category"), COVERED_ONLY)
def test_an_exception_cancels_only_the_risk_it_covers(
    tagger: SpacyTagger, text: str, category: str
) -> None:
    assert tagger.tag(text).safeguarding == category


@pytest.mark.parametrize(
    "text",
    ["she'll kill me if I'm late lol", "me mam'll kill me if I'm late for tea again"],
)
def test_a_covering_exception_still_cancels(tagger: SpacyTagger, text: str) -> None:
    assert tagger.tag(text).safeguarding is None


def test_long_alternative_lists_keep_every_combination(tagger: SpacyTagger) -> None:
    # "scared|terrified|...|feart of my ex|son|husband|..." has more combinations than the old
    # cap of 64 variants kept; every one must still match.
    for text in ("I'm petrified of my stepdad", "feart of my son when he drinks"):
        assert tagger.tag(text).safeguarding == "abuse", text
