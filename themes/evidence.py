"""Evidence for labels that only the classifier gave: the token that most supports the label.

The classifier is a linear model over lemma n-grams, so a token's support for a label is its
weight for that label: the score the classifier would give the token on its own. Weights are
cached per lemma (bounded), so attribution soon costs a dictionary lookup per token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import compress
from operator import add, itemgetter
from typing import Any, cast

import numpy
from spacy.attrs import IS_PUNCT, IS_SPACE, IS_STOP, LIKE_NUM
from spacy.language import Language
from spacy.tokens import Doc

from themes.classifier import ScoreRowTextCategorizer
from themes.components import pipe_of
from themes.lemmas import doc_columns
from themes.types import CharRange, Evidence

CACHE_LIMIT = 50_000
CANDIDATES_KEY = "lp_evidence_candidates"

Candidates = tuple[list[int], list[int], list[int]]  # lemma ids, start chars, end chars


class TokenAttributor:
    """Finds, for a label, the token of a doc that the classifier scores highest alone.

    For the bag-of-words classifier a token's score alone is its feature weight, read by
    feeding its lemma id straight to the sparse linear layer (no Doc needed).
    """

    def __init__(self, nlp: Language, component: str) -> None:
        textcat = pipe_of(nlp, component, ScoreRowTextCategorizer)
        self.vocab = nlp.vocab
        self.linear = textcat.model.get_ref("output_layer")
        self.index = {label: i for i, label in enumerate(textcat.labels)}
        self._cache: dict[int, list[float]] = {}
        # Per word (orth id), cached: the length of its text, and whether it is a content
        # word (not a stop word, punctuation, space or number) or at least not space.
        self._lengths: dict[int, int] = {}
        self._content: set[int] = set()
        self._not_space: set[int] = set()
        # The lexeme flags, computed from the text as the vocab would (missing: False).
        getters = cast(Any, nlp.vocab).lex_attr_getters
        self._is_space = getters.get(IS_SPACE, _never)
        self._is_other = [
            getters[attr] for attr in (IS_STOP, IS_PUNCT, LIKE_NUM) if attr in getters
        ]

    def __call__(
        self, doc: Doc, text: str, label: str, within: CharRange | None = None
    ) -> Evidence | None:
        """Evidence for `label` in `doc`, or None when the doc has no usable token."""
        found = self.span(doc, label, within)
        if found is None:
            return None
        start, end = found
        return Evidence(label, start, end, text[start:end])

    def span(self, doc: Doc, label: str, within: CharRange | None = None) -> CharRange | None:
        """(start, end) characters of the evidence for `label`, or None (see __call__); with
        `within` (a character range), a token inside it when there is one."""
        column = self.index.get(label)
        if column is None:
            return None
        candidates: Candidates | None = doc.user_data.get(CANDIDATES_KEY)
        if candidates is None:
            candidates = self._candidates(doc)
            self._ensure_weights(candidates[0])
            doc.user_data[CANDIDATES_KEY] = candidates
        lemmas, starts, ends = candidates
        if within is not None:
            inside = [
                i
                for i, (a, b) in enumerate(zip(starts, ends, strict=True))
                if within[0] <= a and b <= within[1]
            ]
            if inside:
                lemmas = [lemmas[i] for i in inside]
                starts = [starts[i] for i in inside]
                ends = [ends[i] for i in inside]
        if not lemmas:
            return None
        weights = list(map(itemgetter(column), map(self._cache.__getitem__, lemmas)))
        best = weights.index(max(weights))  # the first of equals, as max(key=...) gave
        return starts[best], ends[best]

    def _ensure_weights(self, lemmas: Sequence[int]) -> None:
        cache = self._cache
        missing = sorted(set(lemmas).difference(cache))
        if len(cache) + len(missing) > CACHE_LIMIT:
            cache.clear()
            missing = sorted(set(lemmas))
        if missing:
            keys = numpy.asarray(missing, dtype="uint64")
            values = numpy.ones(len(missing), dtype="float32")
            lengths = numpy.ones(len(missing), dtype="int32")
            rows = numpy.asarray(self.linear.predict((keys, values, lengths))).tolist()
            cache.update(zip(missing, rows, strict=True))

    def _candidates(self, doc: Doc) -> Candidates:
        """The tokens that may serve as evidence: content words, else anything but space.

        Read from the lemmatiser's lists with what is known of each word cached: creating
        Token objects or converting the doc to an array would cost more than scoring.
        """
        lemmas, orths, starts = doc_columns(doc)
        lengths = self._lengths
        unknown = set(orths).difference(lengths)
        if unknown:
            if len(lengths) + len(unknown) > CACHE_LIMIT:
                lengths.clear()
                self._content.clear()
                self._not_space.clear()
                unknown = set(orths)
            self._learn(unknown)
        chosen = list(map(self._content.__contains__, orths))
        if True not in chosen:
            chosen = list(map(self._not_space.__contains__, orths))
        kept_starts = list(compress(starts, chosen))
        kept_lengths = map(lengths.__getitem__, compress(orths, chosen))
        return (
            list(compress(lemmas, chosen)),
            kept_starts,
            list(map(add, kept_starts, kept_lengths)),
        )

    def _learn(self, orths: Iterable[int]) -> None:
        """Learn the length and kind of words not seen before (stop word, punctuation, ...)."""
        strings = self.vocab.strings
        for orth in orths:
            text = strings[orth]
            self._lengths[orth] = len(text)
            if not self._is_space(text):
                self._not_space.add(orth)
                if not any(is_other(text) for is_other in self._is_other):
                    self._content.add(orth)


def _never(text: str) -> bool:
    return False
