"""The editable codebook: theme, signal and safeguarding ids with their phrases and examples.

The codebook is a TOML data file (themes/data/codebook.toml by default) that staff edit;
`listening-post themes build` turns its phrases into matchers and its examples into extra
training text. See themes/README.md for the phrase syntax.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

Kind = Literal["theme", "signal", "safeguarding"]
KINDS: tuple[Kind, ...] = ("theme", "signal", "safeguarding")
DEFAULT_CODEBOOK = "codebook.toml"


class CodebookError(ValueError):
    """The codebook file is not valid; the message says where."""


@dataclass(frozen=True)
class Entry:
    """One label of the codebook."""

    id: str
    kind: Kind
    name: str
    description: str = ""
    phrases: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    implies: tuple[str, ...] = ()  # themes that a safeguarding category always tags


@dataclass(frozen=True)
class Codebook:
    """All entries plus the word-level and safeguarding settings."""

    entries: tuple[Entry, ...]
    spellings: dict[str, str] = field(default_factory=dict)
    exceptions: tuple[str, ...] = ()  # figurative speech and negations that cancel a risk phrase
    safe_examples: tuple[str, ...] = ()  # near misses: risky-sounding messages with no risk

    def of_kind(self, kind: Kind) -> tuple[Entry, ...]:
        """Entries of one kind, in file order."""
        return tuple(entry for entry in self.entries if entry.kind == kind)

    def ids(self, kind: Kind) -> tuple[str, ...]:
        """Label ids of one kind, in file order."""
        return tuple(entry.id for entry in self.of_kind(kind))

    def entry(self, label: str) -> Entry:
        """The entry with this id."""
        for entry in self.entries:
            if entry.id == label:
                return entry
        raise KeyError(label)

    def digest(self) -> str:
        """A stable hash of the codebook's content (part of the pipeline version)."""
        canonical = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf8")).hexdigest()


def default_codebook_path() -> Path:
    """The codebook that ships with the package."""
    return Path(str(resources.files("themes").joinpath("data", DEFAULT_CODEBOOK)))


def load_codebook(path: Path | None = None) -> Codebook:
    """Read and check a codebook TOML file (the shipped one when `path` is None)."""
    source = path or default_codebook_path()
    try:
        data = tomllib.loads(source.read_text(encoding="utf8"))
    except tomllib.TOMLDecodeError as error:
        raise CodebookError(f"{source}: {error}") from error
    return parse_codebook(data, str(source))


def parse_codebook(data: dict[str, Any], where: str = "codebook") -> Codebook:
    """Build a Codebook from parsed TOML, raising CodebookError on mistakes."""
    entries: list[Entry] = []
    for kind in KINDS:
        for index, raw in enumerate(data.get(kind, [])):
            entries.append(_entry(kind, raw, f"{where}: [[{kind}]] #{index + 1}"))
    _check_unique(entries, where)
    spellings = _string_map(data.get("spellings", {}), f"{where}: [spellings]")
    raw_exceptions = data.get("exceptions", {})
    exceptions = _strings(raw_exceptions.get("phrases", []), f"{where}: [exceptions] phrases")
    safe = _strings(raw_exceptions.get("examples", []), f"{where}: [exceptions] examples")
    codebook = Codebook(tuple(entries), spellings, exceptions, safe)
    _check_implies(codebook, where)
    return codebook


def _entry(kind: Kind, raw: Any, where: str) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise CodebookError(f"{where}: every entry needs a text `id`")
    return Entry(
        id=raw["id"],
        kind=kind,
        name=str(raw.get("name", raw["id"])),
        description=str(raw.get("description", "")),
        phrases=_strings(raw.get("phrases", []), f"{where} ({raw['id']}) phrases"),
        examples=_strings(raw.get("examples", []), f"{where} ({raw['id']}) examples"),
        implies=_strings(raw.get("implies", []), f"{where} ({raw['id']}) implies"),
    )


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise CodebookError(f"{where}: expected a list of texts")
    return tuple(item.strip() for item in raw if item.strip())


def _string_map(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise CodebookError(f'{where}: expected `word = "replacement"` lines')
    return {str(key).lower(): value for key, value in sorted(raw.items())}


def _check_unique(entries: list[Entry], where: str) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise CodebookError(f"{where}: id {entry.id!r} is used twice")
        seen.add(entry.id)


def _check_implies(codebook: Codebook, where: str) -> None:
    themes = set(codebook.ids("theme"))
    for entry in codebook.entries:
        unknown = set(entry.implies) - themes
        if unknown:
            raise CodebookError(f"{where}: {entry.id} implies unknown themes {sorted(unknown)}")
