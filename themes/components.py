"""Custom spaCy components (lemmas, codebook phrases, safeguarding), registered for spacy.load.

Importing this module registers the factories (spaCy's registries are how a saved pipeline
finds its code again); `themes.tagger.load_tagger` imports it, and themes/classifier.py for
the classifier, before loading a pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from spacy.language import Language
from spacy.tokens import Doc, Span

from themes.lemmas import LemmaNormaliser
from themes.phrases import CompiledPhrase, PhraseRules, RuleHit

RULES_KEY = "lp_rules"
RISK_KEY = "lp_safeguarding"
VETOED_KEY = "lp_safeguarding_vetoed"
EXCEPTIONS_KEY = "lp_exceptions"
WEAK = "weak"
EXCEPTION_LABEL = "exception"
CONTEXT_LABEL = "exception_in_sentence"
CONTEXT_WINDOW = 8  # tokens between a context exception and the risk phrase it cancels
SENTENCE_ENDS = frozenset({".", "!", "?", "\n", "\n\n"})
PHRASES_FILE = "phrases.json"
Component = TypeVar("Component")
NOT = "!"  # a phrase "!for love nor money" under `money` cancels money phrases it overlaps


@Language.factory("lp_lemmatizer")
def make_lemmatizer(nlp: Language, name: str) -> LemmaNormaliser:
    """Lower-case lookup lemmas plus the codebook's spellings."""
    return LemmaNormaliser(nlp, name)


def pipe_of(nlp: Language, name: str, kind: type[Component]) -> Component:
    """A pipeline component, checked to be of the expected class."""
    component = nlp.get_pipe(name)
    if not isinstance(component, kind):
        raise TypeError(f"pipeline component {name!r} is not a {kind.__name__}")
    return component


class PhraseComponent:
    """Stores codebook phrase hits in doc.user_data[spans_key] (label = codebook id).

    Hits are (label, start token, end token, weak) tuples rather than Span objects: a
    message usually has several and Span objects cost more than the matching itself.
    `rule_spans(doc, key)` turns them into Spans when wanted.
    """

    def __init__(self, nlp: Language, name: str, spans_key: str) -> None:
        self.name = name
        self.vocab = nlp.vocab
        self.spans_key = spans_key
        self.rules = PhraseRules(self.vocab, [])
        self._not_labels: frozenset[str] = frozenset()

    def set_phrases(self, phrases: Sequence[CompiledPhrase]) -> None:
        """Replace the compiled phrases (used by the build and when loading)."""
        self.rules = PhraseRules(self.vocab, phrases)
        self._not_labels = frozenset(p.label for p in phrases if p.label.startswith(NOT))

    def __call__(self, doc: Doc) -> Doc:
        hits = self.rules(doc)
        if hits:
            labels = {hit[0] for hit in hits}
            if not self._not_labels.isdisjoint(labels):  # a "!" phrase matched
                vetoes = [hit for hit in hits if hit.label[0] == NOT]
                hits = [h for h in hits if h.label[0] != NOT and not _vetoed(h, vetoes)]
                labels = {hit[0] for hit in hits}
            if len(labels) < len(hits):  # a label repeats
                hits = _maximal(hits)
        doc.user_data[self.spans_key] = hits
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)

    def to_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        data = [p.to_json() for p in self.rules.phrases]
        (path / PHRASES_FILE).write_text(json.dumps(data, ensure_ascii=False), encoding="utf8")

    def from_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> PhraseComponent:
        data = json.loads((Path(path) / PHRASES_FILE).read_text(encoding="utf8"))
        self.set_phrases([CompiledPhrase.from_json(item) for item in data])
        return self


