"""Tagging resident messages: themes, health-creation signals, safeguarding risk, PII redaction.

`themes` imports nothing else of ours. The public surface:
- load_tagger(path=None, *, encoder=True) -> SpacyTagger (tag, tag_many, version)
- redact(text) / redact_with_spans(text) / find_pii(text)
- load_codebook(path=None), keyword_baseline(codebook)
- build_default / train_version for `themes build` and the later `themes train`
"""

from themes.baseline import KeywordBaseline, keyword_baseline
from themes.codebook import Codebook, CodebookError, Entry, load_codebook
from themes.labelled import LabelledMessage, read_labelled
from themes.redact import PiiKind, PiiSpan, find_pii, redact, redact_with_spans
from themes.tagger import PipelineMissingError, SpacyTagger, load_tagger
from themes.training import TrainOutcome, active_pipeline, build_default, train_version
from themes.types import Evidence, Tagger, TagResult

__all__ = [
    "Codebook",
    "CodebookError",
    "Entry",
    "Evidence",
    "KeywordBaseline",
    "LabelledMessage",
    "PiiKind",
    "PiiSpan",
    "PipelineMissingError",
    "SpacyTagger",
    "TagResult",
    "Tagger",
    "TrainOutcome",
    "active_pipeline",
    "build_default",
    "find_pii",
    "keyword_baseline",
    "load_codebook",
    "load_tagger",
    "read_labelled",
    "redact",
    "redact_with_spans",
    "train_version",
]
