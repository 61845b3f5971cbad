"""Plain results of tagging a message: labels and the evidence behind each one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

CharRange = tuple[int, int]  # (start, end) characters of the message text


@dataclass(frozen=True)
class Evidence:
    """A span of the message text (character offsets) that supports `label`."""

    label: str
    start: int
    end: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True)
class TagResult:
    """Themes and signals (codebook ids), a safeguarding category or None, and evidence."""

    themes: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    safeguarding: str | None = None
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    version: str = ""  # the pipeline version that produced this result

    def to_json(self) -> dict[str, Any]:
        return {
            "themes": list(self.themes),
            "signals": list(self.signals),
            "safeguarding": self.safeguarding,
            "evidence": [e.to_json() for e in self.evidence],
        }


class Tagger(Protocol):
    """What the rest of the project needs from the tagger."""

    @property
    def version(self) -> str: ...

    def tag(self, text: str) -> TagResult: ...

    def tag_many(self, texts: Iterable[str], batch_size: int = 256) -> Iterator[TagResult]: ...
