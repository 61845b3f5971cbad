"""Codebook phrase syntax: alternatives, gaps and their expansion into lemma variants."""

from __future__ import annotations

from themes.phrases import compile_phrase


def _analyse(text: str) -> list[str]:
    # A tiny stand-in lemmatiser: a final "-ing" or "-s" folds onto the word.
    return [word.removesuffix("ing").removesuffix("s") for word in text.lower().split()]


def test_alternatives_with_the_same_lemma_make_one_variant() -> None:
    variants = compile_phrase("abuse", "hit|hits me|her", _analyse)
    assert sorted(v.segments for v in variants) == [(("hit", "her"),), (("hit", "me"),)]


def test_wide_alternative_lists_are_not_cut_short() -> None:
    verbs = "|".join(f"verb{i}" for i in range(20))
    objects = "|".join(f"object{i}" for i in range(20))
    variants = compile_phrase("abuse", f"{verbs} ... {objects}", _analyse)
    assert len(variants) == 400
    assert (("verb19",), ("object19",)) in {v.segments for v in variants}


def test_weak_and_gap_markers_survive_expansion() -> None:
    (variant,) = compile_phrase("housing", "~walls ... black", _analyse)
    assert variant.weak
    assert variant.segments == (("wall",), ("black",))
