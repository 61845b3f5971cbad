"""The lemma bag-of-words multi-label classifier, registered for spacy.load.

spaCy's TextCatBOW on lemmas (plus a feature per codebook phrase hit), in a text categorizer
that keeps each doc's scores as one row and, for long messages, scores windows too. Importing
this module registers the `lp_textcat` factory and the `listening_post.LemmaBOW.v1`
architecture; `themes.tagger.load_tagger` imports it before loading a pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import zip_longest
from typing import Any, NamedTuple

import numpy
from spacy.attrs import LEMMA
from spacy.language import Language
from spacy.ml.models.textcat import _build_bow_text_classifier
from spacy.pipeline.textcat_multilabel import MultiLabel_TextCategorizer
from spacy.strings import get_string_id
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, SparseLinear_v2

from themes.components import RISK_KEY, RULES_KEY
from themes.lemmas import LEMMAS_KEY, doc_lemmas

SCORES_KEY = "lp_scores"
WINDOW_ROWS_KEY = "lp_window_scores"  # [(start token, end token, score row)] of a long doc
BOW_MODEL = {
    "@architectures": "listening_post.LemmaBOW.v1",
    "exclusive_classes": False,
    "ngram_size": 1,
    "no_output_layer": False,
    "length": 16384,
}


def build_lemma_bow(
    exclusive_classes: bool,
    ngram_size: int,
    no_output_layer: bool,
    length: int = 262144,
    rule_features: bool = False,
    nO: int | None = None,
) -> Model[Any, Any]:
    """spaCy's TextCatBOW.v3, but on lemmas instead of case-sensitive ORTH.

    With `rule_features`, each codebook phrase hit on the doc is one more feature
    ("rule:housing", "rule:~barrier"), so the classifier learns how far to trust each rule.
    """
    length = 2 ** (length - 1).bit_length()
    model: Model[Any, Any] = _build_bow_text_classifier(
        exclusive_classes=exclusive_classes,
        ngram_size=ngram_size,
        no_output_layer=no_output_layer,
        nO=nO,
        sparse_linear=SparseLinear_v2(nO=nO, length=length),
    )
    _use_lemmas(model, ngram_size, rule_features)
    return model


registry.architectures.register("listening_post.LemmaBOW.v1", func=build_lemma_bow)


def _use_lemmas(model: Model[Any, Any], ngram_size: int, rule_features: bool) -> None:
    for node in model.walk():
        if node.name == "extract_ngrams":
            node.attrs["attr"] = LEMMA
            if ngram_size == 1:
                # Unigram keys need no de-duplication: a repeated key adds its weight
                # again, which is exactly what a count of 2 does. Skipping numpy.unique
                # per doc makes the classifier about twice as fast on short messages.
                node._func = _lemma_and_rule_keys if rule_features else _lemma_keys


def _lemma_keys(model: Model[Any, Any], docs: Sequence[Doc], is_train: bool) -> Any:
    keys: list[int] = []
    lengths = []
    for doc in docs:
        lemmas = doc_lemmas(doc)
        keys += lemmas
        lengths.append(len(lemmas))
    return _ngram_output(keys, lengths)


def _lemma_and_rule_keys(model: Model[Any, Any], docs: Sequence[Doc], is_train: bool) -> Any:
    # Keys are gathered in one list for the batch: a numpy array per doc cost more than the
    # classifier itself on short messages.
    keys: list[int] = []
    lengths = []
    keys_of: dict[tuple[str, bool], int] = {}  # rule feature key per (label, weak), per batch
    for doc in docs:
        lemmas = doc_lemmas(doc)
        keys += lemmas
        size = len(keys)
        data = doc.user_data
        for hits in (data.get(RULES_KEY, ()), data.get(RISK_KEY, ())):
            for hit in hits:
                key = keys_of.get((hit.label, hit.weak))
                if key is None:
                    key = get_string_id(f"rule:{'~' if hit.weak else ''}{hit.label}")
                    keys_of[(hit.label, hit.weak)] = key
                keys.append(key)
        lengths.append(len(lemmas) + len(keys) - size)
    return _ngram_output(keys, lengths)


def _ngram_output(keys: list[int], lengths: list[int]) -> Any:
    """What spaCy's extract_ngrams gives: (keys, values, lengths) and a no-op backprop."""
    values = numpy.ones(len(keys), dtype="float32")

    def backprop(d_output: Any) -> list[Any]:
        return []

    keys_array = numpy.asarray(keys, dtype="uint64")
    return (keys_array, values, numpy.asarray(lengths, dtype="int32")), backprop


