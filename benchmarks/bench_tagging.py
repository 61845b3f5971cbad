"""Tagging throughput: `themes tag` against spaCy's bare tokenizer, both as whole processes.

Generates 20,000 messages from the labelled training texts (varied: case, joined pairs,
trimmed, txt-speak touches), then times, in the same run and on the same input file:
- `python -m themes.cli tag` (JSON lines in, tagged JSON lines out), as shipped: with the
  risk encoder (themes/encoder.py) asked about every message nothing else flagged;
- `python -m themes.cli tag --no-encoder`: phrases and the classifier only; and
- a bare process: import spaCy, spacy.blank("en"), read the same JSON lines, tokenize every
  text with nlp.tokenizer.pipe and write one JSON line per message (id and token count).
Each runs REPEATS times and the best time counts (least disturbed by other load).
A ratio is tokenizer_time / tag_time (throughput of tag relative to the tokenizer); the
issue's target is >= 0.5. Figures are merged into benchmarks/results.json under "tagging".
The exit code is 0 either way (the other benchmarks of `make bench` still run); the figures
say which ratio meets the target.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "themes" / "data" / "labelled"
RESULTS = ROOT / "benchmarks" / "results.json"
MESSAGES = 20_000
REPEATS = 3
SEED = 20261125
TARGET = 0.5

BARE_TOKENIZER = """
import json, sys
import spacy
nlp = spacy.blank("en")
out = sys.stdout
for line in sys.stdin:
    if line.strip():
        record = json.loads(line)
        doc = nlp.tokenizer(record["text"])
        out.write(json.dumps({"id": record["id"], "tokens": len(doc)}) + "\\n")
"""

TXT_SPEAK = {" you ": " u ", " people ": " ppl ", " because ": " cos ", " please ": " pls "}


def source_texts() -> list[str]:
    """Every text of the labelled training files."""
    texts: list[str] = []
    for path in sorted(LABELLED.glob("*.jsonl")):
        with path.open(encoding="utf8") as handle:
            texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    return texts


def vary(text: str, other: str, rng: random.Random) -> str:
    """One varied message: joined, upper-cased, trimmed or txt-speak, so caches see new text."""
    choice = rng.random()
    if choice < 0.25:
        text = f"{text} {other}"
    elif choice < 0.35:
        text = text.upper()
    elif choice < 0.5:
        words = text.split()
        text = " ".join(words[: max(1, len(words) - rng.randint(1, 3))])
    for plain, short in TXT_SPEAK.items():
        if rng.random() < 0.5:
            text = text.replace(plain, short)
    return text


def write_messages(path: Path, count: int = MESSAGES) -> None:
    """Write `count` varied JSON-line messages to `path`."""
    rng = random.Random(SEED)
    texts = source_texts()
    with path.open("w", encoding="utf8") as out:
        for number in range(count):
            text = vary(rng.choice(texts), rng.choice(texts), rng)
            out.write(json.dumps({"id": f"m{number:05d}", "text": text}) + "\n")


def timed(command: list[str], input_path: Path) -> float:
    """Best wall-clock time of REPEATS runs of a process reading `input_path` on stdin."""
    best = float("inf")
    for _ in range(REPEATS):
        with input_path.open("rb") as stdin:
            start = time.perf_counter()
            subprocess.run(command, stdin=stdin, stdout=subprocess.DEVNULL, check=True, cwd=ROOT)
            best = min(best, time.perf_counter() - start)
    return best


def merge_results(figures: dict[str, object]) -> None:
    """Put `figures` under "tagging" in results.json, keeping the other keys."""
    existing = json.loads(RESULTS.read_text(encoding="utf8")) if RESULTS.exists() else {}
    existing["tagging"] = figures
    RESULTS.write_text(json.dumps(existing, indent=2) + "\n", encoding="utf8")


def main() -> int:
    """Run the benchmark, print and store the figures."""
    tag = [sys.executable, "-m", "themes.cli", "tag"]
    with tempfile.TemporaryDirectory() as folder:
        messages = Path(folder) / "messages.jsonl"
        write_messages(messages)
        shipped = timed(tag, messages)
        fast = timed([*tag, "--no-encoder"], messages)
        tokenizer = timed([sys.executable, "-c", BARE_TOKENIZER], messages)

    def side(seconds: float) -> dict[str, object]:
        ratio = tokenizer / seconds
        return {
            "seconds": round(seconds, 3),
            "messages_per_second": round(MESSAGES / seconds),
            "ratio": round(ratio, 3),
            "meets_target": ratio >= TARGET,
        }

    figures: dict[str, object] = {
        "messages": MESSAGES,
        "bare_tokenizer_seconds": round(tokenizer, 3),
        "bare_tokenizer_messages_per_second": round(MESSAGES / tokenizer),
        "themes_tag": side(shipped),
        "themes_tag_no_encoder": side(fast),
        "target_ratio": TARGET,
        "repeats": REPEATS,
    }
    merge_results(figures)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
