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
from typing import Any, NamedTuple, cast

from spacy.matcher import PhraseMatcher
from spacy.strings import StringStore
from spacy.tokens import Doc
from spacy.vocab import Vocab

from themes.lemmas import ORTHS_KEY

MAX_GAP = 4
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
        strings = vocab.strings
        self.matcher = PhraseMatcher(vocab, attr="LEMMA")
        # One-part phrases are grouped under one matcher key per (label, weak): a match is
        # a hit. Parts of longer phrases get a key each and are chained from the first.
        self._single: dict[int, tuple[str, bool]] = {}
        self._chained: dict[int, list[tuple[str, bool, tuple[int, ...]]]] = defaultdict(list)
        patterns: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        key_ids: dict[str, int] = {}
        for phrase in self.phrases:
            if len(phrase.segments) == 1:
                key = f"lp\x1e{phrase.label}\x1e{int(phrase.weak)}"
                patterns[key].add(phrase.segments[0])
                if key not in key_ids:
                    key_ids[key] = strings.add(key)
                self._single[key_ids[key]] = (phrase.label, phrase.weak)
                continue
            ids = []
            for segment in phrase.segments:
                key = _key(segment)
                patterns[key].add(segment)
                if key not in key_ids:
                    key_ids[key] = strings.add(key)
                ids.append(key_ids[key])
            self._chained[ids[0]].append((phrase.label, phrase.weak, tuple(ids[1:])))
        # Patterns go to the matcher as tuples of lemma ids, as PhraseMatcher's own
        # unpickling adds them: a Doc per pattern was most of the pipeline's load time.
        # Keys are added in the same (sorted) order as always, so matches come back in the
        # same order.
        lemma_ids: dict[str, int] = {}
        for key, segments in sorted(patterns.items()):
            ids_of = [_lemma_ids(segment, lemma_ids, strings) for segment in sorted(segments)]
            self.matcher.add(key, cast(Any, ids_of))
        self._sentence_ends = frozenset(strings.add(end) for end in SENTENCE_ENDS)

    def __call__(self, doc: Doc) -> list[RuleHit]:
        """All phrase hits in the doc, in order of start."""
        matches = self.matcher(doc)
        if not matches:
            return []
        hits: list[RuleHit] = []
        single, chained = self._single, self._chained
        found: dict[int, list[tuple[int, int]]] | None = None
        ends: list[bool] | None = None
        for match_id, start, end in matches:
            one = single.get(match_id)
            if one is not None:
                hits.append(_hit((one[0], start, end, one[1])))
                continue
            phrases = chained.get(match_id)
            if phrases is None:
                continue  # a later part of a chained phrase
            if found is None:
                found = {}
                for other, other_start, other_end in matches:
                    spans = found.get(other)
                    if spans is None:
                        found[other] = [(other_start, other_end)]
                    else:
                        spans.append((other_start, other_end))
            for label, weak, rest in phrases:
                if rest[0] not in found:
                    continue  # the next part is nowhere in the doc (most chained phrases)
                if ends is None:
                    ends = self._ends(doc)
                last = _chain(ends, end, rest, found)
                if last is not None:
                    hits.append(_hit((label, start, last, weak)))
        return hits

    def _ends(self, doc: Doc) -> list[bool]:
        """Whether each token ends a sentence (its text is in SENTENCE_ENDS)."""
        orths = doc.user_data.get(ORTHS_KEY)
        if orths is None or len(orths) != len(doc):
            return [token.text in SENTENCE_ENDS for token in doc]
        sentence_ends = self._sentence_ends
        return [orth in sentence_ends for orth in orths]


def _hit(fields: tuple[str, int, int, bool]) -> RuleHit:
    # tuple.__new__ skips the Python-level NamedTuple constructor: hits are made per match.
    return tuple.__new__(RuleHit, fields)


def _chain(
    ends: list[bool], end: int, rest: tuple[int, ...], found: dict[int, list[tuple[int, int]]]
) -> int | None:
    last: int | None = end
    for segment_id in rest:
        last = _next_after(ends, last, found.get(segment_id, []))
        if last is None:
            return None
    return last


def _next_after(ends: list[bool], after: int | None, spans: list[tuple[int, int]]) -> int | None:
    if after is None:
        return None
    for start, end in spans:
        if after <= start <= after + MAX_GAP and True not in ends[after:start]:
            return end  # within MAX_GAP words and not across a sentence end
    return None


def _lemma_ids(
    segment: Sequence[str], known: dict[str, int], strings: StringStore
) -> tuple[int, ...]:
    ids = []
    for lemma in segment:
        lemma_id = known.get(lemma)
        if lemma_id is None:
            lemma_id = known[lemma] = strings.add(lemma)
        ids.append(lemma_id)
    return tuple(ids)
