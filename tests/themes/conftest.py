"""Shared fixtures: the shipped pipeline, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from themes import SpacyTagger, load_tagger

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tagger() -> SpacyTagger:
    """The pipeline shipped in themes/pipeline/."""
    return load_tagger()


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root (where `python -m themes.cli` runs)."""
    return REPO
