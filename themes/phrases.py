"""Codebook phrases compiled to lemma matchers.

Phrase syntax (documented for staff in themes/README.md):
- words are matched on their lemma, case-insensitively: "wall" also finds "Walls";
- `a|b` gives alternatives for one word: "hit|hits|hitting me";
- `...` lets up to MAX_GAP other words stand between two parts, within one sentence:
  "walls ... black" finds "the walls are black again";
- a leading `~` marks a weak phrase: it only counts when the classifier agrees a little.

Every part is matched with one PhraseMatcher (hash lookups, linear in the text), and parts
separated by `...` are chained in Python, so thousands of phrases stay fast.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

MAX_GAP = 4
PLACEHOLDER = "_"
MAX_VARIANTS = 4096  # a guard against typos; the codebook's widest phrase has ~1,000
GAP = "..."
SENTENCE_ENDS = frozenset({".", "!", "?", "\n", "\n\n"})

Analyse = Callable[[str], list[str]]  # text -> lemmas of its tokens


class CompiledPhrase(NamedTuple):
    """One variant of a codebook phrase: lemma segments separated by gaps.

    A tuple, because a pipeline loads a few thousand of these.
    """

    label: str
    phrase: str
    weak: bool
    segments: tuple[tuple[str, ...], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "phrase": self.phrase,
            "weak": self.weak,
            "segments": [list(segment) for segment in self.segments],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CompiledPhrase:
        segments = tuple(tuple(segment) for segment in data["segments"])
        return cls(data["label"], data["phrase"], bool(data["weak"]), segments)


class RuleHit(NamedTuple):
    """A phrase found in a doc (token offsets). A tuple: docs carry many of these."""

    label: str
    start: int
    end: int
    weak: bool


def compile_phrase(label: str, phrase: str, analyse: Analyse) -> list[CompiledPhrase]:
    """Expand alternatives and lemmatise every part of one phrase."""
    weak = phrase.startswith("~")
    if phrase.startswith("!"):
        label, phrase = "!" + label, phrase[1:]
    body = phrase.lstrip("~").strip()
    options = [
        _distinct(item.split("|"), analyse) if item != GAP else [GAP] for item in body.split()
    ]
    compiled: list[CompiledPhrase] = []
    for combination in itertools.islice(itertools.product(*options), MAX_VARIANTS):
        segments = _segments(combination, analyse)
        if segments:
            compiled.append(CompiledPhrase(label, phrase, weak, segments))
    return compiled


def _distinct(alternatives: Sequence[str], analyse: Analyse) -> list[str]:
    """One alternative per distinct lemma sequence: "hit|hits|hitting" is one variant.

    Without this, phrases with long alternative lists ran into MAX_VARIANTS and lost most
    of their combinations silently.
    """
    kept: dict[tuple[str, ...], str] = {}
    for word in alternatives:
        kept.setdefault(tuple(analyse(word)), word)
    return list(kept.values())


def _segments(words: Sequence[str], analyse: Analyse) -> tuple[tuple[str, ...], ...]:
    parts = " ".join(words).split(GAP)
    lemmas = [tuple(analyse(part.strip())) for part in parts if part.strip()]
    return tuple(part for part in lemmas if part)


def compile_phrases(labelled: Iterable[tuple[str, str]], analyse: Analyse) -> list[CompiledPhrase]:
    """Compile (label, phrase) pairs, dropping exact duplicates."""
    seen: set[tuple[str, bool, tuple[tuple[str, ...], ...]]] = set()
    result: list[CompiledPhrase] = []
    for label, phrase in labelled:
        for variant in compile_phrase(label, phrase, analyse):
            key = (variant.label, variant.weak, variant.segments)
            if key not in seen:
                seen.add(key)
                result.append(variant)
    return result


def _key(segment: Sequence[str]) -> str:
    return "lp\x1f" + "\x1f".join(segment)


class PhraseRules:
    """Finds compiled phrases in docs whose tokens carry lemmas."""

    def __init__(self, vocab: Vocab, phrases: Sequence[CompiledPhrase]) -> None:
        self.phrases = list(phrases)
        self.matcher = PhraseMatcher(vocab, attr="LEMMA")
        # One-part phrases are grouped under one matcher key per (label, weak): a match is
        # a hit. Parts of longer phrases get a key each and are chained from the first.
        self._single: dict[int, list[tuple[str, bool]]] = {}
        self._chained: dict[int, list[tuple[str, bool, tuple[int, ...]]]] = defaultdict(list)
        patterns: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        for phrase in self.phrases:
            if len(phrase.segments) == 1:
                key = f"lp\x1e{phrase.label}\x1e{int(phrase.weak)}"
                patterns[key].add(phrase.segments[0])
                self._single[vocab.strings.add(key)] = [(phrase.label, phrase.weak)]
                continue
            ids = []
            for segment in phrase.segments:
                patterns[_key(segment)].add(segment)
                ids.append(vocab.strings.add(_key(segment)))
            self._chained[ids[0]].append((phrase.label, phrase.weak, tuple(ids[1:])))
        for key, segments in sorted(patterns.items()):
            self.matcher.add(key, [_pattern_doc(vocab, segment) for segment in sorted(segments)])

    def __call__(self, doc: Doc) -> list[RuleHit]:
        """All phrase hits in the doc, in order of start."""
        matches = self.matcher(doc)
        if not matches:
            return []
        hits: list[RuleHit] = []
        single, chained = self._single, self._chained
        found: dict[int, list[tuple[int, int]]] | None = None
        for match_id, start, end in matches:
            for label, weak in single.get(match_id, ()):
                hits.append(RuleHit(label, start, end, weak))
            if match_id in chained:
                if found is None:
                    found = defaultdict(list)
                    for other, other_start, other_end in matches:
                        found[other].append((other_start, other_end))
                for label, weak, rest in chained[match_id]:
                    last = _chain(doc, end, rest, found)
                    if last is not None:
                        hits.append(RuleHit(label, start, last, weak))
        return hits


def _chain(
    doc: Doc, end: int, rest: tuple[int, ...], found: dict[int, list[tuple[int, int]]]
) -> int | None:
    last: int | None = end
    for segment_id in rest:
        last = _next_after(doc, last, found.get(segment_id, []))
        if last is None:
            return None
    return last


def _next_after(doc: Doc, after: int | None, spans: list[tuple[int, int]]) -> int | None:
    if after is None:
        return None
    for start, end in spans:
        if after <= start <= after + MAX_GAP and not _crosses_sentence(doc, after, start):
            return end
    return None


def _crosses_sentence(doc: Doc, start: int, end: int) -> bool:
    return any(doc[i].text in SENTENCE_ENDS for i in range(start, end))


def _pattern_doc(vocab: Vocab, lemmas: Sequence[str]) -> Doc:
    # The matcher compares lemmas only; placeholder words spare creating a lexeme per lemma,
    # which was a third of the pipeline's load time.
    return Doc(vocab, words=[PLACEHOLDER] * len(lemmas), lemmas=list(lemmas))
