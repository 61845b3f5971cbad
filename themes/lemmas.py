"""Lower-case lookup lemmas, with the codebook's spellings (txt-speak, dialect, typos) on top.

spaCy's own lookup lemmatizer is case-sensitive ("Walls" stays "Walls"); residents type in any
case, so lemmas here are looked up on the lower-case form and every token gets one.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Any, cast

import numpy
from spacy.attrs import IDX, LEMMA, LOWER, ORTH
from spacy.language import Language
from spacy.strings import StringStore
from spacy.tokens import Doc

TABLE_FILE = "lemmas.json"
# What the lemmatiser leaves in doc.user_data, one list entry per token: later steps read
# these lists instead of converting the doc to arrays again (each to_array costs more than
# the lookups it saves on a short message).
LEMMAS_KEY = "lp_lemmas"  # lemma ids
ORTHS_KEY = "lp_orths"  # orth ids (the token's exact text)
STARTS_KEY = "lp_starts"  # character offsets

# The tokenizer splits "can't"/"cant" into "ca" + "n't"/"nt", "gonna" into "gon" + "na":
# the pieces get the lemmas of the full words so both spellings match the same phrases.
CONTRACTIONS = (
    ("ca", "can"),
    ("n't", "not"),
    ("nt", "not"),
    ("wo", "will"),
    ("'m", "be"),
    ("m", "be"),
    ("'re", "be"),
    ("re", "be"),
    ("'ve", "have"),
    ("ve", "have"),
    ("'ll", "will"),
    ("ll", "will"),
    ("'d", "would"),
    ("gon", "go"),
    ("na", "to"),
    ("wan", "want"),
    ("ai", "be"),
)


def english_lemma_table() -> dict[str, str]:
    """The English lemma lookup table shipped by spacy-lookups-data, keys lower-cased."""
    source = resources.files("spacy_lookups_data").joinpath("data", "en_lemma_lookup.json.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="utf8") as text:
        data = json.load(text)
    result: dict[str, str] = {}
    for form, lemma in sorted(data.items()):
        if isinstance(form, str) and isinstance(lemma, str):
            result.setdefault(form.lower(), lemma.lower())
    return result


def merge_spellings(table: Mapping[str, str], spellings: Mapping[str, str]) -> dict[str, str]:
    """Overlay codebook spellings ("leccy" -> "electricity") on a lemma table.

    A spelling's target is itself lemmatised (unless it is the word itself, which then keeps
    its own form: "parking = parking" stops "parking" matching "park").
    """
    merged = dict(table)
    merged.update(_dropped_g(table))
    merged.update(CONTRACTIONS)
    for form, target in spellings.items():
        form_lower, target_lower = form.lower(), target.lower()
        # "parking = parking" keeps a word from its table lemma ("park"); other targets are
        # lemmatised so that "kids = child" and "childs = child" agree.
        same = form_lower == target_lower
        merged[form_lower] = target_lower if same else table.get(target_lower, target_lower)
    return merged


def _dropped_g(table: Mapping[str, str]) -> dict[str, str]:
    """ "waitin" and "nothin" get the lemmas of "waiting" and "nothing" (dialect, txt-speak),
    unless the shorter form is a word of its own ("thin", "robin")."""
    return {
        form[:-1]: lemma
        for form, lemma in table.items()
        if form.endswith("ing") and len(form) > 5 and form[:-1] not in table
    }


class LemmaNormaliser:
    """Pipeline component: token.lemma = table[token.lower] (or the lower form itself)."""

    def __init__(self, nlp: Language, name: str = "lp_lemmatizer") -> None:
        self.name = name
        self.vocab = nlp.vocab
        self.table: dict[str, str] = {}
        self._ids: dict[int, int] = {}  # orth id -> lemma id, filled as words are first seen
        # The lower-case form as the vocab computes it for a lexeme's LOWER, computed here
        # from the text so that the lemmas never depend on which lexeme attributes exist.
        getters = cast(Any, nlp.vocab).lex_attr_getters
        self._lower: Callable[[str], str] | None = getters.get(LOWER)

    def set_table(self, table: Mapping[str, str]) -> None:
        """Replace the lookup table (used by the build)."""
        self.table = dict(table)
        self._ids = {}

    def lemma_of(self, lower: str) -> str:
        """The lemma for a lower-case word form."""
        return self.table.get(lower, lower)

    def _lemma_id(self, orth: int) -> int:
        strings = self.vocab.strings
        lower = self._lower(strings[orth]) if self._lower else self.vocab[orth].lower_
        lemma_id: int = strings.add(self.lemma_of(lower))
        self._ids[orth] = lemma_id
        return lemma_id

    def __call__(self, doc: Doc) -> Doc:
        self._lemmatise([doc])
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterable[Doc]:
        stream = iter(docs)
        while batch := list(islice(stream, batch_size)):
            self._lemmatise(batch)
            yield from batch

    def _lemmatise(self, docs: Sequence[Doc]) -> None:
        """Set every token's lemma, and leave the id lists in user_data (see LEMMAS_KEY)."""
        lookup = self._ids.get
        every: list[int] = []  # all lemma ids of the batch: one array for all docs is cheaper
        for doc in docs:
            data = doc.user_data
            if not len(doc):
                data[LEMMAS_KEY], data[ORTHS_KEY], data[STARTS_KEY] = [], [], []
                continue
            orths, starts = doc.to_array([ORTH, IDX]).T.tolist()
            known = list(map(lookup, orths))
            if None in known:  # a word not seen before
                lemmas = [lookup(orth) or self._lemma_id(orth) for orth in orths]
            else:
                lemmas = cast(list[int], known)
            data[LEMMAS_KEY], data[ORTHS_KEY], data[STARTS_KEY] = lemmas, orths, starts
            every += lemmas
        column = numpy.asarray(every, dtype="uint64")
        offset = 0
        for doc in docs:
            if len(doc):
                doc.from_array([LEMMA], cast(Any, column[offset : offset + len(doc)]))
                offset += len(doc)

    def to_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            dict(sorted(self.table.items())), ensure_ascii=False, separators=(",", ":")
        )
        (path / TABLE_FILE).write_text(text, encoding="utf8")

    def from_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> LemmaNormaliser:
        self.set_table(json.loads((Path(path) / TABLE_FILE).read_text(encoding="utf8")))
        return self