class ScoreRowTextCategorizer(MultiLabel_TextCategorizer):
    """Multi-label textcat that keeps each doc's scores as one list (in label order).

    Filling doc.cats label by label costs more than the classifier itself on short
    messages; `doc_scores` reads the row back as a dict when one is wanted.

    With `window` > 0, a message longer than `window` tokens is also scored in windows of
    that many tokens (overlapping by half) with the same model, and each of `window_labels`
    gets the highest of its whole-message and window scores: in a long message about
    several themes, one theme's words are a small part of the bag and its whole-message
    score is diluted (see themes/README.md, "Long messages").
    """

    def __init__(
        self,
        vocab: Any,
        model: Model[Any, Any],
        name: str = "lp_textcat",
        *,
        threshold: float,
        scorer: Any,
        window: int = 0,
        window_labels: Sequence[str] = (),
        window_weights: Sequence[float] = (),
        window_rows: bool = False,
    ) -> None:
        super().__init__(vocab, model, name, threshold=threshold, scorer=scorer)
        self.window = window
        self.window_labels = tuple(window_labels)
        # per window label, what its window score is multiplied by (1 when not given): a
        # weight under 1 asks more of a window than of the whole message
        self.window_weights = tuple(window_weights)
        # keep every window's score row on its doc (WINDOW_ROWS_KEY), so the safeguarding
        # decision can look at the part of a long message a phrase is in (themes/decide.py)
        self.window_rows = window_rows

    def predict(self, docs: Iterable[Doc]) -> Any:
        """The score rows, with each long doc's window rows when `window_rows` is on.

        Nothing is written to the docs here (spaCy's contract); `set_annotations` does it.
        """
        docs = list(docs)
        scores = super().predict(docs)
        if self.window <= 0 or not (self.window_labels or self.window_rows):
            return scores
        windows, owners = _windows(docs, self.window)
        if not windows:
            return scores
        rows = numpy.asarray(self.model.predict(windows), dtype="float32")
        kept: dict[int, list[tuple[int, int, list[float]]]] = {}
        if self.window_rows:
            for window, owner, row in zip(windows, owners, rows.tolist(), strict=True):
                kept.setdefault(owner, []).append((window.start, window.start + len(window), row))
        if self.window_labels:
            scores = self._best_of_windows(scores, rows, owners, len(docs))
        return WindowedScores(scores, kept) if kept else scores

    def _best_of_windows(self, scores: Any, rows: Any, owners: list[int], n_docs: int) -> Any:
        """Each window label's score raised to its best (weighted) window score."""
        labels = list(self.labels)
        wanted = [
            (labels.index(label), weight)
            for label, weight in zip_longest(
                self.window_labels, self.window_weights[: len(self.window_labels)], fillvalue=1.0
            )
            if label in labels
        ]
        columns = [column for column, _ in wanted]
        scores = numpy.array(scores, dtype="float32")  # a writable copy
        by_window = rows[:, columns]
        if any(weight != 1.0 for _, weight in wanted):
            by_window *= numpy.asarray([weight for _, weight in wanted], dtype="float32")
        best = numpy.zeros((n_docs, len(columns)), dtype="float32")
        numpy.maximum.at(best, numpy.asarray(owners, dtype="int64"), by_window)
        scores[:, columns] = numpy.maximum(scores[:, columns], best)
        return scores

    def set_annotations(self, docs: Iterable[Doc], scores: Any) -> None:
        docs = list(docs)
        if isinstance(scores, WindowedScores):
            for owner, found in scores.window_rows.items():
                docs[owner].user_data[WINDOW_ROWS_KEY] = found
            scores = scores.scores
        for doc, row in zip(docs, numpy.asarray(scores).tolist(), strict=False):
            doc.user_data[SCORES_KEY] = row


class WindowedScores(NamedTuple):
    """What `predict` gives when it kept window rows: the score rows, and per doc position
    the (start token, end token, score row) of each of its windows."""

    scores: Any
    window_rows: dict[int, list[tuple[int, int, list[float]]]]


class _Window:
    """A run of a doc's tokens as the lemma key extractors read it (lemmas and rule hits)."""

    __slots__ = ("length", "start", "user_data")

    def __init__(self, doc: Doc, lemmas: list[int], start: int, end: int) -> None:
        self.start = start
        self.length = end - start
        self.user_data: dict[str, Any] = {LEMMAS_KEY: lemmas[start:end]}
        for key in (RULES_KEY, RISK_KEY):
            hits = doc.user_data.get(key)
            if hits:
                self.user_data[key] = [h for h in hits if h.start >= start and h.end <= end]

    def __len__(self) -> int:
        return self.length


def _windows(docs: Sequence[Doc], size: int) -> tuple[list[_Window], list[int]]:
    """Windows of `size` tokens, starting every `size // 2` tokens, of the docs longer than
    `size`, and the position in `docs` of the doc each window belongs to."""
    step = max(size // 2, 1)
    windows: list[_Window] = []
    owners: list[int] = []
    for position, doc in enumerate(docs):
        length = len(doc)
        if length <= size:
            continue
        lemmas = doc_lemmas(doc)
        for start in range(0, length - step, step):
            windows.append(_Window(doc, lemmas, start, min(start + size, length)))
            owners.append(position)
    return windows, owners


@Language.factory(
    "lp_textcat",
    default_config={
        "threshold": 0.5,
        "model": BOW_MODEL,
        "scorer": {"@scorers": "spacy.textcat_multilabel_scorer.v2"},
        "window": 0,
        "window_labels": [],
        "window_weights": [],
        "window_rows": False,
    },
)
def make_textcat(
    nlp: Language,
    name: str,
    model: Model[Any, Any],
    threshold: float,
    scorer: Any,
    window: int,
    window_labels: list[str],
    window_weights: list[float],
    window_rows: bool,
) -> ScoreRowTextCategorizer:
    """The lemma bag-of-words multi-label classifier (see ScoreRowTextCategorizer)."""
    return ScoreRowTextCategorizer(
        nlp.vocab,
        model,
        name,
        threshold=threshold,
        scorer=scorer,
        window=window,
        window_labels=window_labels,
        window_weights=window_weights,
        window_rows=window_rows,
    )


def doc_scores(doc: Doc, labels: Sequence[str]) -> dict[str, float]:
    """The classifier's scores for a processed doc, by label (empty if it did not run)."""
    row = doc.user_data.get(SCORES_KEY)
    return dict(zip(labels, row, strict=True)) if row else {}
