"""Turn a processed doc (rule hits + classifier scores) into labels with evidence.

The rules are the codebook's knowledge and generalise to unseen wording; the classifier
learns what the phrases miss. A label is given when a strong phrase matches, when a weak
phrase matches and the classifier agrees a little, or when the classifier alone is confident.
Safeguarding is recall-first: any risk phrase not vetoed by an exception flags the message
(weak risk phrases need a little classifier support, strong ones at most the small
`strong_risk` floor, 0 unless tuning chose one); the classifier's any-risk score is a
second opinion that can flag on its own, but not over a figurative or negating phrase.

The decision works on (label, start, end) character spans; `decide` wraps them into a
TagResult, and `themes tag` writes them straight to JSON (see themes/stream.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple, Protocol

from spacy.tokens import Doc

from themes.build import RISK_LABEL, Thresholds
from themes.classifier import SCORES_KEY, WINDOW_ROWS_KEY
from themes.components import RISK_KEY, RULES_KEY, VETOED_KEY
from themes.encoder import ENCODER_KEY, ENCODER_LABELS_KEY
from themes.lemmas import TEXT_LENGTHS, doc_columns, text_length
from themes.phrases import RuleHit
from themes.types import CharRange, Evidence, TagResult


class Attribute(Protocol):
    """(doc, its text, label, optionally a character range to look in) -> evidence."""

    def __call__(
        self, doc: Doc, text: str, label: str, within: CharRange | None
    ) -> Evidence | None: ...


class FindSpan(Protocol):
    """(doc, label, optionally a character range to look in) -> (start, end) characters."""

    def __call__(self, doc: Doc, label: str, within: CharRange | None) -> CharRange | None: ...


Span = tuple[str, int, int]  # (label, start char, end char) of one piece of evidence
SAFEGUARDING_PRIORITY = ("suicide_self_harm", "abuse", "emergency")
MAX_EVIDENCE = 2  # evidence spans per label


@dataclass(frozen=True)
class Policy:
    """What the decision needs from the pipeline meta."""

    themes: tuple[str, ...]
    signals: tuple[str, ...]
    safeguarding: tuple[str, ...]  # in priority order (see by_priority)
    implies: Mapping[str, tuple[str, ...]]
    thresholds: Thresholds
    columns: Mapping[str, int]  # classifier label -> position in a doc's score row
    use_rules: bool = True
    use_classifier: bool = True
    rules_decide: bool = True  # False: phrases are classifier features and evidence only

    def scores(self, doc: Doc) -> dict[str, float]:
        """The classifier's scores for the doc by label; empty when not used."""
        row = doc.user_data.get(SCORES_KEY) if self.use_classifier else None
        if not row:
            return {}
        return {label: row[column] for label, column in self.columns.items()}

    @cached_property
    def theme_columns(self) -> tuple[tuple[str, int | None], ...]:
        """(theme, its column in a doc's score row) in theme order."""
        return tuple((label, self.columns.get(label)) for label in self.themes)

    @cached_property
    def signal_columns(self) -> tuple[tuple[str, int | None], ...]:
        """(signal, its column in a doc's score row) in signal order."""
        return tuple((label, self.columns.get(label)) for label in self.signals)


class Decided(NamedTuple):
    """The labels of one message and their evidence spans, in output order."""

    themes: tuple[str, ...]
    signals: tuple[str, ...]
    safeguarding: str | None
    evidence: tuple[Span, ...]

    def result(self, text: str, version: str = "") -> TagResult:
        """The TagResult for the message `text`."""
        evidence = tuple(
            Evidence(label, start, end, text[start:end]) for label, start, end in self.evidence
        )
        return TagResult(self.themes, self.signals, self.safeguarding, evidence, version)


def decide(
    doc: Doc, policy: Policy, attribute: Attribute, version: str = "", text: str | None = None
) -> TagResult:
    """Labels and evidence for one processed doc (`text` is doc.text, if the caller has it)."""
    # doc.text is rebuilt from the tokens on every access: callers pass it when they have it.
    text = doc.text if text is None else text

    def find(doc: Doc, label: str, within: CharRange | None) -> CharRange | None:
        found = attribute(doc, text, label, within)
        return None if found is None else (found.start, found.end)

    return decide_spans(doc, policy, find, len(text)).result(text, version)


def decide_spans(doc: Doc, policy: Policy, find: FindSpan, length: int) -> Decided:
    """Labels and evidence spans for one processed doc whose text has `length` characters."""
    decision = _Decision(doc, policy, find, length)
    category = decision.safeguarding()
    themes = decision.choose(policy.theme_columns, policy.thresholds.theme)
    signals = decision.choose(policy.signal_columns, policy.thresholds.signal)
    evidence = decision.evidence
    if category:
        implied = policy.implies.get(category, ())
        for theme in implied:
            evidence.setdefault(
                theme, [(theme, start, end) for _, start, end in evidence[category]]
            )
        themes = tuple(t for t in policy.themes if t in themes or t in implied)
    ordered: list[Span] = []
    for label in themes:
        ordered += evidence[label]
    for label in signals:
        ordered += evidence[label]
    if category:
        ordered += evidence[category]
    return Decided(themes, signals, category, tuple(ordered))


