"""A message's text as pieces to render: plain, evidence (highlighted) or redacted PII.

Evidence offsets are on the original text, so redaction happens here, piece by piece,
rather than by redacting the text first.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from themes.redact import find_pii, redact


@dataclass(frozen=True)
class Piece:
    """A run of text: `labels` non-empty means evidence for them; `pii` means redacted."""

    text: str
    labels: tuple[str, ...] = ()
    pii: bool = False


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str


def pieces(text: str, evidence: Sequence[Span], redact_pii: bool) -> list[Piece]:
    """`text` cut at every evidence and PII boundary; PII runs become their placeholder."""
    pii = find_pii(text) if redact_pii else []
    spans = [s for s in evidence if 0 <= s.start < s.end <= len(text)]
    cuts = {0, len(text)}
    for start, end in [(p.start, p.end) for p in pii] + [(s.start, s.end) for s in spans]:
        cuts.update((start, end))
    out: list[Piece] = []
    bounds = sorted(cuts)
    for start, end in itertools.pairwise(bounds):
        hidden = next((p for p in pii if p.start <= start and end <= p.end), None)
        if hidden is not None:
            if start == hidden.start:
                out.append(Piece(hidden.kind.value, pii=True))
            continue
        labels = tuple(sorted({s.label for s in spans if s.start <= start and end <= s.end}))
        out.append(Piece(text[start:end], labels))
    return _merged(out)


def _merged(found: list[Piece]) -> list[Piece]:
    merged: list[Piece] = []
    for piece in found:
        last = merged[-1] if merged else None
        if last and not last.pii and not piece.pii and last.labels == piece.labels:
            merged[-1] = Piece(last.text + piece.text, last.labels)
        else:
            merged.append(piece)
    return merged


def shown_text(text: str, redact_pii: bool) -> str:
    """The text as it may be shown or exported: redacted unless revealed."""
    return redact(text) if redact_pii else text
