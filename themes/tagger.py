"""The spaCy tagger: load a built pipeline and tag messages with themes, signals and risk."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

import spacy
from spacy.language import Language

from themes.build import TEXTCAT, Thresholds, meta_of
from themes.classifier import ScoreRowTextCategorizer  # registers lp_textcat
from themes.components import pipe_of  # registers the other factories
from themes.decide import Decided, Policy, by_priority, decide_spans
from themes.encoder import ENCODER  # registers lp_risk_encoder
from themes.evidence import TokenAttributor
from themes.types import TagResult

Context = TypeVar("Context")
PIPELINE_DIR = "pipeline"


class PipelineMissingError(FileNotFoundError):
    """No built pipeline where one was expected."""


def shipped_pipeline_path() -> Path:
    """themes/pipeline/ inside the installed package."""
    return Path(str(resources.files("themes").joinpath(PIPELINE_DIR)))


class SpacyTagger:
    """Implements themes.types.Tagger on a built Listening Post pipeline."""

    def __init__(self, nlp: Language, policy: Policy | None = None) -> None:
        self.nlp = nlp
        labels = pipe_of(nlp, TEXTCAT, ScoreRowTextCategorizer).labels
        self.policy = policy or policy_from_meta(meta_of(nlp), labels)
        self.attribute = TokenAttributor(nlp, TEXTCAT)
        self._find = self.attribute.span
        self._version = str(meta_of(nlp).get("version", ""))

    @property
    def version(self) -> str:
        """The pipeline version, "YYYY.MM.DD-<hash>"."""
        return self._version

    @property
    def uses_encoder(self) -> bool:
        """Whether the risk encoder is loaded and the build chose a threshold for it."""
        return ENCODER in self.nlp.pipe_names and self.policy.thresholds.encoder > 0

    def tag(self, text: str) -> TagResult:
        """Tag one message."""
        decided = decide_spans(self.nlp(text), self.policy, self._find, len(text))
        return decided.result(text, self._version)

    def tag_many(self, texts: Iterable[str], batch_size: int = 256) -> Iterator[TagResult]:
        """Tag messages lazily in batches; memory stays bounded for any length of input."""
        for result, _ in self.tag_with_context(((text, None) for text in texts), batch_size):
            yield result

    def tag_with_context(
        self, items: Iterable[tuple[str, Context]], batch_size: int = 256
    ) -> Iterator[tuple[TagResult, Context]]:
        """Like tag_many, carrying a context value (an id, a line number) with each text."""
        for decided, text, context in self.decide_with_context(items, batch_size):
            yield decided.result(text, self._version), context

    def decide_with_context(
        self, items: Iterable[tuple[str, Context]], batch_size: int = 256
    ) -> Iterator[tuple[Decided, str, Context]]:
        """Labels and evidence spans (not yet TagResults) with each text and its context."""
        pairs = ((text, (text, context)) for text, context in items)
        policy, find = self.policy, self._find
        for doc, (text, context) in self.nlp.pipe(pairs, batch_size=batch_size, as_tuples=True):
            yield decide_spans(doc, policy, find, len(text)), text, context


def policy_from_meta(meta: dict[str, Any], labels: Sequence[str]) -> Policy:
    """The decision policy recorded by the build."""
    kinds = meta.get("kinds", {})
    settings = meta.get("settings", {})
    return Policy(
        themes=tuple(kinds.get("theme", ())),
        signals=tuple(kinds.get("signal", ())),
        safeguarding=by_priority(kinds.get("safeguarding", ())),
        implies={k: tuple(v) for k, v in meta.get("implies", {}).items()},
        # srsly reads meta.json floats a bit off (0.3 as 0.30000000000000004); the grids
        # have at most two decimals, so rounding gives back what the build chose
        thresholds=Thresholds(
            **{name: round(float(v), 6) for name, v in settings.get("thresholds", {}).items()}
        ),
        columns={label: i for i, label in enumerate(labels)},
        use_rules=bool(settings.get("use_rules", True)),
        use_classifier=bool(settings.get("use_classifier", True)),
        rules_decide=bool(settings.get("rules_decide", True)),
    )


def load_tagger(path: Path | None = None, *, encoder: bool = True) -> SpacyTagger:
    """Load the shipped pipeline (or the pipeline directory `path`) as a tagger.

    `encoder=False` leaves the risk encoder out (when the pipeline has one): the safeguarding
    decision is then the phrases' and the classifier's alone, at about 18 times the speed
    (themes/README.md, "Issue 4, ninth round").
    """
    directory = path or shipped_pipeline_path()
    if not (directory / "config.cfg").is_file():
        raise PipelineMissingError(
            f"no built pipeline in {directory}; run `listening-post themes build`"
        )
    # The tokenizer is spaCy's English default, already built from the config; loading its
    # saved copy again would only repeat that work.
    exclude = ["tokenizer"] if encoder else ["tokenizer", ENCODER]
    return SpacyTagger(spacy.load(directory, exclude=exclude))


def skip_lexical_attributes(tagger: SpacyTagger) -> None:
    """Stop spaCy computing lexical attributes (shape, like_url, ...) of words new from now on.

    spaCy runs about 25 attribute functions for every word it has not seen before, about as
    much as tagging the message the word came in. The tagger reads none of them (its
    components compute the lower-case form and the flags they need from the text), so its
    output is the same; a process that only tags (`themes tag`) can skip them. Tokens of new
    words then have no lexical attributes (`token.shape_`, `token.like_url`, ...): do not use
    this where the docs are read for anything but tagging.
    """
    cast(Any, tagger.nlp.vocab).lex_attr_getters = {}
