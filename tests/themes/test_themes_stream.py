"""`themes tag` streams: output starts before the input is read to the end."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from themes import SpacyTagger, load_tagger
from themes.stream import json_line, tag_stream
from themes.tagger import skip_lexical_attributes


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


MESSAGES = [
    "the bins are a disgrace",
    'He said "I WILL KILL MYSELF" \u2014 caf\u00e9 \\ tab\there\nnew line\u0001',
    "my son can't get to school, the 42 bus never comes. I want to die ... tbh",
    "",
    "   ",
    "zqxv blorptastic wibblewobble",
]


def test_json_lines_are_exactly_json_dumps(tagger: SpacyTagger) -> None:
    ids: list[object] = ["a", 7, 1.5, None, {"k": "é"}, ["x", 2]]
    items = list(zip(MESSAGES, ids, strict=True))
    written = [
        json_line(message_id, decided, text)
        for decided, text, message_id in tagger.decide_with_context(items)
    ]
    expected = [
        json.dumps({"id": message_id, **result.to_json()}, ensure_ascii=False)
        for result, message_id in tagger.tag_with_context(items)
    ]
    assert written == expected


def test_skipping_lexical_attributes_changes_no_tag() -> None:
    # Taggers of their own: the shared one must keep its lexical attributes.
    texts = [*MESSAGES, *(f"{text} Qwertyuiopish 1,234 ... !!" for text in MESSAGES)]
    plain = load_tagger()
    expected = [plain.tag(text) for text in texts]
    lean = load_tagger()
    skip_lexical_attributes(lean)
    assert [lean.tag(text) for text in texts] == expected
