"""Shared fixtures: the shipped pipeline, loaded once per test session, and `themes tag` run
as a process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
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


RunTag = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def run_tag() -> RunTag:
    """`python -m themes.cli tag *args` in the repository, `stdin` on its standard input."""

    def run(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "themes.cli", "tag", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=300,
            check=False,
        )

    return run
