"""Evidence for labels that only the classifier gave: the token that most supports the label.

The classifier is a linear model over lemma n-grams, so a token's support for a label is its
weight for that label: the score the classifier would give the token on its own. Weights are
cached per lemma (bounded), so attribution soon costs a dictionary lookup per token.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy
from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, IS_STOP, LEMMA, LENGTH, LIKE_NUM
from spacy.language import Language
from spacy.tokens import Doc

from themes.components import ScoreRowTextCategorizer, pipe_of
from themes.types import Evidence

CACHE_LIMIT = 50_000
CANDIDATES_KEY = "lp_evidence_candidates"


class TokenAttributor:
    """Finds, for a label, the token of a doc that the classifier scores highest alone.

    For the bag-of-words classifier a token's score alone is its feature weight, read by
    feeding its lemma id straight to the sparse linear layer (no Doc needed).
    """

    def __init__(self, nlp: Language, component: str) -> None:
        textcat = pipe_of(nlp, component, ScoreRowTextCategorizer)
        self.linear = textcat.model.get_ref("output_layer")
        self.index = {label: i for i, label in enumerate(textcat.labels)}
        self._cache: dict[int, list[float]] = {}

    def __call__(self, doc: Doc, text: str, label: str) -> Evidence | None:
        """Evidence for `label` in `doc`, or None when the doc has no usable token."""
        column = self.index.get(label)
        if column is None:
            return None
        candidates = doc.user_data.get(CANDIDATES_KEY)
        if candidates is None:
            candidates = _candidates(doc)
            self._ensure_weights([lemma for lemma, _, _ in candidates])
            doc.user_data[CANDIDATES_KEY] = candidates
        if not candidates:
            return None
        cache = self._cache
        _, start, end = max(candidates, key=lambda c: cache[c[0]][column])
        return Evidence(label, start, end, text[start:end])

    def _ensure_weights(self, lemmas: Sequence[int]) -> None:
        cache = self._cache
        missing = sorted({lemma for lemma in lemmas if lemma not in cache})
        if len(cache) + len(missing) > CACHE_LIMIT:
            cache.clear()
            missing = sorted(set(lemmas))
        if missing:
            keys = numpy.asarray(missing, dtype="uint64")
            values = numpy.ones(len(missing), dtype="float32")
            lengths = numpy.ones(len(missing), dtype="int32")
            rows = numpy.asarray(self.linear.predict((keys, values, lengths))).tolist()
            cache.update(zip(missing, rows, strict=True))


def _candidates(doc: Doc) -> list[tuple[int, int, int]]:
    """(lemma id, start char, end char) of the tokens that may serve as evidence.

    Read through one to_array call: creating Token objects would cost more than scoring.
    """
    rows = doc.to_array([LEMMA, IDX, LENGTH, IS_STOP, IS_PUNCT, IS_SPACE, LIKE_NUM]).tolist()
    content = [r for r in rows if not (r[3] or r[4] or r[5] or r[6])]
    chosen = content or [r for r in rows if not r[5]]
    return [(r[0], r[1], r[1] + r[2]) for r in chosen]
