"""`themes tag` streams: output starts before the input is read to the end."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from themes import SpacyTagger
from themes.stream import tag_stream


def test_tagging_is_lazy(tagger: SpacyTagger) -> None:
    consumed = 0
    first_write_at: list[int] = []

    def lines() -> Iterator[str]:
        nonlocal consumed
        for number in range(2000):
            consumed += 1
            yield json.dumps({"id": number, "text": "the bins are a disgrace"}) + "\n"

    class Watcher(io.StringIO):
        def write(self, text: str) -> int:
            if not first_write_at:
                first_write_at.append(consumed)
            return super().write(text)

    out = Watcher()
    report = tag_stream(tagger, lines(), out, io.StringIO(), batch_size=100)
    assert report.tagged == 2000
    assert first_write_at[0] <= 200
    assert len(out.getvalue().splitlines()) == 2000
