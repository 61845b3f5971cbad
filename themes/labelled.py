"""Labelled messages in the codebook's JSON-lines format, and where the training files live."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

EVAL_PREFIX = "eval"


class LabelledDataError(ValueError):
    """A labelled file has a bad line; the message names the file and line."""


@dataclass(frozen=True)
class LabelledMessage:
    """One message with its gold themes, signals and safeguarding category."""

    id: str
    text: str
    themes: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    safeguarding: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelledMessage:
        """Build from one decoded line; raises ValueError when a field is the wrong shape."""
        text = data.get("text")
        if not isinstance(text, str):
            raise ValueError("`text` must be a string")
        safeguarding = data.get("safeguarding")
        if safeguarding is not None and not isinstance(safeguarding, str):
            raise ValueError("`safeguarding` must be null or a category id")
        return cls(
            id=str(data.get("id", "")),
            text=text,
            themes=_labels(data.get("themes", []), "themes"),
            signals=_labels(data.get("signals", []), "signals"),
            safeguarding=safeguarding or None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "themes": list(self.themes),
            "signals": list(self.signals),
            "safeguarding": self.safeguarding,
        }


def _labels(raw: Any, name: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ValueError(f"`{name}` must be a list of ids")
    return tuple(dict.fromkeys(raw))


def read_labelled(path: Path) -> list[LabelledMessage]:
    """All messages of one labelled file; blank lines are skipped."""
    with path.open(encoding="utf8") as handle:
        return list(parse_labelled(handle, str(path)))


def parse_labelled(lines: Iterable[str], where: str) -> Iterator[LabelledMessage]:
    """Decode labelled lines, naming the line of the first bad one."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            yield LabelledMessage.from_json(data)
        except ValueError as error:
            raise LabelledDataError(f"{where}, line {number}: {error}") from error


def default_training_dir() -> Path:
    """themes/data/labelled/ inside the package source."""
    return Path(str(resources.files("themes").joinpath("data", "labelled")))


def training_files(directory: Path | None = None) -> list[Path]:
    """The training files of a directory, sorted; an evaluation file is refused."""
    folder = directory or default_training_dir()
    files = sorted(folder.glob("*.jsonl"))
    for path in files:
        if path.name.startswith(EVAL_PREFIX):
            raise LabelledDataError(f"{path}: evaluation data must never be used for training")
    return files


def read_training(directory: Path | None = None) -> list[LabelledMessage]:
    """Every message of every training file, in file order."""
    files = training_files(directory)
    if not files:
        raise LabelledDataError(
            f"no training files (*.jsonl) in {directory or default_training_dir()}"
        )
    messages: list[LabelledMessage] = []
    for path in files:
        messages.extend(read_labelled(path))
    return messages