def safeguarding_of(doc: Doc, policy: Policy) -> str | None:
    """The safeguarding category alone, without evidence (for threshold searches)."""
    return _Decision(doc, policy, _no_span, 0).safeguarding()


def _no_span(doc: Doc, label: str, within: CharRange | None) -> None:
    return None


def _by_label(hits: Sequence[RuleHit]) -> dict[str, list[RuleHit]]:
    found: dict[str, list[RuleHit]] = {}
    for hit in hits:
        found.setdefault(hit.label, []).append(hit)
    return found


class _Decision:
    """The labels of one doc, chosen group by group, with the evidence for each."""

    def __init__(self, doc: Doc, policy: Policy, find: FindSpan, length: int) -> None:
        self.doc = doc
        self.policy = policy
        self.find = find
        self.length = length
        data = doc.user_data
        # An empty message would get the classifier's prior alone: no opinion there.
        self.row: list[float] | None = (
            data.get(SCORES_KEY) if policy.use_classifier and len(doc) else None
        )
        self.rules = _by_label(data.get(RULES_KEY, ())) if policy.use_rules else {}
        weight = policy.thresholds.encoder_weight
        # the encoder's theme and signal probabilities, blended in with this weight
        self.encoded: dict[str, float] | None = (
            data.get(ENCODER_LABELS_KEY) if weight > 0 and self.row else None
        )
        self.evidence: dict[str, list[Span]] = {}
        self._tokens: tuple[list[int], list[int]] | None = None  # (orth ids, char offsets)

    def score(self, label: str) -> float:
        """The classifier's score for a label (0 without a classifier)."""
        column = self.policy.columns.get(label)
        return self.row[column] if self.row and column is not None else 0.0

    def choose(self, labels: Sequence[tuple[str, int | None]], threshold: float) -> tuple[str, ...]:
        """The labels of one group that a phrase or the classifier supports (with
        `encoder_weight` > 0 and a multi-label risk encoder, the classifier's score blended
        with the encoder's probability for the label)."""
        chosen = []
        row, rules, encoded = self.row, self.rules, self.encoded
        weight = self.policy.thresholds.encoder_weight
        for label, column in labels:
            if row:
                if column is None:
                    raise KeyError(label)
                score = row[column]
                if encoded is not None:
                    score = (1 - weight) * score + weight * encoded.get(label, 0.0)
            else:
                score = 0.0
            if score < threshold and label not in rules:
                continue  # the common case, decided without further work
            hits = rules.get(label)
            if hits:
                if self.policy.rules_decide:
                    weak_ok = not row or score >= self.policy.thresholds.weak
                    strong_ok = not row or score >= self.policy.thresholds.strong
                    supported = [hit for hit in hits if (weak_ok if hit.weak else strong_ok)]
                else:
                    supported = hits if score >= threshold else []
                if supported:
                    self.evidence[label] = self._from_hits(label, supported)
                    chosen.append(label)
                    continue
                if not self.policy.rules_decide:
                    continue
            if score >= threshold:
                self.evidence[label] = [self._from_classifier(label)]
                chosen.append(label)
        return tuple(chosen)

    def safeguarding(self) -> str | None:
        """Recall first: risk phrases, then the classifier's any-risk second opinion.

        In a long message the whole-message score is diluted by the calm text around a
        worry, and one figurative phrase would silence the second opinion for all of it; with
        `risk_window` > 0 the decision also reads the window scores the classifier kept
        (WINDOW_ROWS_KEY), weighted by it: a weak phrase is judged by the best window it lies
        in, and the second opinion by the best window clear of vetoed phrases. A strong
        phrase needs any_risk of at least the `strong_risk` floor (0: none; taken as at most
        `weak_risk`) from the whole message or, unweighted, from a window it lies in (a
        phrase longer than half a window may fit none: then the whole message decides); a
        strong phrase under the floor counts for nothing after that.
        """
        policy = self.policy
        risk = self.score(RISK_LABEL)
        hits = _by_label(self.doc.user_data.get(RISK_KEY, ())) if policy.use_rules else {}
        if hits:
            hits = self._over_floor(hits, risk)
            for category in policy.safeguarding:  # strong phrases first, in priority order
                strong = [hit for hit in hits.get(category, ()) if not hit.weak]
                if strong:
                    self.evidence[category] = self._from_hits(category, strong)
                    return category
        windows = self._risk_windows()
        if hits:
            # Only weak phrases: the category the classifier finds likeliest among them.
            found = [hit for label in hits.values() for hit in label]
            level = _level(risk, windows, found)
            if not self.row or level >= policy.thresholds.weak_risk:
                category = max((c for c in policy.safeguarding if c in hits), key=self.score)
                self.evidence[category] = self._from_hits(category, hits[category])
                return category
        opinion = self._second_opinion(risk, windows) if self.row else None
        return opinion or self._encoder_opinion()

    def _encoder_opinion(self) -> str | None:
        """The risk encoder, when the pipeline has one and the build chose a threshold: it
        reads words in context, so unlike the classifier it may flag over a cancelled phrase.
        The category is the classifier's likeliest; the evidence, its best token for it."""
        threshold = self.policy.thresholds.encoder
        p = self.doc.user_data.get(ENCODER_KEY)
        if threshold <= 0 or p is None or p < threshold:
            return None
        category = max(self.policy.safeguarding, key=self.score)
        self.evidence[category] = [self._from_classifier(category)]
        return category

    def _over_floor(self, hits: dict[str, list[RuleHit]], risk: float) -> dict[str, list[RuleHit]]:
        """The hits without the strong ones under the `strong_risk` floor (taken as at most
        `weak_risk`; none without a classifier): those neither flag nor choose the category."""
        thresholds = self.policy.thresholds
        floor = min(thresholds.strong_risk, thresholds.weak_risk) if self.row else 0.0
        if floor <= 0:
            return hits
        # each phrase's own window at full weight whatever `risk_window` is: a long message's
        # whole-message score is diluted below any floor
        full_weight = self._risk_windows(weight=1.0)
        kept = {
            label: [h for h in found if h.weak or _level(risk, full_weight, [h]) >= floor]
            for label, found in hits.items()
        }
        return {label: found for label, found in kept.items() if found}

    def _second_opinion(
        self, risk: float, windows: Sequence[tuple[float, int, int, list[float]]]
    ) -> str | None:
        """The classifier alone: the whole message, or the best window clear of a cancelled
        phrase, reaching the safeguarding threshold."""
        policy, whole = self.policy, self.row or []
        vetoed: Sequence[RuleHit] = (
            self.doc.user_data.get(VETOED_KEY, ()) if policy.use_rules else ()
        )
        # The phrases found risk and an exception cancelled it: the classifier, which cannot
        # tell "killing me" from "kill myself", must not bring it back, so only windows clear
        # of the cancelled phrase may.
        best, row = (0.0 if vetoed else risk), whole
        part: tuple[int, int] | None = None  # the window that decided, in tokens
        for weighted, start, end, window_row in windows:
            if weighted > best and not any(h.start < end and start < h.end for h in vetoed):
                best, row, part = weighted, window_row, (start, end)
        if best < policy.thresholds.safeguarding:
            return None
        category = max(policy.safeguarding, key=lambda c: row[policy.columns[c]])
        # Evidence from the window that decided, so a reviewer is shown the right part.
        self.evidence[category] = [self._from_classifier(category, part)]
        return category

    def _risk_windows(
        self, weight: float | None = None
    ) -> list[tuple[float, int, int, list[float]]]:
        """(weighted any-risk score, start token, end token, score row) of each window kept
        on a long doc; empty when the weight (default: `risk_window`) is 0."""
        weight = self.policy.thresholds.risk_window if weight is None else weight
        kept = self.doc.user_data.get(WINDOW_ROWS_KEY) if self.row and weight > 0 else None
        if not kept:
            return []
        column = self.policy.columns[RISK_LABEL]
        return [(row[column] * weight, start, end, row) for start, end, row in kept]

    def _from_hits(self, label: str, hits: Sequence[RuleHit]) -> list[Span]:
        # The first few spans are enough for a reviewer; more only lengthen the output.
        return [(label, *self._chars(hit.start, hit.end)) for hit in hits[:MAX_EVIDENCE]]

    def _from_classifier(self, label: str, tokens: tuple[int, int] | None = None) -> Span:
        within = None if tokens is None else self._chars(*tokens)
        found = self.find(self.doc, label, within)
        return (label, 0, self.length) if found is None else (label, found[0], found[1])

    def _chars(self, start: int, end: int) -> CharRange:
        """The character range of tokens [start, end), from the lemmatiser's columns."""
        if self._tokens is None:
            _, orths, starts = doc_columns(self.doc)
            self._tokens = (orths, starts)
        orths, starts = self._tokens
        last = end - 1
        length = TEXT_LENGTHS.get(orths[last])
        if length is None:
            length = text_length(self.doc.vocab.strings, orths[last])
        return starts[start], starts[last] + length


def _level(
    risk: float, windows: Sequence[tuple[float, int, int, list[float]]], hits: Sequence[RuleHit]
) -> float:
    """The any-risk level phrases are judged by: the whole message's, or the best weighted
    window score of a window they lie in."""
    return max([risk, *(w for w, s, e, _ in windows if _inside(hits, s, e))])


def _inside(hits: Sequence[RuleHit], start: int, end: int) -> bool:
    return any(start <= hit.start and hit.end <= end for hit in hits)


def by_priority(categories: Sequence[str]) -> tuple[str, ...]:
    """Safeguarding categories in the order a message with several is reported."""
    known = [c for c in SAFEGUARDING_PRIORITY if c in categories]
    return (*known, *(c for c in categories if c not in known))