class SafeguardingComponent(PhraseComponent):
    """Recall-first risk phrases, vetoed only by exception phrases.

    An exception (figurative, negated) vetoes the risk phrases it covers; a context
    exception (past and resolved, news, calls for services: "years ago", "on the news")
    vetoes the risk phrases of its sentence. Kept risk hits go to doc.user_data[spans_key],
    vetoed ones to VETOED_KEY and the exception hits to EXCEPTIONS_KEY, so a reviewer can
    see why something was not flagged.
    """

    def __call__(self, doc: Doc) -> Doc:
        hits = self.rules(doc)
        if not hits:  # most messages: nothing risky, nothing to veto
            doc.user_data[self.spans_key] = doc.user_data[VETOED_KEY] = []
            doc.user_data[EXCEPTIONS_KEY] = []
            return doc
        vetoing = (EXCEPTION_LABEL, CONTEXT_LABEL)
        exceptions = [hit for hit in hits if hit[0] in vetoing]
        if not exceptions:  # nothing vetoes: every hit is kept
            doc.user_data[self.spans_key] = _maximal(hits)
            doc.user_data[VETOED_KEY], doc.user_data[EXCEPTIONS_KEY] = [], exceptions
            return doc
        risks = [hit for hit in hits if hit.label not in vetoing]
        kept = [hit for hit in risks if not any(_covers(e, hit) for e in exceptions)]
        contexts = [hit for hit in exceptions if hit.label == CONTEXT_LABEL]
        if contexts and kept:
            sentence = _sentence_ids(doc)
            kept = [hit for hit in kept if not any(_near(hit, c, sentence) for c in contexts)]
        doc.user_data[self.spans_key] = _maximal(kept)
        doc.user_data[VETOED_KEY] = [hit for hit in risks if hit not in kept]
        doc.user_data[EXCEPTIONS_KEY] = exceptions
        return doc


@Language.factory("lp_codebook_rules", default_config={"spans_key": RULES_KEY})
def make_codebook_rules(nlp: Language, name: str, spans_key: str) -> PhraseComponent:
    """Theme and signal phrases from the codebook."""
    return PhraseComponent(nlp, name, spans_key)


@Language.factory("lp_safeguarding", default_config={"spans_key": RISK_KEY})
def make_safeguarding(nlp: Language, name: str, spans_key: str) -> SafeguardingComponent:
    """Safeguarding risk phrases with figurative and negation exceptions."""
    return SafeguardingComponent(nlp, name, spans_key)


def _near(hit: RuleHit, context: RuleHit, sentence: list[int]) -> bool:
    """Same sentence and within CONTEXT_WINDOW tokens: long run-on messages stay safe."""
    gap = max(context.start - hit.end, hit.start - context.end, 0)
    return gap <= CONTEXT_WINDOW and sentence[hit.start] == sentence[context.start]


def _sentence_ids(doc: Doc) -> list[int]:
    """The sentence number of every token (sentences end at . ! ? and line breaks)."""
    ids, current = [], 0
    for token in doc:
        ids.append(current)
        if token.text in SENTENCE_ENDS:
            current += 1
    return ids


def _vetoed(hit: RuleHit, vetoes: Sequence[RuleHit]) -> bool:
    return any(v.label[1:] == hit.label and _overlaps(hit, v) for v in vetoes)


def _maximal(hits: Sequence[RuleHit]) -> list[RuleHit]:
    """Drop hits inside a longer hit of the same label ("flat" inside "our flat")."""
    if len(hits) < 2:
        return list(hits)
    kept: list[RuleHit] = []
    reach: dict[str, int] = {}
    for hit in sorted(hits, key=lambda h: (h.start, -h.end, h.weak)):  # strong wins a tie
        if hit.end > reach.get(hit.label, -1):
            kept.append(hit)
            reach[hit.label] = hit.end
    return kept


def _overlaps(a: RuleHit, b: RuleHit) -> bool:
    return a.start < b.end and b.start < a.end


def _covers(exception: RuleHit, risk: RuleHit) -> bool:
    """The exception spans the whole risk phrase: "is killing me" covers "killing me".

    Mere overlap is not enough: "kill me if" must not cancel "he will kill me", nor
    "I'm dead" cancel "if I was dead".
    """
    return exception.start <= risk.start and risk.end <= exception.end


def rule_hits(doc: Doc, key: str) -> list[RuleHit]:
    """The hits a phrase component stored on the doc (empty if it did not run)."""
    hits: list[RuleHit] = doc.user_data.get(key, [])
    return hits


def rule_spans(doc: Doc, key: str) -> list[Span]:
    """The stored hits as Spans (label = codebook id, kb_id "weak" for weak phrases)."""
    return [
        Span(doc, h.start, h.end, label=h.label, kb_id=WEAK if h.weak else "")
        for h in rule_hits(doc, key)
    ]
