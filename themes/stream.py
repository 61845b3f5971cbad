"""`themes tag`: JSON lines in, JSON lines out, streamed in batches with bounded memory.

With workers > 1 (on platforms that fork), batches go round-robin to forked worker
processes that share the loaded pipeline; results are written back in input order. At most
QUEUE_DEPTH batches per worker are in flight, so memory stays bounded for any input length.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing.queues import Queue
from typing import IO, Any

from themes.decide import Decided
from themes.tagger import SpacyTagger

BATCH_SIZE = 256
QUEUE_DEPTH = 4

Line = tuple[int, str]  # (line number, raw line)
BatchResult = tuple[list[str], list[tuple[int, str]]]  # (output lines, (line number, error))


@dataclass
class StreamReport:
    """What happened to the input: how many lines were tagged and which were bad."""

    tagged: int = 0
    bad_lines: list[int] = field(default_factory=list)


def parse_line(line: str) -> tuple[Any, str]:
    """The (id, text) of one input line; ValueError with a readable reason otherwise."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at column {error.colno})") from error
    if not isinstance(data, dict):
        raise ValueError('expected a JSON object with "id" and "text"')
    if "id" not in data:
        raise ValueError('missing "id"')
    if not isinstance(data.get("text"), str):
        raise ValueError('"text" must be a string')
    return data["id"], data["text"]


def tag_batch(tagger: SpacyTagger, batch: list[Line]) -> BatchResult:
    """Tag one batch of raw lines: JSON output lines plus the errors of bad lines."""
    items: list[tuple[str, Any]] = []
    errors: list[tuple[int, str]] = []
    for number, line in batch:
        try:
            message_id, text = parse_line(line)
        except ValueError as error:
            errors.append((number, str(error)))
            continue
        items.append((text, message_id))
    outputs = [
        json_line(message_id, decided, text)
        for decided, text, message_id in tagger.decide_with_context(
            items, batch_size=len(batch) or 1
        )
    ]
    return outputs, errors


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # what json.dumps(..., ensure_ascii=False) uses
_string = json.encoder.encode_basestring  # a str as JSON, non-ASCII kept, as that encoder does


def json_line(message_id: Any, decided: Decided, text: str) -> str:
    """The output line for one message: exactly
    json.dumps({"id": message_id, **decided.result(text).to_json()}, ensure_ascii=False),
    written directly instead of through dicts and Evidence objects (a third of the cost).
    """
    id_json = _string(message_id) if type(message_id) is str else _ENCODER.encode(message_id)
    themes = ", ".join([_string(label) for label in decided.themes])
    signals = ", ".join([_string(label) for label in decided.signals])
    category = "null" if decided.safeguarding is None else _string(decided.safeguarding)
    evidence = ", ".join(
        [
            f'{{"label": {_string(label)}, "start": {start}, "end": {end}, '
            f'"text": {_string(text[start:end])}}}'
            for label, start, end in decided.evidence
        ]
    )
    return (
        f'{{"id": {id_json}, "themes": [{themes}], "signals": [{signals}], '
        f'"safeguarding": {category}, "evidence": [{evidence}]}}'
    )


def _batches(lines: Iterable[str], size: int) -> Iterator[list[Line]]:
    numbered = ((n, line) for n, line in enumerate(lines, start=1) if line.strip())
    while batch := list(islice(numbered, size)):
        yield batch


def default_workers() -> int:
    """Two workers where the machine has the cores and can fork, otherwise one."""
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    return min(2, os.cpu_count() or 1) if can_fork else 1


def tag_stream(
    tagger: SpacyTagger,
    lines: Iterable[str],
    out: IO[str],
    errors: IO[str],
    batch_size: int = BATCH_SIZE,
    workers: int = 1,
) -> StreamReport:
    """Tag every good line of `lines`, writing one JSON line per message to `out`.

    Bad lines are reported on `errors` as "line N: skipped: reason" and skipped.
    """
    report = StreamReport()
    batches = _batches(lines, batch_size)
    results = (
        _in_workers(tagger, batches, workers)
        if workers > 1
        else (tag_batch(tagger, batch) for batch in batches)
    )
    for outputs, bad in results:
        for number, reason in bad:
            report.bad_lines.append(number)
            errors.write(f"line {number}: skipped: {reason}\n")
        if outputs:
            out.write("\n".join(outputs) + "\n")
        report.tagged += len(outputs)
    out.flush()
    return report


def _worker(
    tagger: SpacyTagger, inbox: Queue[list[Line] | None], outbox: Queue[BatchResult]
) -> None:
    while (batch := inbox.get()) is not None:
        outbox.put(tag_batch(tagger, batch))


def _in_workers(
    tagger: SpacyTagger, batches: Iterator[list[Line]], workers: int
) -> Iterator[BatchResult]:
    """Round-robin batches over forked workers; yield results in input order."""
    context = multiprocessing.get_context("fork")
    inboxes: list[Queue[list[Line] | None]] = [context.Queue(QUEUE_DEPTH) for _ in range(workers)]
    outboxes: list[Queue[BatchResult]] = [context.Queue(QUEUE_DEPTH) for _ in range(workers)]
    processes = [
        context.Process(target=_worker, args=(tagger, inbox, outbox), daemon=True)
        for inbox, outbox in zip(inboxes, outboxes, strict=True)
    ]
    for process in processes:
        process.start()
    try:
        yield from _round_robin(batches, inboxes, outboxes)
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for process in processes:
            process.join(timeout=10)


def _round_robin(
    batches: Iterator[list[Line]],
    inboxes: list[Queue[list[Line] | None]],
    outboxes: list[Queue[BatchResult]],
) -> Iterator[BatchResult]:
    sent = received = 0
    for batch in batches:
        if sent - received >= QUEUE_DEPTH * len(inboxes):
            yield outboxes[received % len(outboxes)].get()
            received += 1
        inboxes[sent % len(inboxes)].put(batch)
        sent += 1
    while received < sent:
        yield outboxes[received % len(outboxes)].get()
        received += 1