def doc_lemmas(doc: Doc) -> list[int]:
    """The lemma id of every token: as the lemmatiser left them, or read from the doc."""
    lemmas: list[int] | None = doc.user_data.get(LEMMAS_KEY)
    if lemmas is None or len(lemmas) != len(doc):
        lemmas = doc.to_array(LEMMA).tolist()
    return lemmas


def doc_columns(doc: Doc) -> tuple[list[int], list[int], list[int]]:
    """(lemma ids, orth ids, character offsets) of every token, as doc_lemmas does."""
    data = doc.user_data
    lemmas, orths, starts = data.get(LEMMAS_KEY), data.get(ORTHS_KEY), data.get(STARTS_KEY)
    if lemmas is None or orths is None or starts is None or len(starts) != len(doc):
        if not len(doc):
            return [], [], []
        lemmas, orths, starts = doc.to_array([LEMMA, ORTH, IDX]).T.tolist()
    return lemmas, orths, starts


TEXT_LENGTHS: dict[int, int] = {}  # orth id -> length of its text (a string's hash names it)
_LENGTHS_LIMIT = 100_000


def text_length(strings: StringStore, orth: int) -> int:
    """len(token.text) for a token with this orth id, cached."""
    length = TEXT_LENGTHS.get(orth)
    if length is None:
        if len(TEXT_LENGTHS) >= _LENGTHS_LIMIT:
            TEXT_LENGTHS.clear()
        length = TEXT_LENGTHS[orth] = len(strings[orth])
    return length
