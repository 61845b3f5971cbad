"""Lower-case lookup lemmas, with the codebook's spellings (txt-speak, dialect, typos) on top.

spaCy's own lookup lemmatizer is case-sensitive ("Walls" stays "Walls"); residents type in any
case, so lemmas here are looked up on the lower-case form and every token gets one.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, cast

import numpy
from spacy.attrs import LEMMA, LOWER
from spacy.language import Language
from spacy.tokens import Doc

TABLE_FILE = "lemmas.json"

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
        self._ids: dict[int, int] = {}

    def set_table(self, table: Mapping[str, str]) -> None:
        """Replace the lookup table (used by the build)."""
        self.table = dict(table)
        self._ids = {}

    def lemma_of(self, lower: str) -> str:
        """The lemma for a lower-case word form."""
        return self.table.get(lower, lower)

    def _lemma_id(self, lower_id: int) -> int:
        strings = self.vocab.strings
        lemma = self.lemma_of(strings[lower_id])
        lemma_id: int = strings.add(lemma)
        self._ids[lower_id] = lemma_id
        return lemma_id

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        lowers = doc.to_array([LOWER])
        ids = self._ids
        lemmas = [ids.get(lower) or self._lemma_id(lower) for lower in lowers.tolist()]
        doc.from_array([LEMMA], cast(Any, numpy.asarray(lemmas, dtype="uint64")))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)

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
