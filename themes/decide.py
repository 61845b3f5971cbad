"""Turn a processed doc (rule hits + classifier scores) into labels with evidence.

The rules are the codebook's knowledge and generalise to unseen wording; the classifier
learns what the phrases miss. A label is given when a strong phrase matches, when a weak
phrase matches and the classifier agrees a little, or when the classifier alone is confident.
Safeguarding is recall-first: any risk phrase not vetoed by an exception flags the message
(weak risk phrases need a little classifier support); the classifier's any-risk score is a
second opinion that can flag on its own, but not over a figurative or negating phrase.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from spacy.tokens import Doc

from themes.build import RISK_LABEL, Thresholds
from themes.components import RISK_KEY, RULES_KEY, SCORES_KEY, VETOED_KEY, rule_hits
from themes.phrases import RuleHit
from themes.types import Evidence, TagResult

Attribute = Callable[[Doc, str, str], Evidence | None]  # (doc, its text, label) -> evidence
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


def decide(
    doc: Doc, policy: Policy, attribute: Attribute, version: str = "", text: str | None = None
) -> TagResult:
    """Labels and evidence for one processed doc (`text` is doc.text, if the caller has it)."""
    # doc.text is rebuilt from the tokens on every access: callers pass it when they have it.
    decision = _Decision(doc, doc.text if text is None else text, policy, attribute)
    category = decision.safeguarding()
    themes = decision.choose(policy.themes, policy.thresholds.theme)
    signals = decision.choose(policy.signals, policy.thresholds.signal)
    evidence = decision.evidence
    if category:
        implied = policy.implies.get(category, ())
        for theme in implied:
            evidence.setdefault(
                theme, [Evidence(theme, e.start, e.end, e.text) for e in evidence[category]]
            )
        themes = tuple(t for t in policy.themes if t in themes or t in implied)
    labels = (*themes, *signals, *((category,) if category else ()))
    ordered = tuple(e for label in labels for e in evidence[label])
    return TagResult(themes, signals, category, ordered, version)


def _by_label(hits: Sequence[RuleHit]) -> dict[str, list[RuleHit]]:
    found: dict[str, list[RuleHit]] = {}
    for hit in hits:
        found.setdefault(hit.label, []).append(hit)
    return found


class _Decision:
    """The labels of one doc, chosen group by group, with the evidence for each."""

    def __init__(self, doc: Doc, text: str, policy: Policy, attribute: Attribute) -> None:
        self.doc = doc
        self.text = text
        self.policy = policy
        self.attribute = attribute
        # An empty message would get the classifier's prior alone: no opinion there.
        self.row: list[float] | None = (
            doc.user_data.get(SCORES_KEY) if policy.use_classifier and len(doc) else None
        )
        self.rules = _by_label(rule_hits(doc, RULES_KEY)) if policy.use_rules else {}
        self.evidence: dict[str, list[Evidence]] = {}

    def score(self, label: str) -> float:
        """The classifier's score for a label (0 without a classifier)."""
        column = self.policy.columns.get(label)
        return self.row[column] if self.row and column is not None else 0.0

    def choose(self, labels: Sequence[str], threshold: float) -> tuple[str, ...]:
        """The labels of one group that a phrase or the classifier supports."""
        chosen = []
        row, columns, rules = self.row, self.policy.columns, self.rules
        weak_threshold = self.policy.thresholds.weak
        for label in labels:
            score = row[columns[label]] if row else 0.0
            if score < threshold and label not in rules:
                continue  # the common case, decided without further work
            hits = rules.get(label)
            if hits:
                if self.policy.rules_decide:
                    weak_ok = not row or score >= weak_threshold
                    supported = hits if weak_ok else [hit for hit in hits if not hit.weak]
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
        """Recall first: risk phrases, then the classifier's any-risk second opinion."""
        policy = self.policy
        risk = self.score(RISK_LABEL)
        hits = _by_label(rule_hits(self.doc, RISK_KEY)) if policy.use_rules else {}
        for category in policy.safeguarding:  # strong phrases first, in priority order
            strong = [hit for hit in hits.get(category, ()) if not hit.weak]
            if strong:
                self.evidence[category] = self._from_hits(category, strong)
                return category
        if hits and (not self.row or risk >= policy.thresholds.weak_risk):
            # Only weak phrases: the category the classifier finds likeliest among them.
            category = max((c for c in policy.safeguarding if c in hits), key=self.score)
            self.evidence[category] = self._from_hits(category, hits[category])
            return category
        if not self.row or risk < policy.thresholds.safeguarding:
            return None
        if policy.use_rules and rule_hits(self.doc, VETOED_KEY):
            # The phrases found risk and an exception cancelled it: the classifier, which
            # cannot tell "killing me" from "kill myself", must not bring it back.
            return None
        best = max(policy.safeguarding, key=self.score)
        self.evidence[best] = [self._from_classifier(best)]
        return best

    def _from_hits(self, label: str, hits: Sequence[RuleHit]) -> list[Evidence]:
        # The first few spans are enough for a reviewer; more only lengthen the output.
        return [self._from_hit(label, hit) for hit in hits[:MAX_EVIDENCE]]

    def _from_hit(self, label: str, hit: RuleHit) -> Evidence:
        # Two Token objects per hit cost a quarter of one to_array over the whole doc.
        start = self.doc[hit.start].idx
        last = self.doc[hit.end - 1]
        end = last.idx + len(last)
        return Evidence(label, start, end, self.text[start:end])

    def _from_classifier(self, label: str) -> Evidence:
        found = self.attribute(self.doc, self.text, label)
        return found or Evidence(label, 0, len(self.text), self.text)


def by_priority(categories: Sequence[str]) -> tuple[str, ...]:
    """Safeguarding categories in the order a message with several is reported."""
    known = [c for c in SAFEGUARDING_PRIORITY if c in categories]
    return (*known, *(c for c in categories if c not in known))
