"""The keyword-rules baseline: what a RapidPro-style "has any of these words" rule does.

It uses the same codebook phrases as the tagger, but as literal lower-case words: no lemmas,
no spellings, no weak/strong distinction, no figurative or negation exceptions, no classifier.
Evaluating it beside the tagger shows what the pipeline adds.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator

from themes.codebook import Codebook, Entry
from themes.decide import by_priority
from themes.phrases import GAP, MAX_VARIANTS
from themes.types import Evidence, TagResult

VERSION = "keyword-baseline"
GAP_PATTERN = r"\W+(?:\w+\W+){0,4}?"


def phrase_regex(phrase: str) -> str | None:
    """A regex for one codebook phrase read literally; None for `!` (not-the-label) phrases."""
    if phrase.startswith("!"):
        return None
    items = phrase.lstrip("~").split()
    options = [item.split("|") for item in items]
    variants = []
    for words in itertools.islice(itertools.product(*options), MAX_VARIANTS):
        parts = " ".join(words).split(GAP)
        literal = [
            r"\s+".join(re.escape(w) for w in part.split()) for part in parts if part.strip()
        ]
        variants.append(GAP_PATTERN.join(literal))
    return "|".join(variants) if variants else None


def entry_regex(entry: Entry) -> re.Pattern[str] | None:
    """One case-insensitive regex matching any of an entry's phrases as whole words."""
    parts = [p for p in (phrase_regex(phrase) for phrase in entry.phrases) if p]
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


class KeywordBaseline:
    """Implements the Tagger protocol with literal keyword rules from the codebook."""

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        self._rules = {e.id: entry_regex(e) for e in codebook.entries}
        self._priority = by_priority(codebook.ids("safeguarding"))

    @property
    def version(self) -> str:
        return VERSION

    def tag(self, text: str) -> TagResult:
        """Tag one message by keywords."""
        evidence = {label: self._find(label, text) for label in self._rules}
        found = {label for label, spans in evidence.items() if spans}
        category = next((c for c in self._priority if c in found), None)
        themes = {t for t in self.codebook.ids("theme") if t in found}
        if category:
            implied = set(self.codebook.entry(category).implies)
            for theme in implied - themes:
                evidence[theme] = [
                    Evidence(theme, e.start, e.end, e.text) for e in evidence[category]
                ]
            themes |= implied
        ordered_themes = tuple(t for t in self.codebook.ids("theme") if t in themes)
        signals = tuple(s for s in self.codebook.ids("signal") if s in found)
        labels = (*ordered_themes, *signals, *((category,) if category else ()))
        spans = tuple(e for label in labels for e in evidence[label])
        return TagResult(ordered_themes, signals, category, spans, VERSION)

    def tag_many(self, texts: Iterable[str], batch_size: int = 256) -> Iterator[TagResult]:
        """Tag messages one by one (keyword rules need no batching)."""
        for text in texts:
            yield self.tag(text)

    def _find(self, label: str, text: str) -> list[Evidence]:
        rule = self._rules[label]
        if rule is None:
            return []
        return [Evidence(label, m.start(), m.end(), m.group()) for m in rule.finditer(text)]


def keyword_baseline(codebook: Codebook) -> KeywordBaseline:
    """The keyword baseline for a codebook."""
    return KeywordBaseline(codebook)
