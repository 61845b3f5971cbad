"""Merging one benchmark's figures into benchmarks/results.json without clobbering the others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


def record(key: str, figures: dict[str, Any], path: Path = RESULTS) -> None:
    """Write `figures` under `key`, keeping every other key as it was."""
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    data[key] = figures
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
