"""The shipped codebook matches the labelling standard and compiles."""

from __future__ import annotations

import re
from pathlib import Path

from themes import load_codebook
from themes.baseline import keyword_baseline

STANDARD = Path(__file__).resolve().parents[2] / "themes" / "data" / "CODEBOOK.md"


def standard_ids(section: str) -> list[str]:
    text = STANDARD.read_text(encoding="utf8").split(f"## {section}")[1].split("\n## ")[0]
    return re.findall(r"^\| (\w+) \|", text, flags=re.MULTILINE)[1:]  # skip the header row


def test_ids_match_the_labelling_standard() -> None:
    codebook = load_codebook()
    assert list(codebook.ids("theme")) == standard_ids("Themes")
    assert list(codebook.ids("signal")) == standard_ids("Signals")
    assert list(codebook.ids("safeguarding")) == standard_ids("Safeguarding categories")


def test_every_entry_has_phrases_and_examples() -> None:
    for entry in load_codebook().entries:
        assert entry.phrases, entry.id
        assert len(entry.examples) >= 5, entry.id


def test_keyword_baseline_matches_literal_words_only() -> None:
    baseline = keyword_baseline(load_codebook())
    assert "transport" in baseline.tag("the bus is late").themes
    assert "housing" not in baseline.tag("the wall is black again").themes
    assert baseline.tag("this queue is killing me").safeguarding is None
