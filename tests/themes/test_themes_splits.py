"""The held-out and development splits share no message with the training files."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from themes.labelled import read_labelled, read_training

SPLITS = Path(__file__).resolve().parents[1] / "data" / "labelled"
GRAM = 5  # words per shingle
NEAR = 0.75  # share of a split message's shingles one training message may not hold


def _words(text: str) -> list[str]:
    return re.sub(r"\W+", " ", text.lower()).split()


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + GRAM]) for i in range(len(words) - GRAM + 1)}


@cache
def _training() -> tuple[frozenset[str], dict[tuple[str, ...], list[int]]]:
    """Every training message's words, and which training messages hold each shingle."""
    exact: set[str] = set()
    holders: dict[tuple[str, ...], list[int]] = {}
    for number, message in enumerate(read_training()):
        words = _words(message.text)
        exact.add(" ".join(words))
        for shingle in _shingles(words):
            holders.setdefault(shingle, []).append(number)
    return frozenset(exact), holders


@pytest.mark.parametrize("split", sorted(p.name for p in SPLITS.glob("*.jsonl")))
def test_no_split_message_is_a_training_message(split: str) -> None:
    # Two writers can both type "ok ta"; a message of four words or more in both a split and
    # the training files means the split measures memory, not wording it has not seen (three
    # such messages were found in eval.jsonl and taken out of train_a and train_b). Nor may one
    # training message hold three quarters of a split message's five-word runs (eight such
    # near copies were taken out in the same round).
    exact, holders = _training()
    found = []
    for message in read_labelled(SPLITS / split):
        words = _words(message.text)
        if len(words) >= 4 and " ".join(words) in exact:
            found.append(message.id)
        elif len(words) >= 8:
            shingles = _shingles(words)
            held = Counter(n for s in shingles for n in holders.get(s, ()))
            if held and max(held.values()) >= NEAR * len(shingles):
                found.append(message.id)
    assert found == []
